"""A training worker process dies (kill -9, or a poison job that kills it every time).

Real redis-server, real `ganctl worker --cpu` processes, real TensorFlow training of a DCGAN on
256 Fashion-MNIST trousers (4 batches of 64 an epoch).
"""
from __future__ import annotations

import signal

import pytest

from faults import (LEASE, TRAIN_ONLY, check_artifacts, checkpoints, fresh_database, kill, logs, open_store,
                    rel_env, submit, wait_status)
from ganctl_procs import child_pid, ganctl, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]


def kill9_then_resume(tmp_path, redis_url, ganctl_worker, ledger, database_url: str | None = None):
    """kill -9 the training process during epoch 3 of 5; a restarted worker resumes from the
    last checkpoint: completed, exactly epochs 1..5, attempts == 2."""
    home = tmp_path / "home"
    extra = {"GANCTL_VISIBILITY_TIMEOUT": "4"}  # Redis redelivers the lost message too
    if database_url:
        extra["GANCTL_DATABASE_URL"] = database_url
    env = rel_env(home, redis_url, **extra)
    if database_url:
        ganctl(env, "db", "upgrade")
    first = ganctl_worker(env, *TRAIN_ONLY)
    first.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=5)
    with open_store(env) as store:
        wait_until(lambda: 2 in checkpoints(home, job_id), 240, "the checkpoint of epoch 2",
                   context=lambda: logs(first))
        kill(child_pid(first), signal.SIGKILL)
        ledger.fault("kill -9 during epoch 3")
        kept = checkpoints(home, job_id)
        before = store.get_job(job_id)
        assert before.status == "running" and before.attempts == 1
        assert len(store.epochs(job_id)) < 5
        # The launcher sees its child die, stops and exits non-zero (a supervisor restarts it).
        first.proc.wait(60)
        assert first.proc.returncode != 0
        second = ganctl_worker(env, *TRAIN_ONLY)
        job = wait_status(store, job_id, ("completed", "failed", "cancelled"), 240,
                          context=lambda: logs(first, second))
        assert job.status == "completed", (job.status, job.error, logs(second))
        assert job.attempts == 2, logs(second)
        assert ledger.epochs(store, job_id, 5) == [1, 2, 3, 4, 5]
        assert job.result["resumed_from"] == max(kept), (kept, job.result)
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
        out = second.output()
        recovered_by = ("reaper" if f"reaper: re-published job {job_id}" in out else "redelivery")
        ledger.notes.append(f"resumed from checkpoint {max(kept)} via {recovered_by}; "
                            f"lease {LEASE:.0f} s, visibility timeout 4 s")
    assert second.stop() == 0


def test_kill9_during_epoch_resumes_from_checkpoint(tmp_path, redis_url, ganctl_worker, ledger):
    kill9_then_resume(tmp_path, redis_url, ganctl_worker, ledger)


def test_kill9_during_epoch_resumes_on_postgresql(tmp_path, redis_url, ganctl_worker, ledger, postgres_url):
    kill9_then_resume(tmp_path, redis_url, ganctl_worker, ledger, database_url=fresh_database(postgres_url))


def test_poison_job_fails_after_max_attempts(tmp_path, redis_url, ganctl_worker, ledger):
    """A job that kills its worker every time: failed with "max attempts" after max_attempts
    deliveries, never re-queued again; the next job on the same queue still runs."""
    home = tmp_path / "home"
    env = rel_env(home, redis_url, GANCTL_MAX_ATTEMPTS="2", GANCTL_VISIBILITY_TIMEOUT="4")
    poison_env = dict(env, GANCTL_TEST_CRASH_AT_EPOCH="1")
    job_id = submit(env, epochs=2, limit=128)
    workers = []
    with open_store(env) as store:
        for attempt in (1, 2):
            w = ganctl_worker(poison_env, *TRAIN_ONLY)
            workers.append(w)
            w.proc.wait(240)  # its training child kills itself; the launcher exits
            assert "fault injection: GANCTL_TEST_CRASH_AT_EPOCH=1" in w.output(), logs(w)
            ledger.fault("worker SIGKILLs itself (poison job)")
            assert store.get_job(job_id).attempts == attempt
        # A healthy worker now: the reaper finds the dead lease, out of attempts -> failed.
        healthy = ganctl_worker(env, *TRAIN_ONLY)
        workers.append(healthy)
        job = wait_status(store, job_id, ("failed", "completed"), 120, context=lambda: logs(*workers))
        assert job.status == "failed" and job.error == "max attempts (2) reached", (job.status, job.error)
        assert job.attempts == 2
        ledger.jobs_failed_as_expected += 1
        # The queue is not stuck behind it, and it is never delivered into training again.
        ok = submit(env, epochs=1, limit=128)
        done = wait_status(store, ok, ("completed", "failed"), 180, context=lambda: logs(healthy))
        assert done.status == "completed", done.error
        ledger.jobs_completed += 1
        assert ledger.epochs(store, ok, 1) == [1]
        job = store.get_job(job_id)
        assert (job.status, job.attempts) == ("failed", 2)
        assert f"job {job_id}: claimed" not in healthy.output()
    assert healthy.stop() == 0
