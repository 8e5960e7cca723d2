"""Experiments over training jobs: extend (more epochs) and fork (some options changed) a finished
job from one of its checkpoints, tags, the best evaluated epoch. Called by jobs/service.py's users
(the CLI, later the page); nothing here prints or imports TensorFlow.

An extension or fork is a NEW train job linked to its parent (jobs.parent_id + job_links), never
the parent reopened: the parent's epochs, grids, metrics and exported generator stay exactly as
they were (samples and evals already taken of it keep matching its artifacts' sha256), and the
child's epochs continue the numbering from the checkpoint it starts at (epoch K+1 follows K).
"""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from ganctl.jobs import service
from ganctl.jobs.config import get_settings
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.service import ServiceError, publish_or_roll_back

if TYPE_CHECKING:
    from ganctl.jobs.store.repo import Job, Store

# What a checkpoint's networks and data fix: a fork cannot change them.
FIXED = ("arch", "dataset", "image_size", "channels", "resize", "classes", "split", "limit",
         "conditional", "class_dims", "class_loss", "clusters", "cluster_layers")
CARRY_FROM = ("completed", "cancelled", "failed")


def checkpoint_epochs(job_id: str) -> list[int]:
    """The epochs whose checkpoint job `job_id` keeps (the last three and every evaluated one)."""
    from ganctl.jobs.checkpoints import Checkpoints

    return Checkpoints(JobFolder.of(get_settings().resolved_artifacts_dir, job_id).checkpoints).epochs()


def _changed(parent: dict, changes: dict) -> dict:
    """The changes that differ from the parent's stored spec (a field it lacks: the default)."""
    from ganctl.jobs.spec import TrainSpec

    fields = TrainSpec.model_fields
    return {k: v for k, v in changes.items()
            if v is not None and parent.get(k, fields[k].default if k in fields else None) != v}


def carry_on(store: "Store", parent: "Job", kind: str, *, epochs: int | None, epoch: int | str | None = None,
             changes: dict[str, Any] | None = None, tags: Iterable[str] = ()) -> "Job":
    """Queue a train job that starts from `parent`'s checkpoint at `epoch` (None: its last) and
    trains `epochs` more, with `changes` to its spec (fork); ServiceError, or the spec's
    ValidationError (it names the option), before anything is queued."""
    from ganctl.jobs.spec import TrainSpec

    tags = service.clean_tags(tags)
    verb = "extend" if kind == "extend" else "fork"
    if parent.kind != "train":
        raise ServiceError(f"job {parent.short_id} is a {parent.kind} job; {verb} a train job")
    if parent.status not in CARRY_FROM:
        raise ServiceError(f"job {parent.short_id} is {parent.status}; {verb} a finished job "
                           f"(completed, cancelled or failed with a checkpoint)")
    changes = _changed(parent.spec, dict(changes or {}))
    fixed = [k for k in FIXED if k in changes]
    if fixed:
        raise ServiceError(f"fork cannot change {', '.join('--' + k.replace('_', '-') for k in fixed)}: "
                           f"the checkpoint's networks and data are fixed (submit a new job instead)")
    kept = checkpoint_epochs(parent.id)
    if not kept:
        raise ServiceError(f"job {parent.short_id} has no checkpoint to start from")
    start = kept[-1] if epoch is None else _epoch_number(store, parent, epoch)
    if start not in kept:
        raise ServiceError(f"job {parent.short_id} has no checkpoint of epoch {start} "
                           f"(kept: {', '.join(map(str, kept))})")
    planned = int(parent.spec.get("epochs", 0))
    if "recipe" in changes and not changes.get("batch_size") and not parent.spec.get("batch_size"):
        # A recipe may set the batch: a fork to another recipe keeps the parent's batch unless told.
        changes["batch_size"] = TrainSpec.model_validate(parent.spec).effective_batch_size
    fields = {**parent.spec, **changes}
    # The changed options first (a ValidationError names the option), then how far to train.
    TrainSpec.model_validate({**fields, "epochs": start + max(1, epochs or 1)})
    if epochs is None:  # a fork trains to the parent's planned end, unless told otherwise
        if planned - start < 1:
            raise ServiceError(f"from epoch {start}, job {parent.short_id} has no epochs left of its planned "
                               f"{planned}: give --epochs N to train N more")
        epochs = planned - start
    if epochs < 1:
        raise ServiceError(f"--epochs: give how many epochs to train after epoch {start} (at least 1)")
    spec = TrainSpec.model_validate({**fields, "epochs": start + epochs})
    before, after = TrainSpec.model_validate(parent.spec).training, spec.training
    for what, was, now in (("spectral norm", before.spectral_norm, after.spectral_norm),
                           ("EMA", before.ema > 0, after.ema > 0)):
        if was != now:
            raise ServiceError(f"fork cannot switch {what} {'on' if now else 'off'} (recipe {after.name} with "
                               f"these options has it {'on' if now else 'off'}): the checkpoint holds the "
                               f"networks' variables as they were (submit a new job instead)")
    service.check_artifacts()
    job = store.create_linked_job(spec.model_dump(mode="json"), total_epochs=spec.epochs,
                                  max_attempts=get_settings().max_attempts, parent_id=parent.id,
                                  link=(kind, start), tags=[*store.tags_of(parent.id), *tags])
    publish_or_roll_back(store, job, f"{kind} job")
    return job


