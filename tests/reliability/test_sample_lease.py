"""A sampling job that runs longer than its lease keeps it: the sample task holds its lease with a
heartbeat thread like every task kind, so the reaper never re-queues it and it runs once.

Real redis-server, a real `ganctl worker --cpu` (train and sample children, reaper every second),
real TensorFlow: a one-epoch DCGAN on 128 trousers, then `ganctl sample --n 10000` (one PNG at a
time, many seconds) under a 2 s GANCTL_HEARTBEAT_LEASE.
"""
from __future__ import annotations

import json

import pytest

from faults import logs, open_store, rel_env, submit, wait_status
from ganctl_procs import ganctl

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]

LEASE = 2.0
N = 10_000


def test_sampling_longer_than_the_lease_runs_once(tmp_path, redis_url, ganctl_worker, ledger):
    home = tmp_path / "home"
    env = rel_env(home, redis_url, GANCTL_HEARTBEAT_LEASE=str(LEASE), GANCTL_HEARTBEAT_EVERY="0.4")
    worker = ganctl_worker(env, "--cpu", "--reap-every", "1")
    worker.wait_ready()
    train_id = submit(env, epochs=1, limit=128)
    with open_store(env) as store:
        trained = wait_status(store, train_id, ("completed", "failed", "cancelled"), 300,
                              context=lambda: logs(worker))
        assert trained.status == "completed", (trained.error, logs(worker))
        ledger.fault(f"sampling {N} images under a {LEASE:.0f} s lease")
        out = ganctl(env, "sample", train_id[:8], "--n", str(N), "--json", timeout=600)
        child = json.loads(out.stdout)
        job = store.get_job(child["id"])
        took = (job.finished_at - job.started_at).total_seconds()
        # Meaningful only if the job outlived its lease by more than a reaper pass.
        assert took > 2 * LEASE, f"sampling took {took:.1f} s only; raise N"
        assert job.status == "completed" and job.attempts == 1, (job.status, job.attempts, job.error)
        assert len(job.result["files"]) == N
        assert {a.format for a in store.artifacts(job.id)} == {"sample-grid", "sample-dir"}
        ledger.jobs_completed += 2
        ledger.notes.append(f"sampling took {took:.1f} s under a {LEASE:.0f} s lease; claimed once")
    text = worker.output()
    assert text.count(f"job {job.id}: claimed") == 1, logs(worker)
    assert f"reaper: re-published job {job.id}" not in text
    assert ganctl(env, "status", job.id).stdout.count("attempt 1/") == 1
    assert worker.stop() == 0
