"""A job's report as ONE self-contained HTML page. Plain data in, a string out.

No TensorFlow and no SQLAlchemy here: `render_html` takes the store's frozen dataclasses (Job,
EpochRow, GridRow with its PNG bytes, ArtifactRow) and returns the page. Everything the page
shows is inside it: pictures are inlined as base64 ``data:`` URIs, the style sheet is inline, and
the charts are drawn by the live dashboard's chart code (jobs/charts: uPlot + charts.js), inlined
and allowed by their sha256 in the page's Content-Security-Policy; there is no external script,
CSS, font or image and no link that a browser would fetch. Every string that comes from the job (the spec is
user input, errors and paths come from workers) goes through ``html.escape``.

Element ids a reader (or a test) can rely on:

* ``loss-chart``: the loss chart (``d_loss`` and ``g_loss``; NaN/inf points are gaps; its
  ``data-points`` is the number of epochs drawn), ``epochs``: the per-epoch table;
* ``quality-chart`` (FD and KID per evaluated epoch) and ``metrics``, the quality metrics table
  (only when metrics are given);
* ``grids``: one ``<figure>`` per recorded grid, in epoch order, each holding
  ``<img class="epoch-grid" data-epoch="N" alt="epoch N grid">``;
* ``sample-grid``: the final sample grid (only when given);
* ``artifacts``: format, path, size and sha256 of each exported file.
"""
from __future__ import annotations

import base64
import html
import json
import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from ganctl.jobs import charts
from ganctl.jobs.labels import classes_text
from ganctl.jobs.layout import write_atomic
from ganctl.jobs.units import human_bytes

if TYPE_CHECKING:  # the store's dataclasses, for annotations only: importing repo pulls in SQLAlchemy
    from ganctl.jobs.store.repo import ArtifactRow, EpochRow, GridRow, Job

__all__ = ["render_html", "write_report", "chart_calls", "standalone_page", "human_bytes", "data_uri"]

# Spec options whose unset value means "the architecture's (or dataset's) default", and the
# TrainSpec property that holds the value used; other unset options are left out of the table.
DEFAULTS = {"batch_size": "effective_batch_size", "lr_g": "effective_lr_g", "lr_d": "effective_lr_d",
            "label_noise": "effective_label_noise", "image_size": "effective_image_size",
            "channels": "effective_channels"}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:0 auto;max-width:1100px;padding:1rem 1.5rem 3rem;color:#222;background:#fff;line-height:1.4}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.9rem;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
