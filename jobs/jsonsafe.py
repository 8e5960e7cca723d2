"""The one JSON-safe form of figures, for everything that writes JSON: the CLI's `--json`, the
store's JSON columns (results, quality figures), the web page's answers.

NaN and infinities become null (neither JSON nor PostgreSQL's json accepts them: a diverged loss
is "no value"), numpy scalars and arrays Python numbers and lists, datetimes ISO text, dataclasses
dicts, paths text, and bytes null (PNG bytes never go to JSON; their path does). numpy is
recognised by its module, not imported: a `ganctl status` must not pay for it.
"""
from __future__ import annotations

import dataclasses
import math
import os
from datetime import datetime
from typing import Any


def jsonable(value: Any) -> Any:
    """`value` with every part made JSON-safe (see the module docstring); dict keys become text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return None
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return jsonable(value.tolist())  # np.float32(1.5) -> 1.5, an array -> nested lists
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    return value
