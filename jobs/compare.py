"""Runs side by side (`ganctl compare`): the options that differ, epochs, final and best FD, KID,
recall, training seconds. JSON-safe data for every front end; nothing here prints."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ganctl.jobs.service import ServiceError
from ganctl.jobs.spec import trains_with

if TYPE_CHECKING:
    from ganctl.jobs.store.repo import Store


def compare(store: "Store", ids: list[str] | None = None, sweep: str | None = None) -> dict:
    """{"differ": [option names], "jobs": [{id, status, options, options_text, epochs, fd, best_fd, best_epoch, kid,
    recall, seconds}]}: the jobs given (prefixes) or a sweep's; final figures are the last evaluated
    epoch's."""
    if sweep and ids:
        raise ServiceError("compare takes job ids or --sweep S, not both")
    if sweep:
        jobs = store.sweep_jobs(store.get_sweep(sweep).id)
    else:
        jobs = [store.get_job(i) for i in ids or []]
    twice = sorted({j.short_id for j in jobs if sum(k.id == j.id for k in jobs) > 1})
    if twice:
        raise ServiceError(f"job {', '.join(twice)} given twice")
    if len(jobs) < 2:
        raise ServiceError("compare needs at least two jobs (ids, or --sweep S)")
    if any(j.kind != "train" for j in jobs):
        raise ServiceError("compare training jobs only: " + ", ".join(f"{j.short_id} is a {j.kind} job"
                                                                      for j in jobs if j.kind != "train"))
    trains = {j.id: trains_with(j.spec or {}) for j in jobs}
    keys = sorted({k for j in jobs for k in trains[j.id]} - {"epochs"})  # epochs: a column of its own
    differ = [k for k in keys if len({repr(trains[j.id].get(k)) for j in jobs}) > 1]
    rows = []
    for j in jobs:
        evals = [m for m in store.metrics(j.id) if m.epoch is not None and m.values.get("fd") is not None]
        last = evals[-1].values if evals else {}
        best = min(evals, key=lambda m: m.values["fd"]) if evals else None
        epochs = store.epochs(j.id)
        link = store.link_of(j.id)  # an extension or fork starts at its parent's epoch
        reached = epochs[-1].epoch if epochs else link.start_epoch if link is not None else 0
        seconds = None
        if reached:  # its own epochs, and its parent's up to where it started
            seconds = sum(e.seconds for e in epochs) + (_seconds(store, link.parent_id, link.start_epoch)
                                                        if link is not None else 0.0)
        options = {k: trains[j.id].get(k) for k in differ}
        rows.append({"id": j.id, "status": j.status, "options": options,
                     "options_text": {k: str(v) for k, v in options.items()},  # as the CLI prints them
                     "epochs": reached, "total_epochs": j.total_epochs, "fd": last.get("fd"),
                     "best_fd": best.values["fd"] if best else None, "best_epoch": best.epoch if best else None,
                     "kid": last.get("kid"), "recall": last.get("recall"),
                     "seconds": seconds})
    return {"differ": differ, "jobs": rows}


def _seconds(store: "Store", job_id: str, upto: int, depth: int = 0) -> float:
    """Training seconds of job `job_id`'s epochs up to `upto`, plus its own parent's up to the
    epoch it started from (an extension of an extension: each ancestor's share)."""
    own = sum(e.seconds for e in store.epochs(job_id) if e.epoch <= upto)
    link = store.link_of(job_id)
    if link is None or depth > 50:
        return own
    return own + _seconds(store, link.parent_id, link.start_epoch, depth + 1)


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