.error{white-space:pre-wrap;background:#fff0f0;border:1px solid #e0a0a0;padding:.5rem;
font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem}
.status{font-weight:600}.status-completed{color:#1a7f37}.status-failed{color:#c62828}
.status-cancelled{color:#8a6d00}.status-running{color:#1f5fbf}
.grids{display:flex;flex-wrap:wrap;gap:.8rem}
figure{margin:0;padding:.4rem;border:1px solid #ddd;background:#fafafa;text-align:center}
figure img{display:block;image-rendering:pixelated;max-width:100%;height:auto}
figcaption{font-size:.8rem;color:#555;margin-top:.25rem}
.chart{margin:.4rem 0}
.muted{color:#777}
"""


# --------------------------------------------------------------------------- helpers


def _e(value: Any) -> str:
    """Escaped text of any value (None -> an em dash)."""
    if value is None:
        return "&mdash;"
    return html.escape(str(value), quote=True)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(bytes(png)).decode("ascii")


def _num(v: Any, fmt: str = ".4f") -> str:
    if v is None:
        return "&mdash;"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return _e(v)
    if isinstance(v, float) and not math.isfinite(v):
        return _e(v)  # nan / inf / -inf
    return format(v, fmt) if isinstance(v, float) else str(v)


def _when(t: datetime | None) -> str:
    if t is None:
        return "&mdash;"
    return _e(t.isoformat(sep=" ", timespec="seconds"))


def _duration(start: datetime | None, end: datetime | None) -> str | None:
    if start is None or end is None:
        return None
    try:
        s = (end - start).total_seconds()
    except TypeError:  # one naive, one aware
        return None
    if s < 0:
        return None
    h, rem = divmod(int(round(s)), 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h}h {m:02d}m {sec:02d}s"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{s:.1f}s"


def _spec_value(v: Any) -> str:
    if isinstance(v, str):
        return _e(v)
    try:
        return _e(json.dumps(v, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return _e(repr(v))


# --------------------------------------------------------------------------- charts


def chart_calls(epochs: Sequence[EpochRow], metrics: Sequence[dict] | None) -> str:
    """The JavaScript that draws the page's charts with jobs/charts (the live page's code): the
    losses per epoch into #loss-chart and, with evaluated epochs, FD and KID into #quality-chart."""
    rows = [{"epoch": r.epoch, "d_loss": float(r.d_loss), "g_loss": float(r.g_loss)} for r in epochs]
    evaluated = [{"epoch": m["epoch"], "values": {"fd": m.get("fd"), "kid": m.get("kid")}}
                 for m in metrics or () if isinstance(m.get("epoch"), int)]
    calls = f'GanctlCharts.loss(document.getElementById("loss-chart"), {charts.js_value(rows)});'
    if evaluated:
        calls += f'\nGanctlCharts.quality(document.getElementById("quality-chart"), {charts.js_value(evaluated)});'
    return calls


# --------------------------------------------------------------------------- page


def _overview(job: Job) -> str:
    rows = [
        ("id", f'<span class="mono">{_e(job.id)}</span>'),
        ("kind", _e(job.kind)),
        ("state", f'<span class="status status-{_e(job.status)}">{_e(job.status)}</span>'
                  + (" (cancel requested)" if job.cancel_requested and job.status == "running" else "")),
        ("attempts", f"{_e(job.attempts)} of {_e(job.max_attempts)}"),
        ("worker", _e(job.worker)),
        ("gpu", _e(job.gpu)),
        ("created", _when(job.created_at)),
        ("started", _when(job.started_at)),
        ("finished", _when(job.finished_at)),
        ("duration", _e(_duration(job.started_at, job.finished_at))),
    ]
    if job.total_epochs is not None:
        rows.append(("epochs", _e(job.total_epochs)))
    if job.parent_id:
        rows.append(("parent", f'<span class="mono">{_e(job.parent_id)}</span>'))
    body = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    out = f'<table id="overview">\n{body}\n</table>'
    if job.error:
        out += f'\n<h3>Error</h3>\n<pre class="error" id="error">{_e(job.error)}</pre>'
    return out


def _train_spec(spec: dict):
    """The TrainSpec of a stored training spec (its known fields), for the defaults it resolves;
    None if it does not validate (an older or hand-made spec)."""
    from ganctl.jobs.spec import TrainSpec

    try:
        return TrainSpec.model_validate({k: v for k, v in spec.items() if k in TrainSpec.model_fields})
    except ValueError:
        return None


def _spec_table(spec: dict, kind: str = "train") -> str:
    """Spec options as a user reads them: class names, not indices; an unset option is
    "default (value)" where the architecture decides it, else left out."""
    if not spec:
        return '<p class="muted">(empty spec)</p>'
    resolved = _train_spec(spec) if kind == "train" else None
    rows = []
    for k, v in sorted(spec.items(), key=lambda kv: str(kv[0])):
        if k == "classes" and isinstance(v, (list, tuple)):
            text = _e(classes_text(v))
        elif v is None:
            if resolved is None or k not in DEFAULTS:
                continue
            text = f"default ({_spec_value(getattr(resolved, DEFAULTS[k]))})"
        else:
            text = _spec_value(v)
        rows.append(f"<tr><th>{_e(k)}</th><td>{text}</td></tr>")
    return '<table id="spec">\n' + "\n".join(rows) + "\n</table>"


def _epochs_table(epochs: Sequence[EpochRow]) -> str:
    head = "<tr><th>epoch</th><th>d_loss</th><th>g_loss</th><th>seconds</th><th>images/s</th></tr>"
    body = "\n".join(
        f'<tr><td class="num">{_num(r.epoch)}</td><td class="num">{_num(r.d_loss)}</td>'
        f'<td class="num">{_num(r.g_loss)}</td><td class="num">{_num(r.seconds, ".2f")}</td>'
        f'<td class="num">{_num(r.images_per_s, ".1f")}</td></tr>'
        for r in epochs)
    return f'<table id="epochs">\n{head}\n{body}\n</table>'


def _metrics_table(metrics: Sequence[dict]) -> str:
    cols: list[str] = []
    for m in metrics:
        for k in m:
            if k not in cols:
                cols.append(k)
    if "epoch" in cols:  # epoch first when present
        cols.remove("epoch")
        cols.insert(0, "epoch")
    head = "<tr>" + "".join(f"<th>{_e(c)}</th>" for c in cols) + "</tr>"
    body = "\n".join("<tr>" + "".join(f'<td class="num">{_num(m.get(c))}</td>' for c in cols) + "</tr>"
                     for m in metrics)
    return f'<table id="metrics">\n{head}\n{body}\n</table>'


def _grids(grids: Sequence[GridRow]) -> str:
    figs = []
    for g in sorted(grids, key=lambda g: g.epoch):
        if not g.png:
            continue
        n = int(g.epoch)
        figs.append(f'<figure><img class="epoch-grid" data-epoch="{n}" alt="epoch {n} grid" '
                    f'src="{data_uri(g.png)}"><figcaption>epoch {n}</figcaption></figure>')
    if not figs:
        return '<p class="muted">No grids recorded.</p>'
    return '<div class="grids" id="grids">\n' + "\n".join(figs) + "\n</div>"


def _artifacts_table(artifacts: Sequence[ArtifactRow]) -> str:
    head = "<tr><th>format</th><th>path</th><th>size</th><th>sha256</th></tr>"
    body = "\n".join(
        f'<tr><td>{_e(a.format)}</td><td class="mono">{_e(a.path)}</td>'
        f'<td class="num" title="{_e(a.bytes)} bytes">{_e(human_bytes(a.bytes))}</td>'
        f'<td class="mono">{_e(a.sha256)}</td></tr>'
        for a in artifacts)
    return f'<table id="artifacts">\n{head}\n{body}\n</table>'


def render_html(job: Job, epochs: list[EpochRow], grids: list[GridRow], artifacts: list[ArtifactRow],
                *, metrics: list[dict] | None = None, sample_grid_png: bytes | None = None,
                lineage: list[tuple[str, str]] | None = None) -> str:
    """The whole report page (see the module doc for its contents and element ids)."""
    arch = job.spec.get("arch") if isinstance(job.spec, dict) else None
    title = f"ganctl job {job.short_id}" + (f" \u2014 {arch}" if arch else "")
    epochs = sorted(epochs, key=lambda r: r.epoch)
    parts = [
        f'<h1 id="title">Job <span class="mono">{_e(job.id)}</span>'
        + (f" &middot; {_e(arch)}" if arch else "") + "</h1>",
        "<h2>Overview</h2>",
        _overview(job),
        *(["<h2>Lineage</h2>", '<table id="lineage">', *(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>"
                                                         for k, v in lineage), "</table>"] if lineage else []),
        "<h2>Spec</h2>",
        _spec_table(job.spec if isinstance(job.spec, dict) else {}, job.kind),
        "<h2>Losses</h2>",
    ]
    if epochs:
        parts += ['<div id="loss-chart" class="chart"></div>', _epochs_table(epochs)]
    else:
        parts.append('<p class="muted">No epochs recorded.</p>')
    if metrics:
        parts += ["<h2>Quality metrics</h2>", '<div id="quality-chart" class="chart"></div>', _metrics_table(metrics)]
    parts += ["<h2>Grids per epoch</h2>", _grids(grids)]
    if sample_grid_png:
        parts += ["<h2>Final samples</h2>",
                  f'<figure><img id="sample-grid" alt="final sample grid" src="{data_uri(sample_grid_png)}">'
                  "<figcaption>final samples</figcaption></figure>"]
    parts += ["<h2>Artifacts</h2>",
              _artifacts_table(artifacts) if artifacts else '<p class="muted">No artifacts recorded.</p>']
    if job.result:
        parts += ["<h2>Result</h2>", f'<pre class="mono" id="result">'
                  f"{_e(json.dumps(job.result, indent=2, sort_keys=True, default=str))}</pre>"]
    return standalone_page(title, parts, chart_calls(epochs, metrics) if epochs else None)


def standalone_page(title: str, body: list[str], calls: str | None) -> str:
    """A page ganctl writes to disk (report, compare --html): the style inline, `body`, and with
    chart `calls` the chart code of jobs/charts inlined last. The Content-Security-Policy lets the
    browser fetch nothing and run only those scripts (by their hashes): belt and braces, should
    anything from a job have slipped in unescaped."""
    scripts, script_src = charts.inline(calls) if calls else ("", "")
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'" + (f"; {script_src}" if calls else "")
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>", f"<style>{STYLE}</style>", "</head>", "<body>",
        *body, scripts, "</body>", "</html>", ""])


def write_report(path: Path | str, html_text: str) -> Path:
    """Write the page atomically (temporary sibling, then os.replace); returns the path."""
    return write_atomic(path, html_text.encode("utf-8"))
