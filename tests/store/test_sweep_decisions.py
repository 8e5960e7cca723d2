"""The successive-halving decision in the store (SQLite, and PostgreSQL under -m integration), on
synthetic FD sequences: who goes on, who is stopped with which reason, a re-run epoch's answer."""
from __future__ import annotations

import pytest

from ganctl.jobs.store.sweeps import percentile


def _sweep(store, n=4, keep=1 / 3, epochs=6):
    sweep, jobs = store.create_sweep({"sets": {"lr_g": ["1e-4"]}}, keep,
                                     [({"arch": "dcgan", "epochs": epochs}, epochs)] * n)
    claimed = [store.claim(j.id, worker="w", gpu="cpu", lease_s=60) for j in jobs]
    return sweep, claimed


def _decide(store, job, epoch, fd, **kw):
    return store.decide_rung(job.id, job.attempts, epoch, fd, keep=kw.pop("keep", 1 / 3),
                             rung=epoch // 2, **kw)


def test_percentile_is_numpys_linear():
    assert percentile([10.0], 1 / 3) == 10.0
    assert percentile([10.0, 40.0], 0.5) == 25.0
    assert percentile([40.0, 10.0, 20.0, 30.0], 1 / 3) == pytest.approx(20.0)


def test_rungs_cut_the_worse_as_results_arrive(store):
    sweep, (a, b, c, d) = _sweep(store)
    # Rung 1 (epoch 2): a arrives first and goes on; b is worse than the 1/3 quantile of {a, b}: cut.
    assert _decide(store, a, 2, 50.0).go_on
    cut = _decide(store, b, 2, 80.0)
    assert not cut.go_on and cut.reason == "rung 1 (epoch 2): FD 80.0, cut at 60.0"
    assert _decide(store, c, 2, 40.0).go_on  # the best so far
    assert not _decide(store, d, 2, 55.0).go_on  # quantile of {40, 50, 55, 80} = 50
    states = {j.id: j for j in store.sweep_jobs(sweep.id)}
    assert [states[j.id].status for j in (a, b, c, d)] == ["running", "stopped", "running", "stopped"]
    assert states[b.id].error == "rung 1 (epoch 2): FD 80.0, cut at 60.0"
    # Rung 2 (epoch 4): only a and c reached it; c is better, a (first there) went on before c came.
    assert _decide(store, a, 4, 30.0).go_on
    assert not _decide(store, c, 4, 35.0).go_on
    assert [(r.job_id, r.epoch, r.go_on) for r in store.rungs(sweep.id)] == [
        (a.id, 2, True), (b.id, 2, False), (c.id, 2, True), (d.id, 2, False), (a.id, 4, True), (c.id, 4, False)]


def test_a_rerun_epoch_reads_its_decision_back(store):
    """After a crash the job re-runs the epoch under a new attempt: the recorded answer stands, even
    though the figures of the re-run differ and others have arrived since."""
    sweep, (a, b, *_) = _sweep(store, n=2)
    assert _decide(store, a, 2, 50.0).go_on
    store.requeue_stale(lease_s=-1)  # a's worker "died": the reaper hands both running jobs back
    a2 = store.claim(a.id, worker="w2", gpu="cpu", lease_s=60)
    b2 = store.claim(b.id, worker="w2", gpu="cpu", lease_s=60)
    assert _decide(store, b2, 2, 10.0).go_on
    again = _decide(store, a2, 2, 90.0)
    assert again.go_on and again.fd == 50.0
    assert len(store.rungs(sweep.id)) == 2


def test_collapse_stops_at_once_and_the_last_epoch_only_records(store):
    sweep, (a, b, c) = _sweep(store, n=3)
    alarm = _decide(store, a, 2, 5.0, collapse="possible mode collapse: diversity 0.1")
    assert not alarm.go_on and alarm.reason == "rung 1 (epoch 2): possible mode collapse: diversity 0.1"
    assert _decide(store, b, 2, 50.0).go_on
    assert _decide(store, c, 6, 99.0, final=True, collapse="possible mode collapse: x").go_on  # the last
    # epoch: nothing left to save
    assert store.get_job(a.id).status == "stopped" and store.get_job(c.id).status == "running"


def test_a_fenced_or_stale_attempt_decides_nothing(store):
    sweep, (a, *_) = _sweep(store, n=2)
    assert store.decide_rung(a.id, a.attempts + 1, 2, 1.0, keep=0.5, rung=1) is None
    store.request_cancel(a.id)
    assert store.rungs(sweep.id) == []


def test_the_sweeps_list_counts_states_and_keeps_the_best_finite_fd(store):
    """`ganctl sweep list` / the dashboard's /sweeps, from the store: newest first, job states
    counted running first, the best FD finite (an inf or NaN rung stops its job and is not "best";
    inf would break the page's JSON), a tie going to the later epoch; cancelling, then cancelled."""
    from ganctl.jobs import sweeps

    old, (a, b, c, d) = _sweep(store)
    assert not _decide(store, a, 2, float("inf")).go_on
    assert not _decide(store, b, 2, float("nan")).go_on
    assert _decide(store, c, 2, 40.0).go_on and _decide(store, c, 4, 40.0).go_on
    new, pair = _sweep(store, n=2)
    rows = sweeps.overview(store)
    assert [r["id"] for r in rows] == [new.id, old.id]
    assert rows[1]["states"] == [["running", 2], ["stopped", 2]]
    assert rows[1]["best"] == {"job": c.id, "fd": 40.0, "epoch": 4}
    assert rows[0]["best"] is None and rows[0]["state"] == "running"
    assert [r["id"] for r in sweeps.overview(store, limit=1)] == [new.id]
    done = sweeps.cancel(store, new.id)  # both running: asked to stop at their next batch
    assert done["cancelled"] == [] and done["stopping"] == [j.id for j in pair]
    assert done["text"] == f"sweep {new.id[:8]}: 0 jobs cancelled, 2 stopping at their next batch"
    assert sweeps.overview(store, limit=1)[0]["state"] == "cancelling"
    for j in pair:
        store.finish(j.id, j.attempts, "cancelled")
    assert sweeps.overview(store, limit=1)[0]["state"] == "cancelled"
    # every job cancelled one by one, the sweep never: cancelled too (not "finished")
    third, (e, f) = _sweep(store, n=2)
    for j in (e, f):
        store.request_cancel(j.id)
        store.finish(j.id, j.attempts, "cancelled")
    assert sweeps.overview(store, limit=1)[0]["state"] == "cancelled"
