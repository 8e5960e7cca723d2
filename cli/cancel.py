"""`ganctl cancel <id>`: a queued job is cancelled at once; a running one stops at the next batch."""
from __future__ import annotations

import typer

from ganctl.cli import options as o
from ganctl.cli.common import job_json, open_store, print_json, user_errors


@user_errors
def cancel(job_id: o.JobId, json: o.Json = False) -> None:
    """Cancel a job (queued: at once; running: the worker stops soon and keeps its checkpoint)."""
    store = open_store()
    job = store.request_cancel(store.get_job(job_id).id)
    if json:
        print_json(job_json(job))
    elif job.status == "cancelled":
        typer.echo(f"job {job.id[:8]} cancelled")
    else:
        typer.echo(f"job {job.id[:8]}: cancel requested; the worker stops within a few seconds "
                   f"(`ganctl watch {job.id[:8]}`)")