def extend(store: "Store", job_id: str, epochs: int, tags: Iterable[str] = ()) -> "Job":
    """`epochs` more epochs of a finished job, every option the same, from its last checkpoint."""
    return carry_on(store, store.get_job(job_id), "extend", epochs=epochs, tags=tags)


def fork(store: "Store", job_id: str, *, epoch: int | str | None = None, epochs: int | None = None,
         changes: dict[str, Any] | None = None, tags: Iterable[str] = ()) -> "Job":
    return carry_on(store, store.get_job(job_id), "fork", epochs=epochs, epoch=epoch, changes=changes, tags=tags)


def seed_checkpoint(store: "Store", artifacts_root: Path, job_id: str) -> int | None:
    """For a linked job without checkpoints of its own: copy in its parent's checkpoint of the
    start epoch, so the training loop resumes from it. The start epoch, or None (not linked)."""
    from ganctl.jobs.checkpoints import CheckpointError, Checkpoints
    from ganctl.jobs.layout import write_atomic_with

    link = store.link_of(job_id)
    if link is None:
        return None
    mine = Checkpoints(JobFolder.of(artifacts_root, job_id).checkpoints)
    if mine.epochs():  # a retried attempt resumes from its own newer checkpoints
        return link.start_epoch
    src = Checkpoints(JobFolder.of(artifacts_root, link.parent_id).checkpoints).path(link.start_epoch)
    if not src.is_file():
        raise CheckpointError(f"parent job {link.parent_id[:8]} no longer has its checkpoint of epoch "
                              f"{link.start_epoch} ({src})")
    dest = mine.path(link.start_epoch)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:  # a hard link: no second copy on disk (checkpoints are replaced by rename, never rewritten)
        os.link(src, dest)
    except FileExistsError:
        pass
    except OSError:  # another file system
        write_atomic_with(dest, lambda tmp: shutil.copyfile(src, tmp))
    return link.start_epoch


def best_epoch(store: "Store", job_id: str) -> tuple[int, float] | None:
    """(epoch, FD) of the job's evaluated epoch with the lowest FD, or None."""
    scored = [(float(m.values["fd"]), m.epoch) for m in store.metrics(job_id)
              if m.epoch is not None and isinstance(m.values.get("fd"), (int, float))
              and math.isfinite(float(m.values["fd"]))]
    if not scored:
        return None
    fd, epoch = min(scored)
    return epoch, fd


