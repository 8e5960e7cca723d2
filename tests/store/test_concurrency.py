"""Several OS processes against one database: one claim winner, no locked errors, no dupes."""
from __future__ import annotations

import multiprocessing as mp
import traceback

import pytest
from sqlalchemy import text

from ganctl.jobs.store import Store

CTX = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _claimer(url: str, job_id: str, i: int, barrier, out) -> None:
    try:
        s = Store(url)
        s.check_schema()  # connect + warm up before the race
        barrier.wait(timeout=30)
        job = s.claim(job_id, worker=f"proc{i}", gpu=None, lease_s=60)
        out.put(("ok", i, None if job is None else job.attempts))
    except Exception:  # noqa: BLE001
        out.put(("error", i, traceback.format_exc()))


def _writer(url: str, shared: tuple[str, int], i: int, epochs: int, barrier, out) -> None:
    try:
        s = Store(url, auto_upgrade=True)
        barrier.wait(timeout=30)
        own = s.create_job("train", {"arch": "upsample", "writer": i}, total_epochs=epochs)
        own_job = s.claim(own.id, worker=f"proc{i}", gpu=None, lease_s=60)
        ok = True
        for e in range(1, epochs + 1):
            ok &= s.record_epoch(own.id, own_job.attempts, e, 0.1 * e, 0.2 * e, 0.01, 1000.0)
            # everybody also writes (and re-writes) the same epochs of one shared job
            shared_id, attempt = shared
            ok &= s.record_epoch(shared_id, attempt, e, float(i), float(i), 0.01, 1.0)
            ok &= s.heartbeat(own.id, own_job.attempts)
            if e % 5 == 0:
                ok &= s.record_grid(own.id, own_job.attempts, e, b"\x89PNG" + bytes([i]), f"grid_{e}.png")
                ok &= s.record_grid(shared_id, attempt, e, b"\x89PNG" + bytes([i]), f"grid_{e}.png")
        ok &= s.finish(own.id, own_job.attempts, "completed", result={"writer": i})
        out.put(("ok", i, ok))
    except Exception:  # noqa: BLE001
        out.put(("error", i, traceback.format_exc()))


def _collect(procs, out, n):
    results = [out.get(timeout=120) for _ in range(n)]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [r[2] for r in results if r[0] == "error"]
    assert errors == [], "\n".join(errors)
    return results


@pytest.mark.parametrize("n", [6])
def test_claim_one_winner_processes(store_url, n):
    s = Store(store_url)
    job = s.create_job("train", {})
    barrier, out = CTX.Barrier(n), CTX.Queue()
    procs = [CTX.Process(target=_claimer, args=(store_url, job.id, i, barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    results = _collect(procs, out, n)
    winners = [r for r in results if r[2] is not None]
    assert len(winners) == 1 and winners[0][2] == 1
    final = s.get_job(job.id)
    assert final.status == "running" and final.attempts == 1 and final.worker == f"proc{winners[0][1]}"
    s.close()


def test_four_processes_write_one_sqlite_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    n, epochs = 4, 40
    # The parent creates (and claims) the job every writer also writes to; concurrent
    # auto-upgrade of a fresh file is tested separately below.
    boot = Store(url, auto_upgrade=True)
    shared = boot.create_job("train", {"arch": "upsample"})
    shared_attempt = boot.claim(shared.id, worker="parent", gpu=None, lease_s=3600).attempts
    boot.close()

    barrier, out = CTX.Barrier(n), CTX.Queue()
    procs = [
        CTX.Process(target=_writer, args=(url, (shared.id, shared_attempt), i, epochs, barrier, out))
        for i in range(n)
    ]
    for p in procs:
        p.start()
    results = _collect(procs, out, n)
    assert all(r[2] is True for r in results), results

    s = Store(url)
    with s.engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM epochs")).scalar_one()
        distinct = conn.execute(text("SELECT count(*) FROM (SELECT DISTINCT job_id, epoch FROM epochs) d")).scalar_one()
        grids = conn.execute(text("SELECT count(*) FROM grids")).scalar_one()
    assert total == distinct == (n + 1) * epochs
    assert grids == (n + 1) * (epochs // 5)
    assert [e.epoch for e in s.epochs(shared.id)] == list(range(1, epochs + 1))
    done = s.list_jobs(status="completed")
    assert sorted(j.result["writer"] for j in done) == list(range(n))
    for j in done:
        assert [e.epoch for e in s.epochs(j.id)] == list(range(1, epochs + 1))
    s.close()


def _upgrader(url: str, i: int, barrier, out) -> None:
    try:
        s = Store(url, auto_upgrade=True)
        barrier.wait(timeout=30)
        s.create_job("train", {"i": i})
        out.put(("ok", i, s.current_revision()))
    except Exception:  # noqa: BLE001
        out.put(("error", i, traceback.format_exc()))


def test_four_processes_auto_upgrade_one_fresh_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    n = 4
    barrier, out = CTX.Barrier(n), CTX.Queue()
    procs = [CTX.Process(target=_upgrader, args=(url, i, barrier, out)) for i in range(n)]
    for p in procs:
        p.start()
    results = _collect(procs, out, n)
    s = Store(url)
    assert {r[2] for r in results} == {s.head_revision()}
    assert len(s.list_jobs()) == n
    s.close()


def _inherited(store, job_id: str, out) -> None:
    try:
        out.put(("ok", 0, store.record_epoch(job_id, 1, 1, 1.0, 1.0, 1.0, 1.0)))
    except Exception:  # noqa: BLE001
        out.put(("error", 0, traceback.format_exc()))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="needs fork")
def test_store_used_before_fork_works_in_child(store):
    job = store.create_job("train", {})
    store.claim(job.id, worker="parent", gpu=None, lease_s=60)  # the pool now holds a connection
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    p = ctx.Process(target=_inherited, args=(store, job.id, out))
    p.start()
    (result,) = _collect([p], out, 1)
    assert result[2] is True
    assert [e.epoch for e in store.epochs(job.id)] == [1]
