"""Sweeps: many training jobs over a grid (or random draws) of options, with asynchronous
successive halving (ASHA, as Ray Tune's async_hyperband) on the FD at evaluated epochs. For every
front end (cli/sweep.py, the dashboard's sweep pages); nothing here prints or knows Typer or Celery.

The rule, in full: every evaluated epoch of a sweep job is a rung. When a job records the figures
of one, it asks the store `decide_rung` in one transaction: it goes on if its FD is at most the
`keep`-quantile (default 1/3) of all FDs recorded at that epoch by the sweep's jobs so far, its own
included; otherwise it ends `stopped` with the reason. A collapse alarm stops it at once, from
the second rung on (at the first, young generators raise it nearly always: the FD decides). The
decision is taken on arrival, against what has been recorded, so a rung never waits: a killed
worker's job is re-queued by the reaper, re-runs the epoch and reads back its recorded decision
(or decides then, if it died before deciding). The last epoch only records. The first job to
reach a rung always goes on (ASHA's price for never waiting).
"""
from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ganctl.jobs.config import get_settings
from ganctl.jobs.service import (ServiceError, build_spec, check_artifacts, collapse_text, publish_or_roll_back,
                                 validation_error)

if TYPE_CHECKING:
    from ganctl.jobs.store.repo import Job, Store
    from ganctl.jobs.store.sweeps import SweepRow

SWEPT_NOT = ("epochs", "eval_every", "dataset", "arch")  # one value per sweep: given as plain options
FINAL = ("completed", "failed", "cancelled", "stopped")
_ORDER = ("running", "queued", *FINAL)  # how a sweep's job states are counted out


def parse_keep(text: str) -> float:
    """'1/3' or '0.5' -> a fraction in (0, 1]."""
    try:
        keep = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise ServiceError(f"--keep {text!r}: expected a fraction such as 1/3 or 0.5") from None
    if not 0 < keep <= 1:
        raise ServiceError(f"--keep {text!r}: must be above 0 and at most 1")
    return keep