def lineage(store: "Store", job: "Job") -> dict:
    """Where the job comes from, what carries it on, its sweep, tags and best epoch, JSON-safe (the
    dashboard's data; `status` prints it through lineage_rows)."""
    link = store.link_of(job.id)
    best = best_epoch(store, job.id)
    return {"parent": None if link is None else {"id": link.parent_id, "kind": link.kind,
                                                 "start_epoch": link.start_epoch},
            "carried_on": [{"id": c.id, "kind": kind, "start_epoch": start, "status": c.status}
                           for c, kind, start in store.linked_children(job.id)],
            "sweep_id": job.sweep_id, "tags": store.tags_of(job.id),
            "best_epoch": None if best is None else {"epoch": best[0], "fd": best[1]}}


def lineage_rows(store: "Store", job: "Job") -> list[tuple[str, str]]:
    """`status` lines: where the job comes from, what carries it on, its tags, its best epoch."""
    rows, d = [], lineage(store, job)
    p = d["parent"]
    if p is not None:
        how = "extends" if p["kind"] == "extend" else "forked from"
        rows.append(("lineage", f"{how} {p['id'][:8]} at epoch {p['start_epoch']} "
                                f"(epochs {p['start_epoch'] + 1}.. are this job's)"))
    for c in d["carried_on"]:
        rows.append(("carried on", f"{c['kind']} {c['id'][:8]} from epoch {c['start_epoch']} ({c['status']})"))
    if d["tags"]:
        rows.append(("tags", ", ".join(d["tags"])))
    if d["best_epoch"] is not None:
        rows.append(("best epoch", f"{d['best_epoch']['epoch']} (FD {d['best_epoch']['fd']:.2f})"))
    return rows


def submit(store: "Store", spec, tags: Iterable[str] = ()) -> "Job":
    """service.submit with tags (`ganctl submit --tag NAME`)."""
    tags = service.clean_tags(tags)
    if not tags:
        return service.submit(store, spec)
    service.check_artifacts()
    job = store.create_linked_job(spec.model_dump(mode="json"), total_epochs=spec.epochs,
                                  max_attempts=get_settings().max_attempts, tags=tags)
    publish_or_roll_back(store, job, "job")
    return job


def checkpoint_format(epoch: int) -> str:
    """The artifact name of a kept checkpoint (its sha256 is in the store, checked before loading)."""
    return f"checkpoint-{epoch:06d}"


def _epoch_number(store: "Store", parent: "Job", which: int | str) -> int:
    """`--epoch best|N` as an epoch number (best: the evaluated epoch of lowest FD)."""
    if which == "best":
        best = best_epoch(store, parent.id)
        if best is None:
            raise ServiceError(f"job {parent.short_id} has no evaluated epoch (submit with --eval-every N)")
        return best[0]
    try:
        return int(which)
    except ValueError:
        raise ServiceError(f"--epoch {which}: give best or an epoch number") from None


def resolve_epoch(store: "Store", parent: "Job", which: str | None) -> int | None:
    """`--epoch best|N` of sample / eval: the epoch whose recorded checkpoint to load (None: the
    export). ServiceError when there is no such checkpoint."""
    if which is None:
        return None
    epoch = _epoch_number(store, parent, which)
    recorded = sorted(int(a.format.rsplit("-", 1)[1]) for a in store.artifacts(parent.id)
                      if a.format.startswith("checkpoint-"))
    if epoch not in recorded:
        raise ServiceError(f"job {parent.short_id} has no recorded checkpoint of epoch {epoch} "
                           f"(recorded: {', '.join(map(str, recorded)) or 'none'})")
    return epoch


def checkpoint_rows(job_folder: Path) -> list:
    """Artifact rows (format checkpoint-NNNNNN, sha256) of the checkpoints a finished job keeps."""
    from ganctl.jobs.artifacts import digest
    from ganctl.jobs.checkpoints import Checkpoints
    from ganctl.jobs.store.repo import ArtifactRow

    ckpts = Checkpoints(JobFolder(Path(job_folder)).checkpoints)
    return [ArtifactRow(checkpoint_format(e), str(ckpts.path(e)), *digest(ckpts.path(e))) for e in ckpts.epochs()]
