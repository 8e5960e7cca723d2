"""Celery tasks: glue only. Take a job id, claim the row, call ganctl.jobs, record the outcome.

Every task kind (train, sample, eval) is a `@job_task` body: `body(job, lease) -> result dict`,
the call into ganctl.jobs and what it records. The wrapper around it is the same for all: refuse a
bad id, claim (drop a duplicate delivery), hold the lease (heartbeat) from claim to finish, map
the outcome to one fenced finish (completed with the body's result, failed with a one-line error,
cancelled, or handed back on a warm shutdown). TensorFlow is imported inside the bodies (via
ganctl.jobs.train / sample), never at module level. The row's `attempts` after claim() is the
fencing token for every write.

Reliability (see README "Guarantees"):
- a job id from a message must be a canonical UUID, and every folder built from one must stay
  under the artifacts root; anything else is dropped before the store or the disk is touched;
- a claimed job's lease is renewed by a heartbeat thread every GANCTL_HEARTBEAT_EVERY seconds,
  for every task kind (not only between batches: loading TensorFlow, the data or a checkpoint,
  or writing 100000 sample PNGs, can take longer than the lease); a refused heartbeat or write
  (another worker holds the job now) stops the training, and no later write of it is accepted;
- a second delivery of a job that is running under a live lease is dropped (acknowledged);
  the reaper re-publishes the job if that lease ever expires;
- a warm shutdown (SIGTERM) stops training at the next batch and gives the job back
  (running -> queued, not counted as an attempt) and re-publishes it: the next worker resumes
  from the last checkpoint instead of this one finishing a run of hours first.

Ids and folders: ids.py; the store, the lease (heartbeat, fence) and training hooks: hooks.py.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Callable

from ganctl.jobs.config import get_settings
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.store.repo import ArtifactRow, Job, NotFound
from ganctl.worker.app import EVAL_TASK, SAMPLE_TASK, TRAIN_TASK, app, publish
from ganctl.worker.hooks import CRASH_AT_EPOCH, SHUTDOWN, Heartbeat, Lease, Progress, one_line, store
from ganctl.worker.ids import BadJobId, job_dir, valid_job_id

log = logging.getLogger(__name__)

__all__ = ["train_job", "sample_job", "eval_job", "job_task", "store", "BadJobId", "job_dir", "valid_job_id",
           "Heartbeat", "Lease", "Progress", "SHUTDOWN", "CRASH_AT_EPOCH"]


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


def job_task(name: str) -> Callable:
    """Register `body(job, lease) -> result dict` as the Celery task `name`: claim -> lease -> run
    -> finish (module docstring). The body raises to fail; ganctl.jobs.train's Fenced / Cancelled /
    NonFiniteLoss mean: stop quietly / cancelled (or handed back) / failed with that message."""
    def register(body: Callable[[Job, Lease], dict]):
        def task(self, job_id: str) -> None:
            job = _claim(self, job_id)
            if job is None:
                return
            with Lease(job) as lease:
                _run(body, job, lease)

        task.__name__, task.__doc__ = body.__name__, body.__doc__
        return app.task(name=name, bind=True)(task)

    return register


def _run(body, job: Job, lease: Lease) -> None:
    from ganctl.jobs import device, train  # train: the outcomes a body raises (no TensorFlow yet)

    try:
        device.configure()
        result = body(job, lease)
    except train.Fenced:
        lease.fenced = True
    except train.Cancelled as exc:
        if lease.fenced:
            pass
        elif SHUTDOWN.is_set() and not store().is_cancel_requested(job.id):
            _give_back(job, str(exc).replace("cancelled", "stopped", 1))
        else:
            store().finish(job.id, job.attempts, "cancelled", error=str(exc))
    except train.NonFiniteLoss as exc:
        store().finish(job.id, job.attempts, "failed", error=" ".join(str(exc).split()))
    except Exception as exc:  # noqa: BLE001 - any failure becomes the row's one-line error
        log.exception("job %s failed", job.id)
        store().finish(job.id, job.attempts, "failed", error=one_line(exc))
    else:
        if not lease.fenced:
            lease.kept(store().finish(job.id, job.attempts, "completed", result=result))
    if lease.fenced:
        log.warning("job %s: another worker owns it now; stopping", job.id)


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


def _folder(job_id: str) -> Path:
    return job_dir(get_settings().resolved_artifacts_dir, job_id)


def _mirror(job_id: str, pinned=lambda epoch: False):
    """The job's folder mirrored to GANCTL_ARTIFACTS_URL's bucket, or None (artifacts on disk);
    `pinned`: checkpoints kept beyond the last three (a training job's evaluated epochs)."""
    from ganctl.jobs import objects
    from ganctl.jobs.mirror import Mirror

    bucket = objects.from_settings(get_settings())
    return None if bucket is None else Mirror(bucket, job_id, _folder(job_id), pinned=pinned)


def _export_of(parent_id: str) -> Path:
    """The parent's export folder on this host: downloaded from the bucket first when there is one."""
    mirror = _mirror(parent_id)
    return JobFolder(_folder(parent_id)).export if mirror is None else mirror.pull_export()


def _grid_urls(on_epoch, mirror):
    """Epoch rows name the grid's object (uploaded by on_saved before), not this host's file."""
    import dataclasses

    return lambda r: on_epoch(r if r.grid_path is None else dataclasses.replace(r, grid_path=mirror.where(r.grid_path)))


def _recorded(lease: Lease, rows: list[ArtifactRow]) -> None:
    from ganctl.jobs import train

    if not lease.record_artifacts(rows):
        raise train.Fenced("artifacts refused")


def _checkpoint(job_id: str, epoch: int) -> Path:
    from ganctl.jobs.checkpoints import Checkpoints

    return Checkpoints(JobFolder(_folder(job_id)).checkpoints).path(epoch)


def _ckpt_format(epoch: int) -> str:
    from ganctl.jobs.experiments import checkpoint_format

    return checkpoint_format(epoch)


@job_task(TRAIN_TASK)
def train_job(job: Job, lease: Lease) -> dict:
    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    from ganctl.jobs import experiments

    # An extension / fork starts from its parent's checkpoint, linked into its own folder.
    experiments.seed_checkpoint(store(), get_settings().resolved_artifacts_dir, job.id)
    spec = TrainSpec.model_validate(job.spec)
    hooks, mirror = Progress(lease), _mirror(job.id, pinned=lambda e: train.is_eval_epoch(spec, e))
    if mirror is not None:  # another host may have trained it so far: resume from the bucket
        mirror.pull_checkpoint()
    result = train.run(spec, _folder(job.id),
                       train.Hooks(hooks.on_epoch if mirror is None else _grid_urls(hooks.on_epoch, mirror),
                                   hooks.on_batch, hooks.should_stop,
                                   *(() if mirror is None else (mirror.on_saved,))))
    # Recorded after the upload (on_saved("export") returned): the bucket's URL, the same sha256.
    _recorded(lease, [ArtifactRow(format=a.format, path=str(a.path) if mirror is None else mirror.where(Path(a.path)),
                                  bytes=a.bytes, sha256=a.sha256) for a in result.artifacts]
              + experiments.checkpoint_rows(_folder(job.id)))
    # `data` (images used, files skipped, decode cache hit) is what `ganctl status` shows.
    return {"epochs_done": result.epochs_done, "d_loss": result.d_loss, "g_loss": result.g_loss,
            "precision": result.precision, "resumed_from": result.resumed_from, "data": dict(result.data)}


@job_task(SAMPLE_TASK)
def sample_job(job: Job, lease: Lease) -> dict:
    from ganctl.jobs import artifacts, sample
    from ganctl.jobs.spec import SampleSpec, TrainSpec

    parent, s = store().get_job(job.parent_id), SampleSpec.model_validate(job.spec)
    expected = {a.format: a.sha256 for a in store().artifacts(parent.id)}
    pspec = TrainSpec.model_validate(parent.spec)
    options = {"truncation": s.truncation, "interpolate": s.interpolate}
    if s.label is not None or s.all_classes:  # `--class` of a conditional job
        options |= {"label": s.label, "all_classes": s.all_classes}
    if s.epoch is None:
        _export_of(parent.id)  # from the bucket, when there is one, into the parent's folder here
        res = sample.sample_to(pspec, _folder(parent.id), _folder(job.id), s.n, s.seed, s.format, expected, **options)
    else:  # `--epoch best|N`: that epoch's checkpoint (local folder only), checked against its sha256
        gen = sample.checkpoint_generator(pspec, _checkpoint(parent.id, s.epoch), expected.get(_ckpt_format(s.epoch)))
        res = sample.sample_from(pspec, gen, _folder(job.id), s.n, s.seed, **options)
    folder = Path(res.files[0]).parent if res.files else Path(res.grid).parent
    mirror = _mirror(job.id)
    if mirror is not None:  # uploaded before recorded; the result names the objects
        mirror.push_tree(_folder(job.id))
    where = str if mirror is None else mirror.where
    made = [("sample-grid", res.grid), ("sample-dir", folder)] + ([("sample-walk", res.walk)] if res.walk else [])
    _recorded(lease, [ArtifactRow(fmt, where(Path(p)), *artifacts.digest(Path(p))) for fmt, p in made])
    return {"grid": where(res.grid), "dir": where(folder), "files": [where(f) for f in res.files]} | (
        {"walk": where(res.walk)} if res.walk else {})


@job_task(EVAL_TASK)
def eval_job(job: Job, lease: Lease) -> dict:
    """Quality figures of a training job's exported generator: the eval job's result, and a metrics
    row (epoch None) of the training job. The lease matters here too: with a changed classifier
    recipe (no shipped weights) a first use trains the quality classifier."""
    from ganctl.jobs import train
    from ganctl.jobs.quality import scoring
    from ganctl.jobs.spec import EvalSpec, TrainSpec

    parent, e = store().get_job(job.parent_id), EvalSpec.model_validate(job.spec)
    expected = {a.format: a.sha256 for a in store().artifacts(parent.id)}
    pspec = TrainSpec.model_validate(parent.spec)
    if e.epoch is None:
        q = scoring.score_export(pspec, _export_of(parent.id), e.n, e.seed, expected.get("h5-generator"))
    else:
        from ganctl.jobs import sample

        q = scoring.score_with(pspec, sample.checkpoint_generator(
            pspec, _checkpoint(parent.id, e.epoch), expected.get(_ckpt_format(e.epoch))), e.n, e.seed)
        q["epoch"] = e.epoch
    # A row of the parent, fenced by this eval job's attempt: a stale eval adds no second row.
    if not lease.kept(store().record_metrics(parent.id, None, None, e.n, q, bool(q["collapse"]),
                                             held=(job.id, job.attempts))):
        raise train.Fenced("metrics refused")
    return q