def parse_sets(items: list[str]) -> dict[str, list[str]]:
    """['lr_g=1e-4,2e-4', 'loss=bce,hinge'] -> {'lr_g': ['1e-4', '2e-4'], 'loss': ['bce', 'hinge']}."""
    from ganctl.jobs.spec import TrainSpec

    sets: dict[str, list[str]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not key or not vals:
            raise ServiceError(f"--set {item!r}: expected KEY=V1,V2 (e.g. lr_g=1e-4,2e-4)")
        if key not in TrainSpec.model_fields or key in SWEPT_NOT:
            known = ", ".join(k for k in TrainSpec.model_fields if k not in SWEPT_NOT)
            raise ServiceError(f"--set {key}: not an option a sweep can vary (one of: {known})")
        if key in sets:
            raise ServiceError(f"--set {key} given twice")
        sets[key] = vals
    if not sets:
        raise ServiceError("a sweep needs at least one --set KEY=V1,V2")
    return sets


def configurations(sets: dict[str, list[str]], n_random: int | None = None, seed: int = 0) -> list[dict]:
    """The grid (every combination), or `n_random` distinct draws from it with `seed`."""
    keys = list(sets)
    grid = [dict(zip(keys, combo)) for combo in itertools.product(*(sets[k] for k in keys))]
    if n_random is None:
        return grid
    if n_random < 2:
        raise ServiceError(f"--random {n_random}: N must be at least 2 (a sweep compares two or more "
                           f"configurations; `ganctl submit` runs one job)")
    if n_random > len(grid) > 1:  # drawing "5" from 2 would quietly make a grid sweep (1: refused in create)
        raise ServiceError(f"--random {n_random}: the --set values give {len(grid)} configurations; "
                           f"draw fewer, or leave --random out for all of them")
    return random.Random(seed).sample(grid, min(n_random, len(grid)))


def _distinct(configs: list[dict], specs: list) -> tuple[list[dict], list]:
    """Each job once: a grid's clusters=0 cells differ only in cluster_layers, which the plain job
    does not have, so the first stands for them; other equal jobs (lr_g=1e-4,0.0001) are refused."""
    seen: dict[str, dict] = {}
    kept = []
    for config, spec in zip(configs, specs):
        same = seen.setdefault(spec.model_dump_json(), config)
        if same is config:
            kept.append((config, spec))
        elif {k for k in config if config[k] != same.get(k)} - {"cluster_layers"}:
            raise ServiceError(f"the sweep's configurations {_named(same)} and {_named(config)} are the same job")
    return [c for c, _ in kept], [s for _, s in kept]


def _named(config: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in config.items())


def _spec(base: dict, config: dict):
    """The TrainSpec of one configuration, validated as `submit` validates; a refused --set value is
    named as given, a rule over several fields names the configuration (a refused plain option
    propagates: the CLI names its flag)."""
    from pydantic import ValidationError

    from ganctl.jobs.spec import raw_clusters

    fields = {**base, **config}
    if "clusters" in config and not raw_clusters(fields):  # a grid's clusters=0 cell: the plain job
        fields.pop("cluster_layers", None)
    try:
        return build_spec(**fields)
    except ValidationError as exc:
        field, msg = validation_error(exc)
        if field in config:
            raise ServiceError(f"--set {field}={config[field]}: {msg}") from None
        if not field and config:  # a rule over several fields: name the configuration it refused
            raise ServiceError(f"the sweep's configuration {_named(config)}: {msg}") from None
        raise


def create(store: "Store", base: dict[str, Any], sets: dict[str, list[str]], *, keep: float = 1 / 3,
           n_random: int | None = None, seed: int = 0) -> tuple["SweepRow", list["Job"]]:
    """Validate every configuration as `submit` would (nothing is written if one is refused), write
    the sweep and its queued jobs in one transaction, publish them; broker down: nothing stays."""
    configs = configurations(sets, n_random, seed)
    specs = [_spec(base, config) for config in configs]
    if specs[0].eval_every < 1:
        raise ServiceError("a sweep needs --eval-every N: successive halving decides on the FD of evaluated epochs")
    configs, specs = _distinct(configs, specs)
    if len(specs) < 2:  # nothing to compare or stop: --set lr_g=1e-4, also with --random 5
        raise ServiceError(f"the sweep's --set values give one configuration ({_named(configs[0])}); a sweep compares "
                           f"two or more: `ganctl submit` runs one job")
    if keep < 1 and specs[0].eval_every >= specs[0].epochs:
        raise ServiceError(f"--eval-every {specs[0].eval_every} leaves no evaluated epoch before the last of "
                           f"--epochs {specs[0].epochs}, so no run could be stopped: give --eval-every below "
                           f"--epochs, or --keep 1 to rank the final FDs only")
    check_artifacts()
    sweep, jobs = store.create_sweep(
        {"base": {k: v for k, v in base.items() if v is not None}, "sets": sets, "random": n_random,
         "seed": seed, "configs": configs},
        keep, [(s.model_dump(mode="json"), s.epochs) for s in specs], max_attempts=get_settings().max_attempts)
    for i, job in enumerate(jobs):
        try:
            publish_or_roll_back(store, job, "sweep job")
        except ServiceError:
            for rest in jobs[i + 1:]:
                store.delete_job(rest.id)
            for done in jobs[:i]:
                store.request_cancel(done.id)
            if i:
                store.mark_sweep_cancelled(sweep.id)
            else:  # no job of it was ever queued: the user got an error, not a sweep id
                store.delete_sweep(sweep.id)
            raise
    return sweep, jobs


def on_evaluated(store: "Store", job: "Job", epoch: int, quality: dict) -> str | None:
    """A sweep job recorded the figures of an evaluated epoch: go on (None) or the reason it was
    stopped (the job is `stopped` in the store already). Raises LookupError when fenced."""
    if job.sweep_id is None:
        return None
    sweep = store.get_sweep(job.sweep_id)
    spec = job.spec or {}
    every = max(1, int(spec.get("eval_every") or 1))
    fd = quality.get("fd")
    rung = math.ceil(epoch / every)
    # From the second rung on: after one short first evaluation nearly every young generator raises
    # the alarm (measured: diversity 0.08-0.13 after epoch 1 on 256 and 2,048 trousers), so there the
    # FD alone decides.
    alarm = collapse_text(quality.get("collapse_reasons") or []) if quality.get("collapse") and rung > 1 else None
    decision = store.decide_rung(job.id, job.attempts, epoch, None if fd is None else float(fd), keep=sweep.keep,
                                 rung=rung, collapse=alarm,
                                 final=epoch >= int(spec.get("epochs") or 0))
    if decision is None:
        raise LookupError(f"job {job.id}: no longer owned at epoch {epoch}")
    return None if decision.go_on else decision.reason


def cancel(store: "Store", sweep_id: str) -> dict:
    """Cancel every job of the sweep that has not ended (queued: at once; running: at its next
    batch): {"id", "jobs": [{id, status}], "cancelled": [ids], "stopping": [ids], "text"}, the last
    three for what this call did (`ganctl sweep cancel` prints the text, the dashboard shows it)."""
    from ganctl.jobs.store.repo import IllegalTransition

    sweep = store.get_sweep(sweep_id)
    before = store.sweep_jobs(sweep.id)
    if all(job.status in FINAL for job in before):  # else it would read "cancelled"
        raise ServiceError(f"sweep {sweep.id[:8]} is {_state(sweep, [j.status for j in before])}: nothing to cancel")
    store.mark_sweep_cancelled(sweep.id)
    for job in before:
        if job.status in ("queued", "running"):
            try:
                store.request_cancel(job.id)
            except IllegalTransition:  # it ended meanwhile
                pass
    was = {j.id: j for j in before}
    after = store.sweep_jobs(sweep.id)
    gone = [j.id for j in after if j.status == "cancelled" and was[j.id].status == "queued"]
    asked = [j.id for j in after if j.status == "running" and j.cancel_requested and not was[j.id].cancel_requested]
    text = (f"sweep {sweep.id[:8]}: {len(gone)} job{'s' * (len(gone) != 1)} cancelled, {len(asked)} stopping at "
            f"{'its' if len(asked) == 1 else 'their'} next batch")
    return {"id": sweep.id, "jobs": [{"id": j.id, "status": j.status} for j in after], "cancelled": gone,
            "stopping": asked, "text": text}


def ranking(store: "Store", sweep_id: str) -> dict:
    """The sweep and its jobs, best first: lowest best FD, then most epochs; JSON-safe. A job's
    configuration is its swept fields as it trains (cluster_layers "-" where it has no clusters)."""
    from ganctl.jobs.spec import trains_with

    sweep = store.get_sweep(sweep_id)
    sets = sweep.spec.get("sets") or {}
    rows = []
    for job in store.sweep_jobs(sweep.id):
        fds = [(m.epoch, m.values.get("fd")) for m in store.metrics(job.id)
               if m.epoch is not None and m.values.get("fd") is not None]
        epochs = store.epochs(job.id)
        best = min(fds, key=lambda t: t[1]) if fds else (None, None)
        trained = trains_with(job.spec or {})  # a stored spec leaves out the fields at their defaults
        config = {k: "-" if k == "cluster_layers" and not trained.get("clusters") else trained.get(k) for k in sets}
        rows.append({"job": job.id, "config": config, "config_text": {k: str(v) for k, v in config.items()},
                     "epochs": epochs[-1].epoch if epochs else 0, "total_epochs": job.total_epochs,
                     "best_fd": best[1], "best_epoch": best[0], "state": job.status,
                     "reason": job.error if job.status in ("stopped", "failed", "cancelled") else None})
    rows.sort(key=lambda r: (r["best_fd"] is None, r["best_fd"] if r["best_fd"] is not None else 0, -r["epochs"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return {"id": sweep.id, "state": _state(sweep, [r["state"] for r in rows]), "keep": sweep.keep, "sets": sets,
            "created_at": sweep.created_at.isoformat(), "jobs": rows}


def _state(sweep: "SweepRow", statuses: list[str]) -> str:
    """running while a job of it has not ended (cancelling once it was cancelled); then cancelled
    (it was, or every job of it was) or finished."""
    ended = set(statuses) <= set(FINAL)
    if not ended:
        return "cancelling" if sweep.cancelled else "running"
    return "cancelled" if sweep.cancelled or statuses and set(statuses) == {"cancelled"} else "finished"


def overview(store: "Store", limit: int = 20) -> list[dict]:
    """The newest sweeps, newest first (`ganctl sweep list`, the dashboard's /sweeps): state, what it
    sweeps, its jobs counted by state ([[state, n]], running first) and its best FD so far (job and
    epoch); JSON-safe."""
    rows = []
    for sweep, statuses, best in store.list_sweeps(limit):
        base = sweep.spec.get("base") or {}
        counts = [[s, statuses.count(s)] for s in _ORDER if s in statuses]  # pairs: kept in this order
        rows.append({"id": sweep.id, "state": _state(sweep, statuses), "created_at": sweep.created_at.isoformat(),
                     "arch": base.get("arch"), "epochs": base.get("epochs"), "keep": sweep.keep,
                     "sets": sweep.spec.get("sets") or {}, "random": sweep.spec.get("random"),
                     "jobs": len(statuses), "states": counts,
                     "best": None if best is None else {"job": best.job_id, "fd": best.fd, "epoch": best.epoch}})
    return rows


def view(store: "Store", sweep_id: str) -> dict:
    """ranking() plus "curves": the losses and FD of its jobs in GanctlCharts.overlay's shape (the
    dashboard's sweep page), each job labelled by its id and configuration, in rank order."""
    from ganctl.jobs.compare import overlay_runs

    data = ranking(store, sweep_id)
    labels = {r["job"]: r["job"][:8] + "".join(f" {k}={v}" for k, v in r["config"].items()) for r in data["jobs"]}
    return data | {"curves": overlay_runs(store, labels)}
