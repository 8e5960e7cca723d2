"""The one chart code of every ganctl page: uPlot (vendored from npm, 1.6.31, LICENSE beside it)
and charts.js (GanctlCharts.loss / quality / overlay). `ganctl ui` serves these files; the pages
ganctl writes to disk (`report`, `compare --html`) inline them, so one definition draws the live
page's charts and the static ones."""
from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).parent
_FILES = ("uplot/uPlot.iife.min.js", "charts.js")


def js_value(value: Any) -> str:
    """`value` as a JavaScript literal safe inside <script>: NaN/inf become null (JSON has
    neither), and every "<" is escaped so no user text can close the script element."""
    def clean(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), allow_nan=False, default=str).replace("<", "\\u003c")


def inline(calls: str) -> tuple[str, str]:
    """(HTML, CSP script source) to draw charts in a page that fetches nothing: uPlot's style and
    the two scripts inline, then `calls` (JavaScript using GanctlCharts). The scripts run because
    their sha256 is in the returned `script-src`, not through 'unsafe-inline': anything else that
    slipped into the page as a script would not run."""
    scripts = [(ASSETS / f).read_text(encoding="utf-8") for f in _FILES] + [calls]
    hashes = " ".join("'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                      for s in scripts)
    css = (ASSETS / "uplot" / "uPlot.min.css").read_text(encoding="utf-8")
    return f"<style>{css}</style>\n" + "\n".join(f"<script>{s}</script>" for s in scripts), f"script-src {hashes}"
