"""`ganctl cancel <id>`: a queued job is cancelled at once; a running one stops at the next batch."""
from __future__ import annotations

import typer

from ganctl.jobs import service

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import print_json


@user_errors
def cancel(job_id: o.JobId, json: o.Json = False) -> None:
    """Cancel a job (queued: at once; running: the worker stops soon and keeps its checkpoint)."""
    job = service.cancel(service.open_store(), job_id)
    if json:
        print_json(service.job_dict(job))
    elif job.status == "cancelled":
        typer.echo(f"job {job.id[:8]} cancelled")
    else:
        typer.echo(f"job {job.id[:8]}: cancel requested; the worker stops within a few seconds "
                   f"(`ganctl watch {job.id[:8]}`)")
