"""`ganctl workers`: the live `ganctl worker` processes, from the worker registry in the store."""
from __future__ import annotations

from ganctl.jobs import service
from ganctl.jobs.config import get_settings
from ganctl.jobs.jsonsafe import jsonable

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import ago, fmt_time, print_json


@user_errors
def workers(json: o.Json = False) -> None:
    """List the live worker processes: host, pid, device, queues, started, last heartbeat, job.

    A process that stopped beating for longer than GANCTL_HEARTBEAT_LEASE is not listed.
    """
    rows = service.open_store().live_workers(lease_s=get_settings().heartbeat_lease)
    if json:
        print_json([jsonable(w) | {"queues": list(w.queues)} for w in rows])
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not rows:
        console.print("no live workers: start one with `ganctl worker`")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for col in ("name", "host", "pid", "device", "queues", "started", "heartbeat", "job"):
        table.add_column(col, no_wrap=True, justify="right" if col == "pid" else "left")
    for w in rows:
        table.add_row(w.name.split("@")[0], w.host, str(w.pid), w.device, ",".join(w.queues),
                      fmt_time(w.started_at), ago(w.heartbeat_at), w.current_job[:8] if w.current_job else "-")
    if not console.is_terminal:  # piped or captured: whole cells rather than the 80-column default
        console.width = max(console.width, 140)
    console.print(table)
