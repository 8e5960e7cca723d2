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

Ids and folders: ids.py; the store, heartbeat and training hooks: hooks.py.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from ganctl.jobs.config import get_settings
from ganctl.jobs.store.repo import ArtifactRow, NotFound
from ganctl.worker.app import EVAL_TASK, SAMPLE_TASK, TRAIN_TASK, app, publish
from ganctl.worker.hooks import CRASH_AT_EPOCH, SHUTDOWN, Heartbeat, Progress, one_line, store
from ganctl.worker.ids import BadJobId, job_dir, valid_job_id

log = logging.getLogger(__name__)

__all__ = ["train_job", "sample_job", "eval_job", "store", "BadJobId", "job_dir", "valid_job_id",
           "Heartbeat", "Progress", "SHUTDOWN", "CRASH_AT_EPOCH"]


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
    from ganctl.jobs import device
    from ganctl.jobs.quality import scoring
    from ganctl.jobs.spec import EvalSpec, TrainSpec

    beat = Heartbeat(job, get_settings().heartbeat_every, lambda: None)  # a first use trains the classifier
    beat.start()
    try:
        device.configure()
        parent, e = store().get_job(job.parent_id), EvalSpec.model_validate(job.spec)
        expected = {a.format: a.sha256 for a in store().artifacts(parent.id)}
        export = job_dir(get_settings().resolved_artifacts_dir, parent.id) / "export"
        q = scoring.score_export(TrainSpec.model_validate(parent.spec), export, e.n, e.seed,
                                 expected.get("h5-generator"))
        store().record_metrics(parent.id, None, None, e.n, q, bool(q["collapse"]))
        store().finish(job.id, job.attempts, "completed", result=q)
    except Exception as exc:  # noqa: BLE001
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))
    finally:
        beat.stop()
