"""`ganctl compare <id> <id> ... | --sweep S`: runs side by side (jobs/compare.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import fmt_seconds, print_json
from ganctl.cli._quality_text import num

Ids = Annotated[Optional[list[str]], typer.Argument(help="Job ids or unique prefixes.", show_default=False)]
Html = Annotated[Optional[Path], typer.Option("--html", help="Also write a self-contained page: curves overlaid, "
                                              "grids of the same epochs side by side.", show_default=False)]


@user_errors
def compare(ids: Ids = None, sweep: o.SweepFilter = None, html: Html = None, json: o.Json = False) -> None:
    """Jobs side by side: the options that differ, epochs, final and best FD, KID, recall, training time."""
    from ganctl.jobs import service
    from ganctl.jobs.compare import compare as side_by_side

    store = service.open_store()
    data = side_by_side(store, ids, sweep)
    if html is not None:
        from ganctl.cli.report import write_file
        from ganctl.jobs.compare_page import render

        data["html"] = str(write_file(html, render(store, data).encode("utf-8"), (".html", ".htm"), "--html"))
    if json:
        print_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not console.is_terminal:
        console.width = max(console.width, 160)
    table = Table(box=None, pad_edge=False, header_style="bold")
    cols = ["job", "status", *data["differ"], "epochs", "FD", "best FD", "KID", "recall", "training"]
    for col in cols:
        table.add_column(col, no_wrap=True, justify="left" if col in ("job", "status") else "right")
    for r in data["jobs"]:
        best = num(r["best_fd"]) + (f" (epoch {r['best_epoch']})" if r["best_epoch"] is not None else "")
        table.add_row(r["id"][:8], r["status"], *(r["options_text"][k] for k in data["differ"]),
                      f"{r['epochs']}/{r['total_epochs']}",
                      num(r["fd"]), best, num(r["kid"]), num(r["recall"]), fmt_seconds(r["seconds"]))
    console.print(table)
    if html is not None:
        typer.echo(f"page    {data['html']}")
