"""Store behaviour: CAS state machine, fencing, upserts, NaN, ids, schema checks.

Every test runs on SQLite and (``-m integration``) on PostgreSQL via the ``store`` fixture.
"""
from __future__ import annotations

import math
import threading
import time
import uuid
from datetime import timezone

import pytest
from sqlalchemy import text

from ganctl.jobs.store import (
    Ambiguous,
    ArtifactRow,
    IllegalTransition,
    NotFound,
    Store,
    StoreError,
    normalize_url,
)

LEASE = 60.0


def _claimed(store, **kw):
    job = store.create_job("train", {"arch": "upsample", "epochs": 3}, total_epochs=3, **kw)
    got = store.claim(job.id, worker="w1", gpu="GPU:0", lease_s=LEASE)
    assert got is not None and got.attempts == 1 and got.status == "running"
    return got


def _count(store, sql: str, **params) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def test_create_and_get(store):
    job = store.create_job("train", {"arch": "upsample", "epochs": 2}, total_epochs=2, max_attempts=5)
    assert job.status == "queued" and job.attempts == 0 and job.max_attempts == 5
    assert job.spec == {"arch": "upsample", "epochs": 2} and job.total_epochs == 2
    assert job.created_at.tzinfo is not None and job.created_at.utcoffset().total_seconds() == 0
    assert job.cancel_requested is False and job.result is None
    assert store.get_job(job.id) == job
    with pytest.raises(StoreError):
        store.create_job("bogus", {})


def test_claim_sets_fields_and_is_exclusive(store):
    job = store.create_job("train", {})
    got = store.claim(job.id, worker="host:1", gpu="GPU:0", lease_s=LEASE)
    assert got.status == "running" and got.attempts == 1 and got.worker == "host:1" and got.gpu == "GPU:0"
    assert got.started_at is not None and got.heartbeat_at is not None
    assert got.heartbeat_at.tzinfo is not None
    # live elsewhere: refused
    assert store.claim(job.id, worker="host:2", gpu=None, lease_s=LEASE) is None
    assert store.claim(str(uuid.uuid4()), worker="x", gpu=None, lease_s=LEASE) is None


def test_claim_one_winner_threads(store):
    job = store.create_job("train", {})
    n = 8
    barrier = threading.Barrier(n)
    results: list = []
    errors: list = []

    def go(i: int) -> None:
        try:
            barrier.wait()
            results.append(store.claim(job.id, worker=f"t{i}", gpu=None, lease_s=LEASE))
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].attempts == 1
    assert store.get_job(job.id).worker == winners[0].worker


def test_heartbeat_and_fencing(store):
    job = _claimed(store)
    assert store.heartbeat(job.id, 1)
    assert store.record_epoch(job.id, 1, 1, 1.0, 2.0, 0.5, 100.0)
    time.sleep(0.01)
    # worker 1 "dies": its lease (0 s here) is over and worker 2 steals the job
    stolen = store.claim(job.id, worker="w2", gpu=None, lease_s=0)
    assert stolen is not None and stolen.attempts == 2 and stolen.worker == "w2"
    assert stolen.started_at == job.started_at  # first start kept
    # the stale attempt is fenced everywhere
    assert store.heartbeat(job.id, 1) is False
    assert store.record_epoch(job.id, 1, 2, 9.0, 9.0, 9.0, 9.0) is False
    assert store.finish(job.id, 1, "completed") is False
    assert [e.epoch for e in store.epochs(job.id)] == [1]
    # the live attempt works
    assert store.record_epoch(job.id, 2, 2, 1.0, 1.0, 1.0, 1.0)
    assert store.finish(job.id, 2, "completed", result={"paths": ["a.png"]})
    done = store.get_job(job.id)
    assert done.status == "completed" and done.finished_at is not None
    assert done.result == {"paths": ["a.png"]}


def test_record_epoch_refused_unless_running(store):
    job = store.create_job("train", {})
    assert store.record_epoch(job.id, 0, 1, 1.0, 1.0, 1.0, 1.0) is False
    assert store.epochs(job.id) == []


