"""Jobs that work on a finished training job's export (sample, eval): queue on the 'sample'
queue, then either print the id (--no-wait) or wait for the worker and return the finished row."""
from __future__ import annotations

import typer

from ganctl.cli.common import job_json, print_json, publish_or_fail, settings


def queue_and_wait(store, parent, kind: str, spec: dict, *, no_wait: bool, json: bool, poll: float,
                   timeout: float):
    """The completed child job, or None after --no-wait printed its id; exit 1 (one line) when it
    failed or no worker took it within `timeout` seconds."""
    job = store.create_job(kind, spec, parent_id=parent.id, max_attempts=settings().max_attempts)
    publish_or_fail(store, job, f"{kind} job")
    if no_wait:
        print_json(job_json(job)) if json else typer.echo(job.id)
        return None

    from ganctl.cli.watch import follow

    job = follow(store, job.id, poll=poll, quiet=True, timeout=timeout)
    if job.status == "completed":
        return job
    if job.status in ("queued", "running"):
        typer.echo(f"error: {kind} job {job.id[:8]} still {job.status} after {timeout:.0f} s "
                   f"(is a worker consuming the 'sample' queue? `ganctl worker`)", err=True)
    else:
        typer.echo(f"error: {kind} job {job.id[:8]} {job.status}: {job.error or 'no error recorded'}", err=True)
    raise typer.Exit(1)
