"""`ganctl status <id>`: one job from the store (no Celery, no TensorFlow)."""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import typer

from ganctl.jobs import recipes, service
from ganctl.jobs.config import get_settings as settings
from ganctl.jobs.jsonsafe import jsonable
from ganctl.jobs.labels import classes_text
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.units import human_bytes

from ganctl.cli import _options as o
from ganctl.cli import _quality_text as quality
from ganctl.cli._errors import user_errors
from ganctl.cli._output import ago, fmt_loss, fmt_seconds, fmt_time, print_json


def tensorboard_dir(job) -> Path | None:
    """The job's TensorBoard log folder (ganctl.jobs.layout), when it exists."""
    if job.kind != "train":
        return None
    logdir = JobFolder.of(settings().resolved_artifacts_dir, job.id).tensorboard
    return logdir if logdir.is_dir() else None


def tensorboard_hint(root: Path) -> str:
    """How to look at the jobs in TensorBoard from here, or how to install it (it is an extra:
    TensorFlow no longer brings it). The script beside this Python counts when .venv/bin is not
    on PATH."""
    beside = Path(sys.executable).parent / "tensorboard"
    if shutil.which("tensorboard"):
        command = "tensorboard"
    elif os.access(beside, os.X_OK):
        command = str(beside)
    else:
        return (f"TensorBoard is not installed: scripts/install tensorboard (or pip install tensorboard), "
                f"then tensorboard --logdir {root}")
    return f"{command} --logdir {root}"


def describe(store, job, summary: service.Summary) -> list[tuple[str, str]]:
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
        from ganctl.jobs import conditional

        if conditional.has_codes(spec):
            rows.append(("conditional" if conditional.is_conditional(spec) else "self-conditioned",
                         conditional.describe(spec)))
        rows.append(("dataset", dataset_text(spec, (job.result or {}).get("data"))))
        line = f"{summary.epochs_done}/{job.total_epochs or spec.get('epochs', '?')}"
        e = summary.last_epoch
        if e is not None:
            line += (f"  d_loss {fmt_loss(e.d_loss)}  g_loss {fmt_loss(e.g_loss)}  "
                     f"last epoch {fmt_seconds(e.seconds)}, {e.images_per_s:.0f} img/s")
        if summary.seconds_left is not None:
            line += f"  ~{fmt_seconds(summary.seconds_left)} left"
        rows.append(("epochs", line))
        latest = summary.quality
        if latest is not None:
            rows.append(("quality", f"{quality.line(latest.values)}  ({quality.where(latest)})"))
            if quality.per_class_text(latest.values):
                rows.append(("per class", quality.per_class_text(latest.values)))
    else:
        rows.append(("parent", job.parent_id or "-"))
        rows.append(("spec", "  ".join(f"{k} {v}" for k, v in spec.items()  # options left unset: not shown
                                       if v is not None and v is not False)))
    rows.append(("created", fmt_time(job.created_at)))
    if job.started_at:
        rows.append(("started", fmt_time(job.started_at)))
    if job.finished_at:
        took = (job.finished_at - (job.started_at or job.created_at)).total_seconds()
        rows.append(("finished", f"{fmt_time(job.finished_at)} (took {fmt_seconds(took)})"))
    elif job.status == "running":
        rows.append(("heartbeat", ago(job.heartbeat_at)))
    if job.error:  # a stopped job's reason is its sweep's rung decision
        rows.append(("reason" if job.status == "stopped" else "error", job.error))
    if job.sweep_id:
        rows.append(("sweep", f"{job.sweep_id}  (`ganctl sweep status {job.sweep_id[:8]}`)"))
    if job.kind == "train":
        if summary.grid:
            rows.append(("grid", f"{summary.grid} (epoch {summary.grid_epoch})"))
    elif job.kind == "eval" and job.result:
        rows.append(("quality", quality.line(job.result)))
    elif job.result and job.result.get("grid"):
        rows.append(("grid", str(job.result["grid"])))
        if job.result.get("dir"):
            rows.append(("images", f"{job.result['dir']} ({len(job.result.get('files', []))} PNG files)"))
    logdir = tensorboard_dir(job)
    if logdir is not None:
        rows.append(("tensorboard", f"{logdir}  ({tensorboard_hint(settings().resolved_artifacts_dir)})"))
    for a in store.artifacts(job.id):
        rows.append(("artifact", f"{a.format}: {a.path} ({human_bytes(a.bytes)}, sha256 {a.sha256[:12]})"))
    if job.kind == "train":
        from ganctl.jobs.experiments import lineage_rows

        rows.extend(lineage_rows(store, job))
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
        text += f"  {data.get('images', '?')} images {shape}, {data.get('skipped', 0)} skipped"
        if data.get("cache_hit"):
            text += "  (decoded from cache)"
    return text


@user_errors
def status(job_id: o.JobId, json: o.Json = False) -> None:
    """Show one job: state, losses, timings, worker, error, artifacts, latest grid."""
    store = service.open_store()
    job = store.get_job(job_id)
    summary = service.summary(store, job)
    if json:
        d = service.job_dict(job, store, details=True)
        logdir = tensorboard_dir(job)
        d["tensorboard"] = str(logdir) if logdir is not None else None
        d["quality"] = jsonable(summary.quality)
        if job.kind == "train":
            from ganctl.jobs import experiments

            link, best = store.link_of(job.id), experiments.best_epoch(store, job.id)
            d["lineage"] = jsonable(link)
            d["tags"] = store.tags_of(job.id)
            d["best_epoch"] = {"epoch": best[0], "fd": best[1]} if best else None
        print_json(d)
        return
    rows = describe(store, job, summary)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        typer.echo(f"{key:<{width}}  {value}")
    if summary.collapse:
        typer.echo(f"warning: {summary.collapse}")
