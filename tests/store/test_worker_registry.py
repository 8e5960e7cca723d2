"""The worker registry (jobs/store/workers.py): live rows, stale rows ignored and pruned, and the
current job derived from the jobs table."""
from __future__ import annotations

import time


def _register(store, name, pid, queues=("train",), lease=60.0):
    return store.register_worker(name=name, host="box", pid=pid, device="cpu", queues=queues,
                                 launcher_pid=1, lease_s=lease)


def test_live_workers_by_queue_with_their_current_job(store):
    t = _register(store, "cpu-train@box", 100)
    _register(store, "cpu-sample@box", 101, queues=("sample",))
    job = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    store.claim(job.id, worker="cpu-train@box", gpu="cpu", lease_s=60)
    rows = store.live_workers(lease_s=60)
    assert [(w.name, w.queues, w.current_job) for w in rows] == [
        ("cpu-train@box", ("train",), job.id), ("cpu-sample@box", ("sample",), None)]
    assert [w.name for w in store.live_workers("sample", lease_s=60)] == ["cpu-sample@box"]
    assert store.beat_worker(t) is True
    store.unregister_worker(t)
    assert [w.name for w in store.live_workers("train", lease_s=60)] == []
    assert store.beat_worker(t) is False  # gone: the process registers again


def test_a_row_older_than_the_lease_is_ignored_then_pruned(store):
    old = _register(store, "cpu-train@box", 100)
    time.sleep(0.3)
    assert store.live_workers(lease_s=0.2) == []
    _register(store, "cpu-train@box", 200, lease=0.2)  # the next registration prunes the stale row
    assert store.beat_worker(old) is False
    assert [w.pid for w in store.live_workers(lease_s=60)] == [200]
