"""`ganctl ui`: the live dashboard. Starlette routes over ganctl.jobs.service (no SQLAlchemy here),
Jinja2 templates, server-sent events, and the vendored uPlot chart library (static/uplot)."""
