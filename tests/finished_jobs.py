"""A finished training job with checkpoints, made through the store (no training), for the tests of
extend and fork (the dashboard's and the CLI's)."""
from __future__ import annotations

import numpy as np

from ganctl.jobs.config import get_settings
from ganctl.jobs.layout import JobFolder


def finished_job(store, spec: dict):
    """A completed 2-epoch train job with checkpoints of epochs 1 and 2, as the training loop leaves them."""
    job = store.create_job("train", spec, total_epochs=2)
    job = store.claim(job.id, worker="w@h", gpu=None, lease_s=60)
    for e in (1, 2):
        store.record_epoch(job.id, job.attempts, e, 0.5, 1.5, 1.0, 10.0)
    store.finish(job.id, job.attempts, "completed")
    folder = JobFolder.of(get_settings().resolved_artifacts_dir, job.id).checkpoints
    folder.mkdir(parents=True)
    for e in (1, 2):
        np.savez(folder / f"ckpt-{e:06d}.npz", v0=np.zeros(2), step=np.array(e))
    return store.get_job(job.id)
