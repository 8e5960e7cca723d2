"""Celery tasks: glue only. Take a job id, claim the row, call ganctl.jobs, record the outcome.

TensorFlow is imported inside the task bodies (via ganctl.jobs.train / sample), never at module level.
The row's `attempts` after claim() is the fencing token for every write.

Reliability (see README "Guarantees"):
- a job id from a message must be a canonical UUID, and every folder built from one must stay
  under the artifacts root; anything else is dropped before the store or the disk is touched;
- a claimed job's lease is renewed by a heartbeat thread every GANCTL_HEARTBEAT_EVERY seconds
  (not only between batches: loading TensorFlow, the data or a checkpoint can take longer than
  the lease); a refused heartbeat (another worker holds the job now) stops the training;
- a second delivery of a job that is running under a live lease is dropped (acknowledged);
  the reaper re-publishes the job if that lease ever expires;
- a warm shutdown (SIGTERM) stops training at the next batch and gives the job back
  (running -> queued, not counted as an attempt) and re-publishes it: the next worker resumes
  from the last checkpoint instead of this one finishing a run of hours first.

Fault injection for the reliability tests: GANCTL_TEST_CRASH_AT_EPOCH=N makes a training task
SIGKILL its own worker process at the first batch of epoch N (as a segfault or the OOM killer
would). It is read here only and must never be set outside tests.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import uuid
from functools import lru_cache
from pathlib import Path

from celery.signals import worker_shutting_down

from ganctl.jobs.config import get_settings
from ganctl.jobs.store.repo import ArtifactRow, NotFound, Store
from ganctl.worker.app import EVAL_TASK, SAMPLE_TASK, TRAIN_TASK, app, publish

log = logging.getLogger(__name__)

CRASH_AT_EPOCH = "GANCTL_TEST_CRASH_AT_EPOCH"  # fault-injection hook, tests only (see above)

# Set by Celery's SIGTERM/SIGINT/SIGQUIT handler in this process: a running training job hands
# itself back at its next batch.
SHUTDOWN = threading.Event()


@worker_shutting_down.connect
def _on_shutdown(sig=None, how=None, **_kw) -> None:  # runs inside the signal handler: just flag
    SHUTDOWN.set()


class BadJobId(ValueError):
    pass


def valid_job_id(job_id) -> str:
    """The id if it is a canonical (lower-case, hyphenated) UUID string, else BadJobId."""
    if not isinstance(job_id, str) or len(job_id) != 36:
        raise BadJobId(f"invalid job id {str(job_id)[:80]!r}: not a UUID")
    try:
        canonical = str(uuid.UUID(job_id))
    except ValueError:
        raise BadJobId(f"invalid job id {job_id[:80]!r}: not a UUID") from None
    if canonical != job_id:
        raise BadJobId(f"invalid job id {job_id[:80]!r}: not a canonical UUID")
    return job_id


def job_dir(root: Path, job_id: str) -> Path:
    """<root>/<job id>, only for a valid id whose folder, symlinks resolved, is directly under
    the (resolved) root; returned as <root>/<job id>, so recorded paths keep the root's spelling."""
    valid_job_id(job_id)
    path = Path(root) / job_id
    real_root, real = Path(root).resolve(), path.resolve()
    if real.parent != real_root:
        raise BadJobId(f"job folder {path} resolves to {real}, outside the artifacts root {real_root}")
    return path


@lru_cache(maxsize=1)
def store() -> Store:
    return Store.from_settings()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


def _claim(task, job_id):
    try:
        valid_job_id(job_id)
    except BadJobId as exc:
        log.error("refusing message: %s", exc)
        return None
    settings = get_settings()
    worker = getattr(task.request, "hostname", None) or socket.gethostname()
    gpu = os.environ.get("CUDA_VISIBLE_DEVICES") or "cpu"
    try:
        job = store().claim(job_id, worker=worker, gpu=gpu, lease_s=settings.heartbeat_lease)
    except NotFound:  # the submit that published it gave up and deleted the row
        log.warning("job %s does not exist; dropping its message", job_id)
        return None
    if job is not None:
        log.info("job %s: claimed, attempt %d of %d", job_id, job.attempts, job.max_attempts)
        return job
    try:
        now = store().get_job(job_id)
    except NotFound:
        return None
    if now.status == "running":
        log.warning("job %s: duplicate delivery, the job is running under attempt %d with a live "
                    "lease (worker %s); dropping this message", job_id, now.attempts, now.worker)
    else:
        log.warning("job %s: not claimable (status %s, attempt %d of %d%s); dropping this message",
                    job_id, now.status, now.attempts, now.max_attempts,
                    f", {now.error}" if now.error else "")
    return None


class Heartbeat(threading.Thread):
    """Renews the job's lease every `every` seconds until stopped; `on_lost` when refused."""

    def __init__(self, job, every: float, on_lost):
        super().__init__(name=f"ganctl-heartbeat-{job.id[:8]}", daemon=True)
        self.job, self.every, self.on_lost = job, max(0.05, every), on_lost
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                ok = store().heartbeat(self.job.id, self.job.attempts)
            except Exception as exc:  # noqa: BLE001 - a store hiccup: try again next beat
                log.warning("job %s: heartbeat failed: %s", self.job.id, one_line(exc))
                continue
            if not ok:
                self.on_lost()
                return

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)


