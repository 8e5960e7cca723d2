"""kill -9 of the `ganctl worker` launcher itself (issue 17): its Celery processes die with it, the
job is handed back by lease + reaper and resumed by a new launcher from its checkpoint, and a
second launcher for the same device is refused while one is alive.

Real redis-server, real `ganctl worker --cpu` processes, real TensorFlow training of a DCGAN on
256 Fashion-MNIST trousers (4 batches of 64 an epoch).
"""
from __future__ import annotations

import re
import signal

import pytest

from faults import (LEASE, TRAIN_ONLY, check_artifacts, checkpoints, kill, logs, open_store, rel_env, submit,
                    wait_status)
from ganctl_procs import ganctl, pid_alive, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]


def test_kill9_of_the_launcher_stops_its_children_and_the_job_resumes(tmp_path, redis_url, ganctl_worker,
                                                                      ledger):
    home = tmp_path / "home"
    env = rel_env(home, redis_url)  # visibility timeout 3600 s: the reaper, not Redis, hands it back
    first = ganctl_worker(env, *TRAIN_ONLY)
    first.wait_ready(("cpu-train",))
    job_id = submit(env, epochs=5)
    with open_store(env) as store:
        wait_until(lambda: 2 in checkpoints(home, job_id), 240, "the checkpoint of epoch 2",
                   context=lambda: logs(first))
        children = first.child_pids()
        assert children and all(pid_alive(p) for p in children)
        kill(first.proc.pid, signal.SIGKILL)
        ledger.fault("kill -9 of the launcher during training")
        kept = checkpoints(home, job_id)
        first.proc.wait(10)
        wait_until(lambda: not any(pid_alive(p) for p in children), 5, "every child of the killed launcher to stop",
                   context=lambda: logs(first))
        assert store.get_job(job_id).attempts == 1
        assert len(store.epochs(job_id)) < 5

        # The natural reaction, at once: start it again. The dead processes' registry rows are
        # still fresh, but their pids are gone, so this is no duplicate.
        second = ganctl_worker(env, *TRAIN_ONLY)
        second.wait_ready(("cpu-train",))
        job = wait_status(store, job_id, ("completed", "failed", "cancelled"), 240,
                          context=lambda: logs(first, second))
        assert job.status == "completed", (job.status, job.error, logs(second))
        assert job.attempts == 2, logs(second)
        assert ledger.epochs(store, job_id, 5) == [1, 2, 3, 4, 5]
        assert job.result["resumed_from"] == max(kept), (kept, job.result)
        assert f"reaper: re-published job {job_id}" in second.terminal()
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1

        # A second launcher for the same device while this one lives: refused, one line, exit 2.
        third = ganctl(env, "worker", *TRAIN_ONLY, check=False, timeout=60)
        ledger.fault("second launcher for the same device")
        assert third.returncode == 2, third.stdout + third.stderr
        assert re.fullmatch(rf"error: a ganctl worker already serves cpu on this host \(pid {second.proc.pid}, "
                            r"started [^)]+\); stop it first or pass --allow-duplicate\n", third.stderr), third.stderr
        assert "started cpu-train" not in third.stdout
        ledger.notes.append(f"children gone within 5 s of kill -9 of the launcher; resumed from checkpoint "
                            f"{max(kept)} via the reaper (lease {LEASE:.0f} s); duplicate launcher refused")
    assert second.stop() == 0
