"""`ganctl list`: recent jobs as a table (or JSON)."""
from __future__ import annotations

from ganctl.jobs import service

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import fmt_loss, fmt_time, print_json
from ganctl.cli._quality_text import num


@user_errors
def list_jobs(
    status: o.StatusFilter = None,
    arch: o.ArchFilter = None,
    limit: o.Limit = 20,
    tag: o.TagFilter = None,
    sweep: o.SweepFilter = None,
    json: o.Json = False,
) -> None:
    """List recent jobs, newest first."""
    store = service.open_store()
    jobs = service.list_jobs(store, status=status, arch=arch, tag=tag, sweep=sweep, limit=limit)
    progress = service.progress_rows(store, jobs)
    if json:
        print_json([service.job_dict(j) | progress[j.id] for j in jobs])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    # FD: the latest quality figure (`--eval-every`, `ganctl eval`); "!" after it: possible mode collapse.
    for col in ("id", "kind", "status", "arch", "epochs", "d_loss", "g_loss", "FD", "created", "worker"):
        table.add_column(col, no_wrap=col != "worker", min_width={"id": 8, "status": 9}.get(col),
                         justify="right" if col in ("epochs", "d_loss", "g_loss", "FD") else "left")
    for j in jobs:
        p = progress[j.id]
        epochs = f"{p['epochs_done']}/{j.total_epochs}" if j.kind == "train" else "-"
        table.add_row(j.id[:8], j.kind, j.status, str(j.spec.get("arch", "-")) if j.kind == "train" else "-",
                      epochs, fmt_loss(p["d_loss"]), fmt_loss(p["g_loss"]),
                      num(p["fd"]) + (" !" if p["collapse"] else ""), fmt_time(j.created_at),
                      f"{j.worker} ({j.gpu})" if j.worker else "-")
    console = Console(highlight=False)
    if not console.is_terminal:  # piped or captured: whole cells rather than the 80-column default
        console.width = max(console.width, 140)
    if not jobs:
        console.print("no jobs" + (" matching" if status or arch or tag or sweep else " yet: `ganctl submit`"))
        return
    console.print(table)

