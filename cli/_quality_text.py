"""How quality figures read as text: the CLI's printing side of quality (the maths and the scoring
of a generator are in jobs/). Input: a metrics row's `values` (Quality.to_dict()).

Shared by `status`, `list`, `watch` and `eval`; no numpy, no TensorFlow.
"""
from __future__ import annotations

import math

# (key, label) in the order they are shown.
FIGURES = (("precision", "precision"), ("recall", "recall"), ("density", "density"), ("coverage", "coverage"))


def num(v, digits: int = 4) -> str:
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return "-"
    return f"{v:.{digits}g}"


def fd_text(values: dict) -> str:
    """'FD 12.3 (floor 1.2)': the job's FD beside the FD of two real sets of the same size."""
    return f"FD {num(values.get('fd'))} (floor {num(values.get('fd_floor'))})"


def kid_text(values: dict) -> str:
    return f"KID {num(values.get('kid'), 3)}"


def line(values: dict) -> str:
    """One line of figures: FD vs floor, KID, precision, recall, density, coverage."""
    parts = [fd_text(values), kid_text(values)]
    parts += [f"{label} {num(values.get(key), 3)}" for key, label in FIGURES]
    if values.get("class_accuracy") is not None:  # a conditional job's
        parts.append(f"class accuracy {num(values.get('class_accuracy'), 3)}")
    if values.get("classifier"):
        parts.append(f"[{values['classifier']}]")  # the classifier these figures were measured with
    return "  ".join(parts)


def per_class_text(values: dict) -> str | None:
    """A conditional job's per-class figures on one line: 'trouser 0.98 FD 12.3  bag ...' (the
    fraction of images asked for a class that the classifier calls it, and the class's FD)."""
    per = values.get("per_class") or {}
    if not per:
        return None
    return "  ".join(f"{name} {num(v.get('accuracy'), 3)} FD {num(v.get('fd'), 3)}" for name, v in per.items())


def where(row) -> str:
    """'epoch 3, 1000 images' or 'on demand, 10000 images'."""
    at = f"epoch {row.epoch}" if row.epoch is not None else "on demand"
    return f"{at}, {row.n} images"


def collapse_line(row) -> str | None:
    """'warning: possible mode collapse: <reasons>' when the row says so, else None."""
    if row is None or not row.collapse:
        return None
    from ganctl.jobs.service import collapse_text

    return f"warning: {collapse_text(row.collapse_reasons)}"


def table(values: dict) -> list[tuple[str, str]]:
    """(label, value) rows for `ganctl eval`: each figure, FD and KID with their real-vs-real floor."""
    fd_n = values.get("fd_n")
    rows = [
        ("FD", f"{num(values.get('fd'))}    floor {num(values.get('fd_floor'))} "
               f"(two disjoint real sets of {fd_n if fd_n is not None else '?'}: the best reachable)"),
        ("KID", f"{num(values.get('kid'), 3)} ± {num(values.get('kid_std'), 2)}    floor 0 "
                f"(unbiased: real vs real averages 0)"),
    ]
    rows += [(label, num(values.get(key), 3)) for key, label in FIGURES]
    hist = values.get("class_histogram") or {}
    shown = sorted(((v, k) for k, v in hist.items() if isinstance(v, (int, float)) and v >= 0.01), reverse=True)
    if shown:
        rows.append(("classes", "  ".join(f"{k} {v:.0%}" for v, k in shown)))
    if values.get("class_accuracy") is not None:
        rows.append(("class accuracy", f"{num(values.get('class_accuracy'), 3)}    (images of the class asked "
                                       f"for, as the classifier sees them; mean over the classes)"))
        rows.append(("per class", per_class_text(values)))
    if values.get("diversity") is not None:
        rows.append(("diversity", f"{num(values.get('diversity'), 3)}    (real images: 1; a few repeated modes: ~0)"))
    if values.get("grid_spread") is not None:
        rows.append(("grid spread", num(values.get("grid_spread"), 3)))
    rows.append(("classifier", values.get("classifier") or "unrecorded (measured before classifiers were versioned)"))
    return rows
