"""How the CLI shows things: JSON (through the one JSON-safe conversion) and the text formats of
losses, durations, times and classes."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import typer

from ganctl.jobs.jsonsafe import jsonable


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, sort_keys=False, allow_nan=False))


def fmt_loss(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4f}" if math.isfinite(x) else str(x)


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def fmt_time(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def ago(t: datetime | None) -> str:
    if t is None:
        return "-"
    return fmt_seconds((datetime.now(timezone.utc) - t).total_seconds()) + " ago"
