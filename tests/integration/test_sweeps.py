"""Sweeps through real workers: real `ganctl worker --cpu` processes, real TensorFlow training of
DCGANs on 256 Fashion-MNIST trousers with the FD at every epoch; the embedded SQLite store +
broker, and Redis. Successive halving stops some jobs and `ganctl sweep status` ranks them by best
FD; a worker killed with -9 mid-sweep, and a fresh one, still bring every job to a final state."""
from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest

from ganctl_procs import child_pid, ganctl, ganctl_env, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FINAL = ("completed", "failed", "cancelled", "stopped")
# lr_g 2e-4 (the arch's) first, then a generator that barely moves: the later ones reach each rung
# worse than the first and are cut (the first job at a rung always goes on).
SWEEP = ("sweep", "--arch", "dcgan", "--classes", "trouser", "--limit", "256", "--batch-size", "64",
         "--epochs", "2", "--eval-every", "1", "--eval-n", "200", "--precision", "fp32",
         "--set", "lr_g=2e-4,1e-7", "--set", "seed=1,2", "--keep", "1/3", "--json")
TRAIN = ("--cpu", "--queues", "train", "--reap-every", "1")
# The kill test needs a job running when the worker dies and one still queued behind it, not the
# whole grid again: 3 jobs (one run fewer to train than SWEEP's 4).
KILL_SWEEP = (*SWEEP[:SWEEP.index("--set")], "--set", "lr_g=2e-4,1e-7,3e-7", "--set", "seed=1",
              *SWEEP[SWEEP.index("--keep"):])


