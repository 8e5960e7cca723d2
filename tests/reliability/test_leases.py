"""Leases, fencing and shutdown: a redelivery of a live job, a frozen worker, a warm shutdown.

Real redis-server, real `ganctl worker --cpu --queues train` processes (two where a second
worker must be there to take or refuse the job), real TensorFlow training.
"""
from __future__ import annotations

import re
import signal
import time

import pytest

from faults import (LEASE, TRAIN_ONLY, check_artifacts, checkpoints, kill, logs, open_store, rel_env, submit,
                    wait_status)
from ganctl_procs import child_pid, pid_alive, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]

FINAL = ("completed", "failed", "cancelled")


def _claimer(job_id: str, *workers):
    """The one worker whose log says it claimed `job_id` (attempt 1)."""
    hits = [w for w in workers if f"job {job_id}: claimed, attempt 1" in w.output()]
    return hits[0] if len(hits) == 1 else None


def test_redelivery_of_a_live_job_is_dropped(tmp_path, redis_url, ganctl_worker, ledger):
    """A job longer than the visibility timeout: Redis hands its message to the second worker
    while the first trains; the second sees the live lease, does not train, acknowledges it."""
    home = tmp_path / "home"
    env = rel_env(home, redis_url, GANCTL_VISIBILITY_TIMEOUT="2")
    a, b = ganctl_worker(env, *TRAIN_ONLY), ganctl_worker(env, *TRAIN_ONLY)
    a.wait_ready(("cpu-train",))
    b.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=6)
    ledger.fault("visibility timeout (2 s) shorter than the job")
    with open_store(env) as store:
        owner = wait_until(lambda: _claimer(job_id, a, b), 120, "a worker to claim the job",
                           context=lambda: logs(a, b))
        other = b if owner is a else a
        wait_until(lambda: f"job {job_id}: duplicate delivery" in other.output(), 120,
                   "the redelivered message at the other worker", context=lambda: logs(a, b))
        assert store.get_job(job_id).status == "running"
        job = wait_status(store, job_id, FINAL, 240, context=lambda: logs(a, b))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 1
        assert ledger.epochs(store, job_id, 6) == [1, 2, 3, 4, 5, 6]
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
    # One writer only: the other worker never claimed it, never built a model, never trained.
    assert f"job {job_id}: claimed" not in other.output()
    assert "resuming" not in owner.output()
    assert a.stop() == 0 and b.stop() == 0


def test_frozen_worker_is_fenced_out(tmp_path, redis_url, ganctl_worker, ledger):
    """SIGSTOP the training process past its lease: the reaper re-queues the job, the other
    worker takes it (attempt 2); after SIGCONT the frozen worker's writes are refused and it
    stops; the job completes once, with one set of epoch rows."""
    home = tmp_path / "home"
    env = rel_env(home, redis_url)
    a, b = ganctl_worker(env, *TRAIN_ONLY), ganctl_worker(env, *TRAIN_ONLY)
    a.wait_ready(("cpu-train",))
    b.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=6)
    with open_store(env) as store:
        owner = wait_until(lambda: _claimer(job_id, a, b), 120, "a worker to claim the job",
                           context=lambda: logs(a, b))
        other = b if owner is a else a
        wait_until(lambda: 1 in checkpoints(home, job_id), 180, "the checkpoint of epoch 1",
                   context=lambda: logs(a, b))
        frozen = child_pid(owner)
        kill(frozen, signal.SIGSTOP)
        ledger.fault("SIGSTOP past the lease")
        try:
            t0 = time.monotonic()
            wait_until(lambda: f"job {job_id}: claimed, attempt 2" in other.output(), LEASE + 60,
                       "the other worker to claim attempt 2", context=lambda: logs(a, b))
            assert time.monotonic() - t0 >= LEASE - 1.5  # not before the lease ran out
            assert store.get_job(job_id).attempts == 2
        finally:
            kill(frozen, signal.SIGCONT)
        wait_until(lambda: re.search(rf"job {job_id}: (another worker owns it now|heartbeat refused)",
                                     owner.output()), 60, "the thawed worker to find itself fenced",
                   context=lambda: logs(owner))
        job = wait_status(store, job_id, FINAL, 240, context=lambda: logs(a, b))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 2
        assert ledger.epochs(store, job_id, 6) == [1, 2, 3, 4, 5, 6]
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
    assert pid_alive(frozen)  # it stopped the job, not itself: ready for the next one
    assert "Task ganctl.train" in owner.output() and "succeeded" in owner.output()
    assert a.stop() == 0 and b.stop() == 0


def test_sigterm_gives_the_job_back(tmp_path, redis_url, ganctl_worker, ledger):
    """SIGTERM (warm shutdown) mid-epoch: the worker does not train to the end; it stops at the
    next batch, the job goes back to queued (not counted as an attempt) with a fresh message,
    the worker exits 0, and a new worker resumes it from the last readable checkpoint (the
    newest is corrupted on purpose: the end-to-end check of the checkpoint fallback)."""
    home = tmp_path / "home"
    env = rel_env(home, redis_url)
    first = ganctl_worker(env, *TRAIN_ONLY)
    first.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=5)
    with open_store(env) as store:
        wait_until(lambda: 2 in checkpoints(home, job_id), 180, "the checkpoint of epoch 2",
                   context=lambda: logs(first))
        first.proc.send_signal(signal.SIGTERM)
        ledger.fault("SIGTERM mid-epoch")
        t0 = time.monotonic()
        assert first.proc.wait(60) == 0, logs(first)
        took = time.monotonic() - t0
        kept = checkpoints(home, job_id)
        job = store.get_job(job_id)
        assert job.status == "queued" and job.attempts == 1 and job.max_attempts == 4, job
        assert len(store.epochs(job_id)) < 5
        assert f"job {job_id}: worker shutting down" in first.output()
        # And its newest checkpoint is corrupt (truncated, as by a full disk): the resume falls
        # back to the one before (jobs/checkpoints.py; the library test is tests/jobs/test_train.py).
        newest = home / "artifacts" / job_id / "checkpoints" / f"ckpt-{max(kept):06d}.npz"
        newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])
        ledger.fault("newest checkpoint truncated")
        second = ganctl_worker(env, *TRAIN_ONLY)
        job = wait_status(store, job_id, FINAL, 240, context=lambda: logs(first, second))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 2
        assert job.result["resumed_from"] == kept[-2], (kept, job.result)
        assert ledger.epochs(store, job_id, 5) == [1, 2, 3, 4, 5]
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
        # The fresh message did it, not the reaper (the job was never stale).
        assert f"reaper: re-published job {job_id}" not in second.output()
        ledger.notes.append(f"worker exited {took:.1f} s after SIGTERM; checkpoint {max(kept)} truncated, "
                            f"resumed from checkpoint {kept[-2]}")
    assert second.stop() == 0
