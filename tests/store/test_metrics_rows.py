"""The metrics table: quality figures per evaluated epoch (upserted, fenced) and per on-demand
evaluation (epoch None, a row each). SQLite, and (``-m integration``) PostgreSQL."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from ganctl.jobs.store import MetricsRow, NotFound

LEASE = 60.0
Q = {"n": 200, "fd": 12.5, "fd_floor": 1.25, "kid": 0.01, "precision": 0.5, "recall": 0.4,
     "density": 0.8, "coverage": 0.3, "class_histogram": {"trouser": 0.9}, "collapse": False,
     "collapse_reasons": []}


def _claimed(store):
    job = store.create_job("train", {"arch": "dcgan", "epochs": 3}, total_epochs=3)
    got = store.claim(job.id, worker="w1", gpu=None, lease_s=LEASE)
    assert got is not None and got.attempts == 1
    return got


def test_record_upsert_and_read(store):
    job = _claimed(store)
    assert store.metrics(job.id) == [] and store.latest_metrics(job.id) is None
    assert store.record_metrics(job.id, 1, 1, 200, Q, False)
    assert store.record_metrics(job.id, 1, 1, 200, Q | {"fd": 10.0}, False)  # re-run epoch overwrites
    assert store.record_metrics(job.id, 1, 2, 200, Q | {"fd": 8.0, "kid": float("nan")}, False)
    rows = store.metrics(job.id)
    assert [(r.epoch, r.values["fd"]) for r in rows] == [(1, 10.0), (2, 8.0)]
    assert isinstance(rows[0], MetricsRow) and rows[0].n == 200 and rows[0].collapse is False
    assert rows[0].values["class_histogram"] == {"trouser": 0.9}
    assert rows[1].values["kid"] is None  # NaN is stored as JSON null
    assert rows[0].recorded_at.tzinfo is not None
    assert store.latest_metrics(job.id).epoch == 2


def test_on_demand_rows_add_up_and_come_last(store):
    job = _claimed(store)
    assert store.record_metrics(job.id, 1, 3, 200, Q, False)
    store.finish(job.id, 1, "completed")
    # After the job ended: an on-demand evaluation (no fencing), a row per evaluation.
    bad = Q | {"fd": 99.0, "collapse": True, "collapse_reasons": ["recall 0 < 0.05"]}
    assert store.record_metrics(job.id, None, None, 500, bad, True)
    assert store.record_metrics(job.id, None, None, 1000, Q | {"fd": 7.0}, False)
    assert [(r.epoch, r.n) for r in store.metrics(job.id)] == [(3, 200), (None, 500), (None, 1000)]
    latest = store.latest_metrics(job.id)
    assert latest.epoch is None and latest.n == 1000 and latest.values["fd"] == 7.0
    flagged = store.metrics(job.id)[1]
    assert flagged.collapse and flagged.collapse_reasons == ["recall 0 < 0.05"]
    with pytest.raises(NotFound):
        store.record_metrics("00000000-0000-4000-8000-000000000000", None, None, 10, Q, False)


def test_fenced_like_record_epoch(store):
    job = _claimed(store)
    assert store.record_metrics(job.id, 2, 1, 200, Q, False) is False  # not its attempt
    store.requeue_stale(0.0)  # lease gone: another worker will claim it
    again = store.claim(job.id, worker="w2", gpu=None, lease_s=LEASE)
    assert again.attempts == 2
    assert store.record_metrics(job.id, 1, 1, 200, Q | {"fd": 1e9}, False) is False  # the old owner
    assert store.record_metrics(job.id, 2, 1, 200, Q, False)
    assert [r.values["fd"] for r in store.metrics(job.id)] == [12.5]
    store.finish(job.id, 2, "completed")
    assert store.record_metrics(job.id, 2, 2, 200, Q, False) is False  # not running any more


def test_rows_go_with_their_job(store):
    job = store.create_job("train", {})
    assert store.record_metrics(job.id, None, None, 10, {"fd": math.pi}, False)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE id = :id"), {"id": job.id})
        left = conn.execute(text("SELECT count(*) FROM metrics")).scalar_one()
    assert left == 0