def _env(tmp_path: Path, cache: Path, **extra: str) -> dict:
    return ganctl_env(tmp_path / "home", GANCTL_CACHE_DIR=str(cache), GANCTL_HEARTBEAT_LEASE="6",
                      GANCTL_HEARTBEAT_EVERY="1", OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", **extra)


def _store(env: dict):
    from ganctl.jobs.store.repo import Store

    return Store(env.get("GANCTL_DATABASE_URL") or f"sqlite:///{Path(env['GANCTL_HOME']) / 'ganctl.db'}")


def _all_final(store, ids):
    jobs = [store.get_job(i) for i in ids]
    return jobs if all(j.status in FINAL for j in jobs) else None


def _check_ranking(env: dict, store, sweep_id: str, ids: list[str]) -> str:
    """`sweep status` lists every job once, best FD first, each FD the job's best recorded one."""
    text = ganctl(env, "sweep", "status", sweep_id[:8]).stdout
    rows = [line.split() for line in text.splitlines() if re.match(r"^\s*\d+\s+[0-9a-f]{8}\s", line)]
    assert sorted(r[1] for r in rows) == sorted(i[:8] for i in ids), text
    best = {i[:8]: min(m.values["fd"] for m in store.metrics(i) if m.epoch is not None) for i in ids}
    shown = [float(r[5]) for r in rows]  # rank job lr_g=.. seed=.. epochs FD ...
    assert shown == sorted(shown), text
    assert [r[1] for r in rows] == sorted(best, key=best.get), (text, best)
    for r, fd in zip(rows, shown):
        assert abs(fd - best[r[1]]) <= 0.01 * max(1.0, abs(fd)), (text, best)
    data = json.loads(ganctl(env, "sweep", "status", sweep_id, "--json").stdout)
    assert [j["job"][:8] for j in data["jobs"]] == [r[1] for r in rows]
    return text


def test_sweep_stops_the_worse_and_ranks_by_fd(tmp_path, ganctl_worker, shared_cache_dir):
    env = _env(tmp_path, shared_cache_dir)  # the embedded default: SQLite store and broker
    worker = ganctl_worker(env, *TRAIN)
    worker.wait_ready(("cpu-train",))
    out = json.loads(ganctl(env, *SWEEP).stdout)
    sweep_id, ids = out["id"], out["jobs"]
    assert len(ids) == 4
    listed = ganctl(env, "list", "--sweep", sweep_id[:8]).stdout
    assert all(i[:8] in listed for i in ids), listed
    with _store(env) as store:
        jobs = wait_until(lambda: _all_final(store, ids), 480, "every sweep job to end",
                          context=lambda: worker.output()[-4000:])
        stopped = [j for j in jobs if j.status == "stopped"]
        assert stopped, [(j.status, j.error, [m.values.get("fd") for m in store.metrics(j.id)]) for j in jobs]
        rungs = store.rungs(sweep_id)  # by epoch, then in the order they were decided
        context = ([(r.job_id[:8], r.epoch, r.fd, r.cutoff, r.go_on, r.reason) for r in rungs],
                   [(j.id[:8], j.status, j.error) for j in jobs])
        assert rungs and rungs[0].epoch == 1 and rungs[0].go_on, context  # the first at a rung goes on
        assert all(r.epoch == 1 or r.go_on for r in rungs), context  # epoch 2 is the last: recorded only
        assert any(j.status == "completed" for j in jobs), context
        assert {j.status for j in jobs} <= {"completed", "stopped"}, [(j.status, j.error) for j in jobs]
        for j in stopped:
            assert re.fullmatch(r"rung \d \(epoch \d\): (FD [\d.]+, cut at [\d.]+|possible mode collapse: .*)",
                                j.error), j.error
            epochs = [e.epoch for e in store.epochs(j.id)]
            assert epochs == [1]  # stopped at rung 1
            status = ganctl(env, "status", j.id[:8]).stdout
            assert re.search(rf"status\s+stopped", status) and j.error in status, status
        text = _check_ranking(env, store, sweep_id, ids)
        best = {i: min(m.values["fd"] for m in store.metrics(i) if m.epoch is not None) for i in ids}
    for j in stopped:
        assert f"stopped: {j.error}" in " ".join(text.split()), text
    side = json.loads(ganctl(env, "compare", "--sweep", sweep_id[:8], "--json").stdout)
    assert side["differ"] == ["lr_g", "seed"] and len(side["jobs"]) == 4
    assert {r["id"][:8]: round(r["best_fd"], 2) for r in side["jobs"]} == \
        {i[:8]: round(f, 2) for i, f in best.items()}
    assert all(r["seconds"] > 0 and r["kid"] is not None for r in side["jobs"])
    assert worker.stop() == 0


def test_sweep_survives_a_killed_worker(tmp_path, redis_url, ganctl_worker, shared_cache_dir):
    env = _env(tmp_path, shared_cache_dir, GANCTL_BROKER_URL=redis_url, GANCTL_VISIBILITY_TIMEOUT="4")
    first = ganctl_worker(env, *TRAIN)
    first.wait_ready(("cpu-train",))
    out = json.loads(ganctl(env, *KILL_SWEEP).stdout)
    sweep_id, ids = out["id"], out["jobs"]
    assert len(ids) == 3
    with _store(env) as store:
        # Kill -9 the training process once the second job is running (a rung of the first is recorded).
        wait_until(lambda: sum(store.get_job(i).status != "queued" for i in ids) >= 2, 300,
                   "the second sweep job to start", context=lambda: first.output()[-4000:])
        victim = next(store.get_job(i) for i in ids if store.get_job(i).status == "running")
        import os

        os.kill(child_pid(first), signal.SIGKILL)
        first.proc.wait(60)
        second = ganctl_worker(env, *TRAIN)
        jobs = wait_until(lambda: _all_final(store, ids), 480, "every sweep job to end after the kill",
                          context=lambda: second.output()[-4000:])
        assert {j.status for j in jobs} <= {"completed", "stopped"}, [(j.status, j.error) for j in jobs]
        again = store.get_job(victim.id)
        assert again.attempts == 2 or again.status == "stopped", again
        for j in jobs:  # each epoch once, each rung decided once
            epochs = [e.epoch for e in store.epochs(j.id)]
            assert epochs == list(range(1, len(epochs) + 1)), (j.id, epochs)
        decided = [(r.job_id, r.epoch) for r in store.rungs(sweep_id)]
        assert len(decided) == len(set(decided))
        _check_ranking(env, store, sweep_id, ids)
        assert "finished" in ganctl(env, "sweep", "status", sweep_id).stdout.splitlines()[0]
    assert second.stop() == 0
