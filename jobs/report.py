"""A job's report as ONE self-contained HTML page. Plain data in, a string out.

No TensorFlow and no SQLAlchemy here: `render_html` takes the store's frozen dataclasses (Job,
EpochRow, GridRow with its PNG bytes, ArtifactRow) and returns the page. Everything the page
shows is inside it: pictures are inlined as base64 ``data:`` URIs, the loss chart is an inline
SVG, the style sheet is a small inline ``<style>``; there is no script, no external CSS, font or
image and no link that a browser would fetch. Every string that comes from the job (the spec is
user input, errors and paths come from workers) goes through ``html.escape``.

Element ids a reader (or a test) can rely on:

* ``loss-chart``: the SVG loss chart (two polylines, ``d_loss`` and ``g_loss``; NaN/inf points
  skipped, the line breaks there), ``epochs``: the per-epoch table;
* ``metrics``: the quality metrics table (only when metrics are given);
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

from ganctl.jobs.labels import classes_text
from ganctl.jobs.layout import write_atomic
from ganctl.jobs.pictures import nice_ticks
from ganctl.jobs.units import human_bytes

if TYPE_CHECKING:  # the store's dataclasses, for annotations only: importing repo pulls in SQLAlchemy
    from ganctl.jobs.store.repo import ArtifactRow, EpochRow, GridRow, Job

__all__ = ["render_html", "write_report", "loss_svg", "human_bytes", "data_uri"]

COLOURS = {"d_loss": "#1f77b4", "g_loss": "#ff7f0e"}
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
svg text{font-family:inherit;font-size:11px;fill:#333}
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


# --------------------------------------------------------------------------- loss chart


def loss_svg(epochs: Sequence[EpochRow], width: int = 720, height: int = 320) -> str:
    """An inline SVG line chart (id "loss-chart"): d_loss and g_loss per epoch, axes with
    numbered ticks, a legend. Non-finite points are skipped (each series is one polyline whose
    points are the finite ones; a gap in the data is a straight segment across it)."""
    left, right, top, bottom = 56, width - 16, 30, height - 40
    xs = [float(r.epoch) for r in epochs]
    series = {"d_loss": [float(r.d_loss) for r in epochs], "g_loss": [float(r.g_loss) for r in epochs]}
    finite = [v for vals in series.values() for v in vals if math.isfinite(v)]
    y_lo, y_hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if y_hi - y_lo < 1e-12:
        pad = max(abs(y_lo) * 0.1, 0.5)
    else:
        pad = (y_hi - y_lo) * 0.05
    y_lo, y_hi = y_lo - pad, y_hi + pad
    y_ticks = nice_ticks(y_lo, y_hi)
    y_lo, y_hi = min(y_lo, y_ticks[0]), max(y_hi, y_ticks[-1])
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi - x_lo < 1e-12:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    x_ticks = [t for t in nice_ticks(x_lo, x_hi, target=8) if float(t).is_integer()] or [x_lo, x_hi]
    inset = 8

    def px(x: float) -> float:
        return left + inset + (x - x_lo) / (x_hi - x_lo) * (right - left - 2 * inset)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    def label(v: float) -> str:
        return f"{v:g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"

    out = [f'<svg id="loss-chart" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="d_loss and g_loss per epoch">',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>']
    for t in y_ticks:
        y = py(t)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_e(label(t))}</text>')
    for t in x_ticks:
        x = px(t)
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" stroke="#333"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 18}" text-anchor="middle">{int(t)}</text>')
    out.append(f'<polyline class="axes" points="{left},{top} {left},{bottom} {right},{bottom}" '
               f'fill="none" stroke="#333"/>')
    out.append(f'<text x="{(left + right) / 2:.0f}" y="{height - 6}" text-anchor="middle">epoch</text>')
    out.append(f'<text x="14" y="{(top + bottom) / 2:.0f}" text-anchor="middle" '
               f'transform="rotate(-90 14 {(top + bottom) / 2:.0f})">loss</text>')
    for name, values in series.items():
        pts = [(px(x), py(v)) for x, v in zip(xs, values) if math.isfinite(x) and math.isfinite(v)]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(f'<polyline class="series" data-series="{name}" points="{points}" fill="none" '
                   f'stroke="{COLOURS[name]}" stroke-width="2" stroke-linejoin="round"/>')
        for x, y in pts:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{COLOURS[name]}"/>')
    # legend, top right, above the plot area
    lx = right - 170
    for i, name in enumerate(series):
        x = lx + i * 85
        out.append(f'<line x1="{x}" y1="14" x2="{x + 22}" y2="14" stroke="{COLOURS[name]}" stroke-width="3"/>')
        out.append(f'<text x="{x + 27}" y="18">{name}</text>')
    out.append("</svg>")
    return "\n".join(out)


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
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        # Belt and braces: even if something slipped in, the browser may load nothing external.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "img-src data:; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
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
        parts += [loss_svg(epochs), _epochs_table(epochs)]
    else:
        parts.append('<p class="muted">No epochs recorded.</p>')
    if metrics:
        parts += ["<h2>Quality metrics</h2>", _metrics_table(metrics)]
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
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def write_report(path: Path | str, html_text: str) -> Path:
    """Write the page atomically (temporary sibling, then os.replace); returns the path."""
    return write_atomic(path, html_text.encode("utf-8"))
