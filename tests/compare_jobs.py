"""Two finished training jobs in a store, for the tests of `ganctl compare --html` (CLI and browser)."""
from __future__ import annotations

import numpy as np

from ganctl.jobs import pictures


def two_finished_jobs(store):
    """Two dcgan jobs that differ in lr_g: 3 epochs each, FD at epochs 2 and 3, grids at 1-3
    (the second job has no grid of epoch 1)."""
    ids = []
    for n, lr in enumerate((2e-4, 5e-5)):
        job = store.create_job("train", {"arch": "dcgan", "epochs": 3, "lr_g": lr, "note": "<b>x</b>"},
                               total_epochs=3)
        job = store.claim(job.id, worker="w@h", gpu=None, lease_s=60)
        for e in (1, 2, 3):
            store.record_epoch(job.id, job.attempts, e, 0.5 + n, 1.5 - 0.1 * e, 2.0, 100.0)
            if e > 1 or n == 0:
                png = pictures.grid_png(np.full((4, 6, 6, 1), 40 * e + 100 * n, dtype=np.uint8), scale=2)
                store.record_grid(job.id, job.attempts, e, png, f"grids/epoch_{e:04d}.png")
            if e > 1:
                store.record_metrics(job.id, job.attempts, e, 100, {"fd": 100.0 / e + 10 * n, "kid": 0.1,
                                                                   "recall": 0.2}, False)
        store.finish(job.id, job.attempts, "completed")
        ids.append(job.id)
    return ids
