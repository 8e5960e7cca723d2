"""`ganctl ui`: the live dashboard. Starlette routes over ganctl.jobs.service (no SQLAlchemy here),
Jinja2 templates, server-sent events, and the charts of jobs/charts (vendored uPlot), which the static pages share."""
