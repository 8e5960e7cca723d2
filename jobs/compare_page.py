"""`ganctl compare --html FILE`: the jobs of a comparison on one self-contained page: the table of
jobs/compare.py, the losses and FD of every job overlaid (the dashboard's chart code, as the
report draws it) and the grids of the same epochs side by side."""
from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ganctl.jobs import charts
from ganctl.jobs.compare import labels, overlay_runs, same_epoch_grids
from ganctl.jobs.report import data_uri, standalone_page

if TYPE_CHECKING:
    from ganctl.jobs.store.repo import Store

def _e(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"


def _table(data: dict) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in ["job", "status", *data["differ"], "epochs", "FD", "best FD",
                                                 "KID", "recall", "training s"])
    rows = []
    for r in data["jobs"]:
        best = _num(r["best_fd"]) + (f" (epoch {r['best_epoch']})" if r["best_epoch"] is not None else "")
        cells = [f'<td class="mono">{_e(r["id"][:8])}</td>', f"<td>{_e(r['status'])}</td>",
                 *(f"<td>{_e(r['options_text'][k])}</td>" for k in data["differ"]),
                 *(f'<td class="num">{_e(v)}</td>' for v in (r["epochs"], _num(r["fd"]), best, _num(r["kid"]),
                                                            _num(r["recall"]), _num(r["seconds"])))]
        rows.append(f'<tr data-job="{_e(r["id"])}">' + "".join(cells) + "</tr>")
    return f'<table id="compare"><tr>{head}</tr>\n' + "\n".join(rows) + "</table>"


def render(store: "Store", data: dict) -> str:
    """The page for `data` (jobs/compare.compare's result), reading curves and grids from the store."""
    names = labels(data)
    ids = list(names)
    runs = overlay_runs(store, names)
    common = same_epoch_grids(store, ids, with_png=True)
    calls = "\n".join(f'GanctlCharts.overlay(document.getElementById("{k}-chart"), {charts.js_value(title)}, '
                      f"{charts.js_value(runs[k])});"
                      for k, title in (("g_loss", "g_loss"), ("d_loss", "d_loss"), ("fd", "FD (lower is better)")))
    body = ["<h1>Compare</h1>", _table(data), "<h2>Curves</h2>",
            '<div class="grids"><div id="g_loss-chart" class="chart"></div><div id="d_loss-chart" class="chart"></div>'
            '<div id="fd-chart" class="chart"></div></div>', "<h2>Grids of the same epochs</h2>"]
    if not common:
        body.append('<p class="muted">No epoch has a grid in every job.</p>')
    for epoch, grids in common:
        figs = "".join(f'<figure><img class="epoch-grid" data-job="{_e(i)}" data-epoch="{epoch}" '
                       f'alt="{_e(names[i])}, epoch {epoch}" src="{data_uri(grids[i].png)}">'
                       f"<figcaption>{_e(names[i])}</figcaption></figure>" for i in ids)
        body += [f"<h3>epoch {epoch}</h3>", f'<div class="grids" data-epoch="{epoch}">{figs}</div>']
    return standalone_page(f"ganctl compare {' '.join(i[:8] for i in ids)}", body, calls)
