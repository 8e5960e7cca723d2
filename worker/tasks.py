"""Celery tasks: glue only. Take a job id, claim the row, call ganctl.jobs, record the outcome.

TensorFlow is imported inside the task bodies (via ganctl.jobs.train / sample), never at module level.
The row's `attempts` after claim() is the fencing token for every write.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from functools import lru_cache
from pathlib import Path

from ganctl.jobs.config import get_settings
from ganctl.jobs.store.repo import ArtifactRow, NotFound, Store
from ganctl.worker.app import SAMPLE_TASK, TRAIN_TASK, app

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def store() -> Store:
    return Store.from_settings()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


def _claim(task, job_id: str):
    settings = get_settings()
    worker = getattr(task.request, "hostname", None) or socket.gethostname()
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or "cpu"
    try:
        return store().claim(job_id, worker=worker, gpu=gpu, lease_s=settings.heartbeat_lease)
    except NotFound:  # the submit that published it gave up and deleted the row
        log.warning("job %s does not exist; dropping its message", job_id)
        return None


class Progress:
    """Training hooks: epoch rows + grids, throttled heartbeats and cancel checks, fencing."""

    def __init__(self, job, cancel_every: float = 1.0):
        self.job, self.store, self.settings = job, store(), get_settings()
        self.cancel_every, self.fenced = cancel_every, False
        self._beat = self._cancel_checked = time.monotonic()
        self._cancelled = False

    def on_epoch(self, r) -> bool:
        ok = self.store.record_epoch(self.job.id, self.job.attempts, r.epoch, r.d_loss, r.g_loss,
                                     r.seconds, r.images_per_s)
        if ok and r.grid_png is not None:
            self.store.record_grid(self.job.id, r.epoch, r.grid_png, str(r.grid_path))
        self.fenced = self.fenced or not ok
        return ok

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        if time.monotonic() - self._beat >= self.settings.heartbeat_every:
            self._beat = time.monotonic()
            if not self.store.heartbeat(self.job.id, self.job.attempts):
                self.fenced = True

    def should_stop(self) -> bool:
        if self.fenced or self._cancelled:
            return True
        if time.monotonic() - self._cancel_checked >= self.cancel_every:
            self._cancel_checked = time.monotonic()
            self._cancelled = self.store.is_cancel_requested(self.job.id)
        return self._cancelled


@app.task(name=TRAIN_TASK, bind=True)
def train_job(self, job_id: str) -> None:
    job = _claim(self, job_id)
    if job is None:
        return
    from ganctl.jobs import device, train
    from ganctl.jobs.spec import TrainSpec

    hooks = Progress(job)
    try:
        device.configure()
        spec = TrainSpec.model_validate(job.spec)
        workdir = get_settings().resolved_artifacts_dir / job.id
        result = train.run(spec, workdir, train.Hooks(hooks.on_epoch, hooks.on_batch, hooks.should_stop))
    except train.Fenced:
        log.warning("job %s: another worker owns it now; stopping", job.id)
    except train.Cancelled as exc:
        if not hooks.fenced:
            store().finish(job.id, job.attempts, "cancelled", error=str(exc))
    except train.NonFiniteLoss as exc:
        store().finish(job.id, job.attempts, "failed", error=" ".join(str(exc).split()))
    except Exception as exc:  # noqa: BLE001 - any failure becomes the row's one-line error
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))
    else:
        store().record_artifacts(job.id, [ArtifactRow(format=a.format, path=str(a.path), bytes=a.bytes,
                                                      sha256=a.sha256) for a in result.artifacts])
        store().finish(job.id, job.attempts, "completed", result={
            "epochs_done": result.epochs_done, "d_loss": result.d_loss, "g_loss": result.g_loss,
            "precision": getattr(result, "precision", None),
            "resumed_from": getattr(result, "resumed_from", 0)})


@app.task(name=SAMPLE_TASK, bind=True)
def sample_job(self, job_id: str) -> None:
    job = _claim(self, job_id)
    if job is None:
        return
    from ganctl.jobs import artifacts, device, sample
    from ganctl.jobs.spec import SampleSpec, TrainSpec

    try:
        device.configure()
        parent, s = store().get_job(job.parent_id), SampleSpec.model_validate(job.spec)
        expected = {a.format: a.sha256 for a in store().artifacts(parent.id)}
        root = get_settings().resolved_artifacts_dir
        res = sample.sample_to(TrainSpec.model_validate(parent.spec), root / parent.id, root / job.id,
                               s.n, s.seed, s.format, expected)
        folder = Path(res.files[0]).parent if res.files else Path(res.grid).parent
        rows = [ArtifactRow(fmt, str(p), *artifacts.digest(Path(p)))
                for fmt, p in (("sample-grid", res.grid), ("sample-dir", folder))]
        store().record_artifacts(job.id, rows)
        store().finish(job.id, job.attempts, "completed", result={
            "grid": str(res.grid), "dir": str(folder), "files": [str(f) for f in res.files]})
    except Exception as exc:  # noqa: BLE001
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))