def test_upserts_never_duplicate(store):
    job = _claimed(store)
    assert store.record_epoch(job.id, 1, 1, 1.0, 2.0, 3.0, 4.0)
    assert store.record_epoch(job.id, 1, 1, 5.0, 6.0, 7.0, 8.0)  # redelivered epoch
    assert store.record_epoch(job.id, 1, 2, 1.5, 2.5, 3.5, 4.5)
    rows = store.epochs(job.id)
    assert [(r.epoch, r.d_loss, r.g_loss, r.seconds, r.images_per_s) for r in rows] == [
        (1, 5.0, 6.0, 7.0, 8.0),
        (2, 1.5, 2.5, 3.5, 4.5),
    ]
    assert _count(store, "SELECT count(*) FROM epochs WHERE job_id = :j", j=job.id) == 2

    assert store.record_grid(job.id, 1, 1, b"\x89PNG-one", "grids/epoch_0001.png")
    assert store.record_grid(job.id, 1, 1, b"\x89PNG-two", "grids/epoch_0001b.png")
    grids = store.grids(job.id, with_png=True)
    assert [(g.epoch, g.path, g.png) for g in grids] == [(1, "grids/epoch_0001b.png", b"\x89PNG-two")]
    assert store.grids(job.id)[0].png == b""

    a = ArtifactRow("h5-generator", "/a/g.h5", 10, "0" * 64)
    assert store.record_artifacts(job.id, 1, [a, ArtifactRow("manifest", "/a/m.json", 5, "1" * 64)])
    assert store.record_artifacts(job.id, 1, [ArtifactRow("h5-generator", "/a/g2.h5", 11, "2" * 64)])
    assert store.artifacts(job.id) == [
        ArtifactRow("h5-generator", "/a/g2.h5", 11, "2" * 64),
        ArtifactRow("manifest", "/a/m.json", 5, "1" * 64),
    ]
    assert store.record_grid(str(uuid.uuid4()), 1, 1, b"", "x") is False  # no such job: refused


def test_nan_and_inf_round_trip(store):
    job = _claimed(store)
    assert store.record_epoch(job.id, 1, 1, float("nan"), float("inf"), 1.0, float("-inf"))
    (row,) = store.epochs(job.id)
    assert math.isnan(row.d_loss)
    assert row.g_loss == math.inf and row.images_per_s == -math.inf and row.seconds == 1.0


def test_prefix_ids(store):
    a = store.create_job("train", {}, job_id="abcd1234-0000-4000-8000-000000000001")
    b = store.create_job("train", {}, job_id="abcd5678-0000-4000-8000-000000000002")
    assert store.get_job("abcd1").id == a.id
    assert store.get_job("ABCD5").id == b.id
    assert store.get_job(a.id).id == a.id
    with pytest.raises(Ambiguous, match="ambiguous"):
        store.get_job("abcd")
    with pytest.raises(NotFound):
        store.get_job("ffff")
    with pytest.raises(NotFound):
        store.get_job("ffffffff-0000-4000-8000-000000000000")
    for bad in ("../../etc", "abcd%", "ab_d", "", "zzzz", "abcd' OR 1=1 --"):
        with pytest.raises(StoreError, match="invalid job id") as ei:
            store.get_job(bad)
        assert not isinstance(ei.value, (NotFound, Ambiguous))
    with pytest.raises(StoreError, match="too short"):
        store.get_job("abc")


def test_cancel_transitions(store):
    queued = store.create_job("train", {})
    c = store.request_cancel(queued.id)
    assert c.status == "cancelled" and c.finished_at is not None
    assert store.claim(queued.id, worker="w", gpu=None, lease_s=LEASE) is None  # cancelled stays cancelled
    with pytest.raises(IllegalTransition, match="already cancelled"):
        store.request_cancel(queued.id)

    running = _claimed(store)
    assert store.is_cancel_requested(running.id) is False
    r = store.request_cancel(running.id)
    assert r.status == "running" and r.cancel_requested is True
    assert store.is_cancel_requested(running.id) is True
    assert store.request_cancel(running.id).cancel_requested  # idempotent while running
    assert store.finish(running.id, 1, "cancelled")
    assert store.get_job(running.id).status == "cancelled"

    done = _claimed(store)
    assert store.finish(done.id, 1, "completed")
    with pytest.raises(IllegalTransition, match="is already completed"):
        store.request_cancel(done.id)
    with pytest.raises(NotFound):
        store.request_cancel(str(uuid.uuid4()))
    with pytest.raises(NotFound):
        store.is_cancel_requested(str(uuid.uuid4()))


