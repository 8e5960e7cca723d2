"""The broker fails: redis-server restarts (its data gone) while a job trains; a committed job
row whose message never reached the broker. Broker down at `ganctl submit` is covered by
tests/cli/test_errors.py::test_unreachable_broker_fails_fast_and_leaves_no_row (exit 2 within
15 s, one line, no row left behind)."""
from __future__ import annotations

import re

import pytest

from faults import TRAIN_ONLY, check_artifacts, logs, open_store, rel_env, submit, wait_status
from ganctl_procs import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]

FINAL = ("completed", "failed", "cancelled")


def test_redis_restart_while_a_job_trains(tmp_path, redis_server, ganctl_worker, ledger):
    home = tmp_path / "home"
    env = rel_env(home, redis_server.url)
    worker = ganctl_worker(env, *TRAIN_ONLY)
    worker.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=5)
    with open_store(env) as store:
        wait_until(lambda: store.epochs(job_id), 180, "the first epoch", context=lambda: logs(worker))
        redis_server.stop()  # no persistence: the queue and the unacked message are gone
        redis_server.start()
        ledger.fault("redis-server restarted mid-job (its data lost)")
        job = wait_status(store, job_id, FINAL, 240, context=lambda: logs(worker))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 1
        assert ledger.epochs(store, job_id, 5) == [1, 2, 3, 4, 5]
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
        # The worker reconnected: a job submitted after the restart starts and completes.
        after = submit(env, epochs=1, limit=128)
        job = wait_status(store, after, FINAL, 180, context=lambda: logs(worker))
        assert job.status == "completed", (job.status, job.error)
        assert ledger.epochs(store, after, 1) == [1]
        ledger.jobs_completed += 1
    assert worker.stop() == 0


def test_lost_message_is_republished_once(tmp_path, redis_url, ganctl_worker, ledger):
    """A job row committed whose message never reached the broker: the reaper re-publishes a
    queued job older than GANCTL_REQUEUE_AFTER, once; it then runs once."""
    from ganctl.jobs.spec import TrainSpec

    home = tmp_path / "home"
    env = rel_env(home, redis_url, GANCTL_REQUEUE_AFTER="3")
    spec = TrainSpec.submitted(arch="dcgan", classes=("trouser",), limit=128, epochs=1, batch_size=64)
    with open_store(env) as store:
        store.upgrade()
        job_id = store.create_job("train", spec.model_dump(mode="json"), total_epochs=1).id
        ledger.fault("job row committed, message never published")
        worker = ganctl_worker(env, *TRAIN_ONLY)
        job = wait_status(store, job_id, FINAL, 180, context=lambda: logs(worker))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 1
        assert ledger.epochs(store, job_id, 1) == [1]
        ledger.jobs_completed += 1
    wait_until(lambda: "re-published" in worker.output(), 10, "the reaper's line")
    assert len(re.findall(rf"reaper: re-published job {job_id}", worker.output())) == 1
    assert worker.output().count(f"job {job_id}: claimed") == 1
    assert worker.stop() == 0