class Progress:
    """Training hooks: epoch rows + grids, throttled heartbeats and cancel checks, fencing."""

    def __init__(self, job, cancel_every: float = 1.0):
        self.job, self.store, self.settings = job, store(), get_settings()
        self.cancel_every, self.fenced = cancel_every, False
        self._beat = self._cancel_checked = time.monotonic()
        self._cancelled = False
        crash = os.environ.get(CRASH_AT_EPOCH, "").strip()
        self._crash_at = int(crash) if crash.isdigit() else None

    def lost(self) -> None:
        """The lease is gone (another worker claimed the job): stop at the next batch."""
        if not self.fenced:
            log.warning("job %s: heartbeat refused, attempt %d no longer owns the job",
                        self.job.id, self.job.attempts)
        self.fenced = True

    @property
    def shutting_down(self) -> bool:
        return SHUTDOWN.is_set()

    def on_epoch(self, r) -> bool:
        ok = self.store.record_epoch(self.job.id, self.job.attempts, r.epoch, r.d_loss, r.g_loss,
                                     r.seconds, r.images_per_s)
        if ok and r.grid_png is not None:
            self.store.record_grid(self.job.id, r.epoch, r.grid_png, str(r.grid_path))
        q = getattr(r, "quality", None)
        if ok and q:
            ok = self.store.record_metrics(self.job.id, self.job.attempts, r.epoch, int(q.get("n") or 0), q,
                                           bool(q.get("collapse")))
        self.fenced = self.fenced or not ok
        return ok

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        if self._crash_at is not None and epoch == self._crash_at:
            log.error("fault injection: %s=%d: SIGKILL to this worker process", CRASH_AT_EPOCH, epoch)
            os.kill(os.getpid(), signal.SIGKILL)
        if time.monotonic() - self._beat >= self.settings.heartbeat_every:
            self._beat = time.monotonic()
            if not self.store.heartbeat(self.job.id, self.job.attempts):
                self.fenced = True

    def should_stop(self) -> bool:
        if self.fenced or self._cancelled or self.shutting_down:
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
    beat = Heartbeat(job, get_settings().heartbeat_every, hooks.lost)
    beat.start()
    try:
        _train(job, hooks, device, train, TrainSpec)
    finally:
        beat.stop()


def _give_back(job, reason: str) -> None:
    """Warm shutdown: running -> queued (fenced), then a fresh message for the next worker."""
    released = store().release(job.id, job.attempts)
    if released is None:
        if store().is_cancel_requested(job.id):
            store().finish(job.id, job.attempts, "cancelled", error=reason)
        return
    try:
        publish(app, released)
    except Exception as exc:  # noqa: BLE001 - the reaper re-publishes a queued job whose message is lost
        log.error("job %s: released but could not re-publish (%s); the reaper will", job.id, one_line(exc))
        return
    log.warning("job %s: worker shutting down: %s; job re-queued, it resumes from its last checkpoint",
                job.id, reason)


def _train(job, hooks, device, train, TrainSpec) -> None:
    try:
        device.configure()
        spec = TrainSpec.model_validate(job.spec)
        workdir = job_dir(get_settings().resolved_artifacts_dir, job.id)
        result = train.run(spec, workdir, train.Hooks(hooks.on_epoch, hooks.on_batch, hooks.should_stop))
    except train.Fenced:
        log.warning("job %s: another worker owns it now; stopping", job.id)
    except train.Cancelled as exc:
        if hooks.fenced:
            log.warning("job %s: another worker owns it now; stopping", job.id)
        elif hooks.shutting_down and not store().is_cancel_requested(job.id):
            _give_back(job, str(exc).replace("cancelled", "stopped", 1))
        else:
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
        res = sample.sample_to(TrainSpec.model_validate(parent.spec), job_dir(root, parent.id),
                               job_dir(root, job.id), s.n, s.seed, s.format, expected)
        folder = Path(res.files[0]).parent if res.files else Path(res.grid).parent
        rows = [ArtifactRow(fmt, str(p), *artifacts.digest(Path(p)))
                for fmt, p in (("sample-grid", res.grid), ("sample-dir", folder))]
        store().record_artifacts(job.id, rows)
        store().finish(job.id, job.attempts, "completed", result={
            "grid": str(res.grid), "dir": str(folder), "files": [str(f) for f in res.files]})
    except Exception as exc:  # noqa: BLE001
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))


@app.task(name=EVAL_TASK, bind=True)
def eval_job(self, job_id: str) -> None:
    """Quality figures of a training job's exported generator: the eval job's result, and a metrics
    row (epoch None) of the training job."""
    job = _claim(self, job_id)
    if job is None:
        return
    from ganctl.jobs import data, device, metrics, sample, train
    from ganctl.jobs.classifier import get_classifier
    from ganctl.jobs.spec import EvalSpec, TrainSpec

    beat = Heartbeat(job, get_settings().heartbeat_every, lambda: None)  # a first use trains the classifier
    beat.start()
    try:
        device.configure()
        parent, e = store().get_job(job.parent_id), EvalSpec.model_validate(job.spec)
        spec = TrainSpec.model_validate(parent.spec)
        if spec.folder is not None:
            raise ValueError(f"quality metrics are for Fashion-MNIST jobs; this job trained on {spec.dataset}")
        expected = {a.format: a.sha256 for a in store().artifacts(parent.id)}
        export = job_dir(get_settings().resolved_artifacts_dir, parent.id) / "export"
        gen = sample.load_generator(spec, export, "h5", expected.get("h5-generator"))
        grid = data.unscale(gen(train.fixed_noise(spec)), spec.info.output)  # the job's fixed-seed grid
        q = metrics.evaluate(sample.generate(spec, gen, e.n, e.seed),
                             metrics.real_reference(spec.classes, 2 * e.n, seed=0),
                             get_classifier(), classes=tuple(spec.classes), grid_images=grid).to_dict()
        store().record_metrics(parent.id, None, None, e.n, q, bool(q["collapse"]))
        store().finish(job.id, job.attempts, "completed", result=q)
    except Exception as exc:  # noqa: BLE001
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))
    finally:
        beat.stop()
