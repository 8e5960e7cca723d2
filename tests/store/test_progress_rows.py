"""Store.progress_of: a list's progress figures for many jobs in two queries must equal what the
per-job reads give (last epoch, latest quality figures), on SQLite and PostgreSQL, and `ganctl
list`/the dashboard show those figures."""
from __future__ import annotations

import math


def test_progress_of_matches_per_job_reads(store):
    ids = []
    for n in range(3):
        job = store.create_job("train", {"arch": "dcgan", "epochs": 4}, total_epochs=4)
        job = store.claim(job.id, worker="w@h", gpu=None, lease_s=60)
        for e in range(1, n + 2):
            store.record_epoch(job.id, job.attempts, e, 0.1 * e + n, float("nan") if e == 2 else 1.0 + e, 2.0, 9.0)
        if n:
            store.record_metrics(job.id, job.attempts, 1, 50, {"fd": 90.0 + n}, False)
            store.record_metrics(job.id, job.attempts, 2, 50, {"fd": 60.0 + n}, n == 2)
        ids.append(job.id)
    empty = store.create_job("train", {"arch": "dcgan", "epochs": 4}, total_epochs=4).id

    got = store.progress_of(ids + [empty])
    assert got[empty] == (None, None)
    for i in ids:
        last, quality = got[i]
        want = store.epochs(i)[-1]
        assert (last.epoch, last.d_loss, last.seconds) == (want.epoch, want.d_loss, want.seconds)
        assert (math.isnan(last.g_loss) and math.isnan(want.g_loss)) or last.g_loss == want.g_loss
        assert quality == store.latest_metrics(i)
    assert got[ids[0]][1] is None and got[ids[2]][1].values["fd"] == 62.0 and got[ids[2]][1].collapse
    assert store.progress_of([]) == {}
