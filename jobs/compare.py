"""Runs side by side (`ganctl compare`): the options that differ, epochs, final and best FD, KID,
recall, training seconds. JSON-safe data for every front end; nothing here prints."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ganctl.jobs.service import ServiceError

if TYPE_CHECKING:
    from ganctl.jobs.store.repo import Store


def compare(store: "Store", ids: list[str] | None = None, sweep: str | None = None) -> dict:
    """{"differ": [option names], "jobs": [{id, status, options, epochs, fd, best_fd, best_epoch, kid,
    recall, seconds}]}: the jobs given (prefixes) or a sweep's; final figures are the last evaluated
    epoch's."""
    if sweep:
        jobs = store.sweep_jobs(store.get_sweep(sweep).id)
    else:
        jobs = [store.get_job(i) for i in ids or []]
    if len(jobs) < 2:
        raise ServiceError("compare needs at least two jobs (ids, or --sweep S)")
    if any(j.kind != "train" for j in jobs):
        raise ServiceError("compare training jobs only: " + ", ".join(f"{j.short_id} is a {j.kind} job"
                                                                      for j in jobs if j.kind != "train"))
    keys = sorted({k for j in jobs for k in (j.spec or {})})
    differ = [k for k in keys if len({repr((j.spec or {}).get(k)) for j in jobs}) > 1]
    rows = []
    for j in jobs:
        evals = [m for m in store.metrics(j.id) if m.epoch is not None and m.values.get("fd") is not None]
        last = evals[-1].values if evals else {}
        best = min(evals, key=lambda m: m.values["fd"]) if evals else None
        epochs = store.epochs(j.id)
        rows.append({"id": j.id, "status": j.status, "options": {k: (j.spec or {}).get(k) for k in differ},
                     "epochs": epochs[-1].epoch if epochs else 0, "fd": last.get("fd"),
                     "best_fd": best.values["fd"] if best else None, "best_epoch": best.epoch if best else None,
                     "kid": last.get("kid"), "recall": last.get("recall"),
                     "seconds": sum(e.seconds for e in epochs) if epochs else None})
    return {"differ": differ, "jobs": rows}


CURVES = ("g_loss", "d_loss", "fd")
GRID_EPOCHS = 3  # how many of the latest epochs that every job has a grid of are shown


def labels(data: dict) -> dict[str, str]:
    """{job id: "03f6f552 lr_g=0.0002 loss=bce"}: each job of compare()'s result named by its id
    and the options that differ, in its order (curve legends, grid captions)."""
    return {r["id"]: r["id"][:8] + "".join(f" {k}={r['options'][k]}" for k in data["differ"]) for r in data["jobs"]}


def same_epoch_grids(store: "Store", ids: list[str], with_png: bool = False) -> list[tuple[int, dict]]:
    """[(epoch, {job id: GridRow})] for the latest GRID_EPOCHS epochs every job has a grid of."""
    grids = {i: {g.epoch: g for g in store.grids(i, with_png=with_png)} for i in ids}
    common = sorted(set.intersection(*(set(g) for g in grids.values())))[-GRID_EPOCHS:] if grids else []
    return [(e, {i: grids[i][e] for i in ids}) for e in common]


def overlay_runs(store: "Store", labels: dict[str, str]) -> dict[str, list[dict]]:
    """{"g_loss" | "d_loss" | "fd": [{label, points: [[epoch, value]]}]}, one run per job of
    `labels` ({job id: label}), in its order: the data of GanctlCharts.overlay (compare --html,
    the dashboard's sweep page)."""
    runs: dict[str, list[dict]] = {k: [] for k in CURVES}
    for i, label in labels.items():
        epochs = store.epochs(i)
        for k in ("g_loss", "d_loss"):
            runs[k].append({"label": label, "points": [[e.epoch, float(getattr(e, k))] for e in epochs]})
        runs["fd"].append({"label": label, "points": [[m.epoch, m.values["fd"]] for m in store.metrics(i)
                                                      if m.epoch is not None and m.values.get("fd") is not None]})
    return runs