def test_illegal_transitions_refused(store):
    job = store.create_job("train", {})
    assert store.finish(job.id, 0, "completed") is False  # queued: not running
    assert store.heartbeat(job.id, 0) is False
    job = _claimed(store)
    with pytest.raises(IllegalTransition):
        store.finish(job.id, 1, "running")
    assert store.finish(job.id, 1, "completed")
    assert store.finish(job.id, 1, "failed") is False  # already completed
    assert store.claim(job.id, worker="w", gpu=None, lease_s=0) is None
    assert store.fail(job.id, "boom") is False
    assert store.release(job.id, 1) is None  # completed -> queued: refused
    with pytest.raises(IllegalTransition):
        store.request_cancel(job.id)
    assert store.get_job(job.id).status == "completed"
    other = store.create_job("train", {})
    assert store.fail(other.id, "could not publish") is True  # queued -> failed
    assert store.get_job(other.id).finished_at is not None
    assert not hasattr(store, "set_status")  # no unfenced state change in the store's public face


def test_stale_attempt_cannot_write_grids_or_artifacts(store):
    """A worker whose lease ran out and was taken over (attempt 2) writes nothing any more:
    its grid and artifact rows are refused, the live attempt's are kept."""
    job = _claimed(store)
    assert store.record_grid(job.id, 1, 1, b"\x89PNG-1", "grids/epoch_0001.png")
    time.sleep(0.01)
    assert store.claim(job.id, worker="w2", gpu=None, lease_s=0).attempts == 2
    assert store.record_grid(job.id, 1, 1, b"\x89PNG-stale", "stale.png") is False
    assert store.record_grid(job.id, 1, 2, b"\x89PNG-stale", "stale.png") is False
    stale = ArtifactRow("h5-generator", "/stale/g.h5", 1, "f" * 64)
    assert store.record_artifacts(job.id, 1, [stale]) is False
    assert [(g.epoch, g.path) for g in store.grids(job.id)] == [(1, "grids/epoch_0001.png")]
    assert store.artifacts(job.id) == []
    live = ArtifactRow("h5-generator", "/live/g.h5", 2, "a" * 64)
    assert store.record_grid(job.id, 2, 2, b"\x89PNG-2", "grids/epoch_0002.png")
    assert store.record_artifacts(job.id, 2, [live])
    assert store.finish(job.id, 2, "completed")
    # Finished: nobody writes results any more, not even the attempt that finished it.
    assert store.record_artifacts(job.id, 2, [stale]) is False
    assert store.record_grid(job.id, 2, 3, b"\x89PNG-late", "late.png") is False
    assert store.artifacts(job.id) == [live] and [g.epoch for g in store.grids(job.id)] == [1, 2]
    # Queued (handed back or re-queued by the reaper): refused too.
    q = _claimed(store)
    assert store.release(q.id, 1) is not None
    assert store.record_artifacts(q.id, 1, [live]) is False and store.record_grid(q.id, 1, 1, b"x", "x") is False
    assert store.artifacts(q.id) == [] and store.grids(q.id) == []


def test_stale_eval_job_cannot_add_a_metrics_row(store):
    """An eval job's figures land on its parent only while the eval job holds its attempt."""
    parent = _claimed(store)
    assert store.finish(parent.id, 1, "completed")
    ev = store.create_job("eval", {"n": 10}, parent_id=parent.id)
    assert store.claim(ev.id, worker="w1", gpu=None, lease_s=LEASE).attempts == 1
    time.sleep(0.01)
    assert store.claim(ev.id, worker="w2", gpu=None, lease_s=0).attempts == 2
    assert store.record_metrics(parent.id, None, None, 10, {"fd": 1.0}, False, held=(ev.id, 1)) is False
    assert store.metrics(parent.id) == []
    assert store.record_metrics(parent.id, None, None, 10, {"fd": 2.0}, False, held=(ev.id, 2))
    assert [m.values["fd"] for m in store.metrics(parent.id)] == [2.0]


def test_fail(store):
    q = store.create_job("train", {})
    assert store.fail(q.id, "could not publish")
    j = store.get_job(q.id)
    assert j.status == "failed" and j.error == "could not publish" and j.finished_at is not None
    r = _claimed(store)
    assert store.fail(r.id, "reaped")
    assert store.get_job(r.id).status == "failed"


