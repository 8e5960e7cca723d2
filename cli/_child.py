"""Jobs that work on a finished training job's export (sample, eval): queue one through the
service, then either print its id (--no-wait) or wait for the worker and return the finished row."""
from __future__ import annotations

import typer

from ganctl.jobs import service

from ganctl.cli._errors import CliError
from ganctl.cli._output import print_json


def queue_and_wait(store, parent, kind: str, spec, *, no_wait: bool, json: bool, poll: float,
                   timeout: float | None, default_timeout: float):
    """The completed child job, or None after --no-wait printed its id; exit 1 (one line) when it
    failed or no worker took it within `timeout` seconds (None: `default_timeout`)."""
    if no_wait and timeout is not None:
        raise CliError("--timeout is how long to wait: it does not go with --no-wait")
    job = service.queue_child(store, parent, kind, spec)
    if no_wait:
        print_json(service.job_dict(job)) if json else typer.echo(job.id)
        return None

    from ganctl.cli.watch import follow

    job = follow(store, job.id, poll=poll, quiet=True, timeout=default_timeout if timeout is None else timeout)
    if job.status == "completed":
        return job
    if job.status in ("queued", "running"):
        typer.echo(f"error: {kind} job {job.id[:8]} still {job.status} after {timeout:.0f} s "
                   f"(is a worker consuming the '{service.queue_of(job)}' queue? `ganctl worker`)", err=True)
    else:
        typer.echo(f"error: {kind} job {job.id[:8]} {job.status}: {job.error or 'no error recorded'}", err=True)
    raise typer.Exit(1)
