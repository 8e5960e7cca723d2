"""Four real worker processes on the embedded default (SQLite store + SQLite-backed broker,
no server at all) training at once: every epoch row written once, no "database is locked"
reaching a user or a job. The store-level version (4 processes hammering one file) is
tests/store/test_concurrency.py::test_four_processes_write_one_sqlite_file."""
from __future__ import annotations

import pytest

from faults import logs, open_store, rel_env, submit, wait_status

pytestmark = [pytest.mark.reliability, pytest.mark.slow, pytest.mark.integration]

WORKERS, JOBS, EPOCHS = 4, 4, 3


def test_four_workers_on_embedded_sqlite(tmp_path, ganctl_worker, ledger):
    home = tmp_path / "home"
    env = rel_env(home, None)  # the embedded default: sqlite store, sqla+sqlite broker
    workers = [ganctl_worker(env, "--cpu", "--queues", "train", "--reap-every", "1") for _ in range(WORKERS)]
    for w in workers:
        w.wait_ready(("cpu-train",))
    ledger.fault(f"{WORKERS} workers writing one SQLite file")
    jobs = [submit(env, epochs=EPOCHS, limit=128) for _ in range(JOBS)]
    with open_store(env) as store:
        for job_id in jobs:
            job = wait_status(store, job_id, ("completed", "failed", "cancelled"), 300,
                              context=lambda: logs(*workers))
            assert job.status == "completed", (job.status, job.error)
            assert job.attempts == 1
            assert ledger.epochs(store, job_id, EPOCHS) == list(range(1, EPOCHS + 1))
            ledger.jobs_completed += 1
    out = "\n".join(w.output() for w in workers)
    assert "database is locked" not in out.lower()
    claimed = [sum(w.output().count(f"job {j}: claimed") for j in jobs) for w in workers]
    assert sum(claimed) == JOBS  # each job claimed once, by one worker
    ledger.notes.append(f"jobs per worker: {claimed}")
    for w in workers:
        assert w.stop() == 0
