"""ganctl: GAN training as a job system. Sub-packages: jobs (domain), worker (Celery glue), cli (Typer)."""
__version__ = "0.1.0"
