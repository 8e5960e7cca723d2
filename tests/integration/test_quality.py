"""Quality figures through the real queue: real redis-server, real `ganctl worker --cpu`, real
TensorFlow training with --eval-every, then `ganctl eval` on the exported generator.

The collapse alarm itself (a generator that ignores its noise, copies of one image) is tested
in-process on real images in tests/jobs/test_classifier.py; here: the figures travel through the
worker into the store and out of the CLI."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from ganctl_procs import ganctl, ganctl_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SUBMIT = ("submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "256", "--epochs", "2",
          "--batch-size", "64", "--eval-every", "1", "--eval-n", "200")


def _store(home: Path):
    from ganctl.jobs.store.repo import Store

    return Store(f"sqlite:///{home / 'ganctl.db'}")


def test_eval_every_epoch_then_on_demand(tmp_path, redis_url, ganctl_worker, shared_cache_dir):
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_BROKER_URL=redis_url, GANCTL_CACHE_DIR=str(shared_cache_dir))
    worker = ganctl_worker(env)
    worker.wait_ready()
    job_id = ganctl(env, *SUBMIT).stdout.strip()
    watch = ganctl(env, "watch", job_id[:8], timeout=420, check=False)
    assert watch.returncode == 0, (watch.stdout[-2000:], watch.stderr[-2000:], worker.output()[-4000:])
    assert re.search(r"^quality epoch 2, 200 images: FD [\d.e+]+ \(floor [\d.e+]+\)", watch.stdout, re.M), watch.stdout
    with _store(home) as store:
        rows = store.metrics(job_id)
        assert [(m.epoch, m.n) for m in rows] == [(1, 200), (2, 200)]
        for m in rows:
            assert math.isfinite(m.values["fd"]) and 0 <= m.values["fd_floor"] < m.values["fd"]
            assert m.collapse == m.values["collapse"]

    out = ganctl(env, "eval", job_id[:8], "--n", "500", timeout=300).stdout
    fd = re.search(r"^FD\s+([\d.e+]+)\s+floor ([\d.e+]+) \(two disjoint real sets of (\d+)", out, re.M)
    assert fd is not None, out
    assert float(fd.group(2)) < float(fd.group(1)) and fd.group(3) == "500"  # 1,000 test trousers: 2 x 500
    assert re.search(r"^KID\s+[\d.e+-]+ ± ", out, re.M) and re.search(r"^coverage\s+[\d.]+$", out, re.M)
    eval_id = re.search(r"^job\s+(\S+) \(eval of " + job_id[:8], out, re.M).group(1)
    with _store(home) as store:
        ev = store.get_job(eval_id)
        assert (ev.kind, ev.status, ev.parent_id) == ("eval", "completed", job_id)
        assert ev.worker.startswith("cpu-sample@")  # the sample queue, never behind training
        assert ev.result["n"] == 500 and ev.result["fd"] == pytest.approx(float(fd.group(1)), rel=1e-3)
        latest = store.latest_metrics(job_id)
        assert latest.epoch is None and latest.n == 500 and latest.values == ev.result
        assert len(store.metrics(job_id)) == 3
    status = ganctl(env, "status", job_id).stdout
    assert re.search(r"^quality\s+FD .*\(on demand, 500 images\)$", status, re.M), status
    listed = {j["id"]: j for j in json.loads(ganctl(env, "list", "--json").stdout)}
    assert listed[job_id]["fd"] == pytest.approx(ev.result["fd"])
    assert worker.stop() == 0