def test_requeue_stale_and_max_attempts(store):
    job = _claimed(store, max_attempts=2)
    assert store.requeue_stale(LEASE) == []  # heartbeat is fresh
    time.sleep(0.01)
    (requeued,) = store.requeue_stale(0)
    assert requeued.id == job.id and requeued.status == "queued" and requeued.attempts == 1
    assert store.heartbeat(job.id, 1) is False  # the old worker is fenced

    second = store.claim(job.id, worker="w2", gpu=None, lease_s=LEASE)
    assert second.attempts == 2
    time.sleep(0.01)
    assert store.requeue_stale(0) == []  # out of attempts: failed, not requeued
    failed = store.get_job(job.id)
    assert failed.status == "failed" and failed.error == "max attempts (2) reached"
    assert failed.finished_at is not None


def test_claim_at_max_attempts_fails_job(store):
    job = _claimed(store, max_attempts=1)
    time.sleep(0.01)
    assert store.claim(job.id, worker="w2", gpu=None, lease_s=0) is None
    failed = store.get_job(job.id)
    assert failed.status == "failed" and failed.error == "max attempts (1) reached"


def test_requeue_stale_cancel_requested_becomes_cancelled(store):
    job = _claimed(store)
    store.request_cancel(job.id)
    time.sleep(0.01)
    assert store.requeue_stale(0) == []
    assert store.get_job(job.id).status == "cancelled"


def test_stale_queued(store):
    job = store.create_job("train", {})
    assert store.stale_queued(3600) == []
    time.sleep(0.01)
    assert [j.id for j in store.stale_queued(0)] == [job.id]
    store.claim(job.id, worker="w", gpu=None, lease_s=LEASE)
    assert store.stale_queued(0) == []


def test_list_children_delete(store):
    t1 = store.create_job("train", {"arch": "upsample"})
    t2 = store.create_job("train", {"arch": "dcgan"})
    s1 = store.create_job("sample", {"n": 4}, parent_id=t1.id)
    assert [j.id for j in store.list_jobs()] == [s1.id, t2.id, t1.id]  # newest first
    assert [j.id for j in store.list_jobs(limit=1)] == [s1.id]
    assert [j.id for j in store.list_jobs(arch="dcgan")] == [t2.id]
    assert [j.id for j in store.list_jobs(kind="sample")] == [s1.id]
    store.claim(t1.id, worker="w", gpu=None, lease_s=LEASE)
    assert [j.id for j in store.list_jobs(status="running")] == [t1.id]
    with pytest.raises(StoreError):
        store.list_jobs(status="nope")
    assert [j.id for j in store.children(t1.id)] == [s1.id]
    with pytest.raises(NotFound):
        store.create_job("sample", {}, parent_id=str(uuid.uuid4()))

    store.delete_job(t2.id)
    with pytest.raises(NotFound):
        store.get_job(t2.id)
    with pytest.raises(IllegalTransition):
        store.delete_job(t1.id)  # running


def test_normalize_url():
    assert normalize_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    assert normalize_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_sqlite_pragmas(sqlite_url):
    s = Store(sqlite_url, auto_upgrade=True)
    s.create_job("train", {})
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    s.close()


def test_in_memory_sqlite():
    s = Store("sqlite://", auto_upgrade=True)
    j = s.create_job("eval", {})
    assert s.get_job(j.id).kind == "eval"
    s.close()


def test_sqlite_locked_is_retried_not_surfaced(sqlite_url, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import ganctl.jobs.store.repo as repo

    s = Store(sqlite_url, auto_upgrade=True)
    job = s.create_job("train", {})
    monkeypatch.setattr(repo.time, "sleep", lambda _s: None)
    calls = {"n": 0}
    real = s.engine.connect

    def flaky_connect():
        calls["n"] += 1
        if calls["n"] <= 3:
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        return real()

    monkeypatch.setattr(s.engine, "connect", flaky_connect)
    assert s.claim(job.id, worker="w", gpu=None, lease_s=LEASE).attempts == 1
    assert calls["n"] == 4

    calls["n"] = -100  # never recovers: bounded, the error finally surfaces
    with pytest.raises(OperationalError):
        s.heartbeat(job.id, 1)
    s.close()
