"""`ganctl status <id>`: one job from the store (no Celery, no TensorFlow)."""
from __future__ import annotations

from pathlib import Path

import typer

from ganctl.jobs import recipes

from . import options as o
from . import quality
from .common import (ago, classes_text, fmt_bytes, fmt_loss, fmt_seconds, fmt_time, job_json, jsonable,
                     open_store, print_json, settings, user_errors)


def tensorboard_dir(job) -> Path | None:
    """The job's TensorBoard log folder, <artifacts_dir>/<job id>/tensorboard, when it exists
    (the same path as ganctl.jobs.tensorboard.logdir_for, which would import Pillow for status)."""
    if job.kind != "train":
        return None
    logdir = settings().resolved_artifacts_dir / job.id / "tensorboard"
    return logdir if logdir.is_dir() else None


def describe(store, job) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("job", f"{job.id} ({job.kind})")]
    state = job.status
    if job.cancel_requested and job.status == "running":
        state += " (cancel requested)"
    rows.append(("status", f"{state}, attempt {job.attempts}/{job.max_attempts}"))
    if job.worker or job.gpu:
        rows.append(("worker", f"{job.worker or '-'} (device {job.gpu or '-'})"))
    spec = job.spec or {}
    if job.kind == "train":
        extras = [f"classes {classes_text(spec.get('classes'))}", f"split {spec.get('split', 'train')}"]
        for key, label in (("limit", "limit"), ("batch_size", "batch"), ("lr_g", "lr_g"), ("lr_d", "lr_d")):
            if spec.get(key) is not None:
                extras.append(f"{label} {spec[key]}")
        asked, used = spec.get("precision", "auto"), (job.result or {}).get("precision")
        extras.append(f"precision {asked}" + (f" ({used})" if used and used != asked else ""))
        extras.append(f"seed {spec.get('seed', 0)}")
        rows.append(("arch", f"{spec.get('arch', '-')}  " + "  ".join(extras)))
        rows.append(("recipe", recipes.describe(spec)))
        rows.append(("dataset", dataset_text(spec, (job.result or {}).get("data"))))
        epochs = store.epochs(job.id)
        done = epochs[-1].epoch if epochs else 0
        line = f"{done}/{job.total_epochs or spec.get('epochs', '?')}"
        if epochs:
            e = epochs[-1]
            line += (f"  d_loss {fmt_loss(e.d_loss)}  g_loss {fmt_loss(e.g_loss)}  "
                     f"last epoch {fmt_seconds(e.seconds)}, {e.images_per_s:.0f} img/s")
        rows.append(("epochs", line))
        latest = store.latest_metrics(job.id)
        if latest is not None:
            rows.append(("quality", f"{quality.line(latest.values)}  ({quality.where(latest)})"))
    else:
        rows.append(("parent", job.parent_id or "-"))
        rows.append(("spec", "  ".join(f"{k} {v}" for k, v in spec.items())))
    rows.append(("created", fmt_time(job.created_at)))
    if job.started_at:
        rows.append(("started", fmt_time(job.started_at)))
    if job.finished_at:
        took = (job.finished_at - (job.started_at or job.created_at)).total_seconds()
        rows.append(("finished", f"{fmt_time(job.finished_at)} (took {fmt_seconds(took)})"))
    elif job.status == "running":
        rows.append(("heartbeat", ago(job.heartbeat_at)))
    if job.error:
        rows.append(("error", job.error))
    if job.kind == "train":
        grids = store.grids(job.id)
        if grids:
            rows.append(("grid", f"{grids[-1].path} (epoch {grids[-1].epoch})"))
    elif job.kind == "eval" and job.result:
        rows.append(("quality", quality.line(job.result)))
    elif job.result and job.result.get("grid"):
        rows.append(("grid", str(job.result["grid"])))
        if job.result.get("dir"):
            rows.append(("images", f"{job.result['dir']} ({len(job.result.get('files', []))} PNG files)"))
    logdir = tensorboard_dir(job)
    if logdir is not None:
        rows.append(("tensorboard", f"{logdir}  (tensorboard --logdir {settings().resolved_artifacts_dir})"))
    for a in store.artifacts(job.id):
        rows.append(("artifact", f"{a.format}: {a.path} ({fmt_bytes(a.bytes)}, sha256 {a.sha256[:12]})"))
    kids = store.children(job.id)
    for kind, label in (("sample", "samples"), ("eval", "evals")):
        mine = [c for c in kids if c.kind == kind]
        if mine:
            rows.append((label, ", ".join(f"{c.id[:8]} {c.status}" for c in mine)))
    return rows


def dataset_text(spec: dict, data: dict | None) -> str:
    """The source, and once trained: images used, their shape, unreadable files skipped, cache hit."""
    text = spec.get("dataset", "fashion-mnist")
    if data:
        shape = "x".join(str(x) for x in data.get("image_shape", []))
        text += f"  {data.get('images', '?')} images {shape}  skipped {data.get('skipped', 0)}"
        if data.get("cache_hit"):
            text += "  (decoded from cache)"
    return text


@user_errors
def status(job_id: o.JobId, json: o.Json = False) -> None:
    """Show one job: state, losses, timings, worker, error, artifacts, latest grid."""
    store = open_store()
    job = store.get_job(job_id)
    if json:
        d = job_json(job, store, details=True)
        logdir = tensorboard_dir(job)
        d["tensorboard"] = str(logdir) if logdir is not None else None
        latest = store.latest_metrics(job.id) if job.kind == "train" else None
        d["quality"] = jsonable(latest)
        print_json(d)
        return
    rows = describe(store, job)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    warning = quality.collapse_line(store.latest_metrics(job.id)) if job.kind == "train" else None
    if job.kind == "eval" and (job.result or {}).get("collapse"):
        warning = "warning: possible mode collapse: " + "; ".join(job.result.get("collapse_reasons") or [])
    if warning:
        typer.echo(warning)
