"""What submit, extend and fork share: print the new job's id (or the job that carries on), or follow it (--wait)."""
from __future__ import annotations

import typer

from ganctl.jobs import service

from ganctl.cli._output import print_json


def show(store, job, *, wait: bool, json: bool) -> None:
    """The new job's id (--json: its row); --wait follows it, exit 1 unless completed."""
    if not wait:
        print_json(service.job_dict(job)) if json else typer.echo(job.id)
        return
    from ganctl.cli.watch import end_line, follow

    if not json:
        typer.echo(job.id)
    job = follow(store, job.id, quiet=json, err=True)
    if json:
        print_json(service.job_dict(job, store, details=True))
    else:
        end_line(job, err=True)
    if job.status != "completed":
        raise typer.Exit(1)
