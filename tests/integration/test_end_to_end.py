"""End to end: real redis-server (or the embedded SQLite broker), a real `ganctl worker --cpu`,
the CLI as a user runs it, real TensorFlow training on 256 Fashion-MNIST trousers."""
from __future__ import annotations

import hashlib
import io
import json
import math
import re
import time
from pathlib import Path

import pytest

from ganctl_procs import ganctl, ganctl_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SUBMIT = ("submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "256", "--epochs", "2",
          "--batch-size", "64")
GENERATOR_FORMATS = {"h5-generator", "h5-discriminator", "savedmodel-generator", "savedmodel-discriminator"}


def _store(home: Path):
    from ganctl.jobs.store.repo import Store

    return Store(f"sqlite:///{home / 'ganctl.db'}")


def _decode_png(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format == "PNG"
        return im.size


def _sha256(path: Path) -> str:
    if path.is_dir():
        from ganctl.jobs.artifacts import digest

        return digest(path)[1]
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_trained(home: Path, job_id: str) -> None:
    """2 finite epochs, 2 decodable grids (row and file), .h5 + SavedModel matching their sha256."""
    with _store(home) as store:
        job = store.get_job(job_id)
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 1 and job.worker.startswith("cpu-train@") and job.gpu == "cpu"
        epochs = store.epochs(job_id)
        assert [e.epoch for e in epochs] == [1, 2]
        assert all(math.isfinite(v) for e in epochs for v in (e.d_loss, e.g_loss, e.seconds, e.images_per_s))
        grids = store.grids(job_id, with_png=True)
        assert [g.epoch for g in grids] == [1, 2]
        for g in grids:
            assert _decode_png(g.png)[0] > 28
            assert _decode_png(Path(g.path).read_bytes()) == _decode_png(g.png)
        arts = {a.format: a for a in store.artifacts(job_id)}
        assert GENERATOR_FORMATS <= set(arts), sorted(arts)
        assert arts["h5-generator"].path.endswith(".h5") and Path(arts["h5-generator"].path).is_file()
        assert (Path(arts["savedmodel-generator"].path) / "saved_model.pb").is_file()
        for a in arts.values():
            assert _sha256(Path(a.path)) == a.sha256, a.format
            assert a.path.startswith(str(home / "artifacts" / job_id))


def check_sample(env: dict, job_id: str) -> None:
    out = ganctl(env, "sample", job_id[:8], "--n", "12", timeout=300).stdout
    grid = Path(re.search(r"^grid\s+(\S+)$", out, re.M).group(1))
    w, h = _decode_png(grid.read_bytes())
    assert w > 28 and h > 28
    images = Path(re.search(r"^images\s+(\S+)", out, re.M).group(1))
    pngs = sorted(images.glob("*.png"))
    assert len(pngs) == 12 and _decode_png(pngs[0].read_bytes()) == (28, 28)


def _publish_pickled(home: Path, broker_url: str) -> str:
    """A job row whose task message is pickled (as an attacker on the broker could send)."""
    from ganctl.jobs.config import Settings
    from ganctl.worker.app import TRAIN_TASK, create_app

    with _store(home) as store:
        job = store.create_job("train", {"arch": "dcgan", "epochs": 1, "limit": 64}, total_epochs=1)
    app = create_app(Settings(home=home, broker_url=broker_url))
    app.send_task(TRAIN_TASK, args=[job.id], queue="train", serializer="pickle")
    return job.id


def test_redis_broker_train_and_sample(tmp_path, redis_url, ganctl_worker):
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_BROKER_URL=redis_url)
    worker = ganctl_worker(env)
    worker.wait_ready()
    pickled = _publish_pickled(home, redis_url)
    job_id = ganctl(env, *SUBMIT).stdout.strip()
    watch = ganctl(env, "watch", job_id[:8], timeout=300, check=False)
    assert watch.returncode == 0, (watch.stdout[-2000:], watch.stderr[-2000:], worker.output()[-4000:])
    assert "epoch 2/2" in watch.stdout and f"job {job_id[:8]} completed" in watch.stdout
    check_trained(home, job_id)
    status = json.loads(ganctl(env, "status", job_id, "--json").stdout)
    assert status["status"] == "completed" and status["epochs_done"] == 2 and len(status["grids"]) == 2
    check_sample(env, job_id)
    listed = json.loads(ganctl(env, "list", "--json").stdout)
    assert {j["kind"] for j in listed} == {"train", "sample"}
    # JSON only: the pickled message was refused, its job never ran.
    assert "Refusing to deserialize untrusted content of type pickle" in worker.output()
    with _store(home) as store:
        assert store.get_job(pickled).status == "queued"
    assert worker.stop() == 0


def test_redis_cancel_running_job(tmp_path, redis_url, ganctl_worker):
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_BROKER_URL=redis_url)
    worker = ganctl_worker(env)
    worker.wait_ready(("cpu-train",))
    job_id = ganctl(env, "submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "256",
                    "--epochs", "500", "--batch-size", "64").stdout.strip()
    with _store(home) as store:
        deadline = time.monotonic() + 180
        while not store.epochs(job_id):
            assert time.monotonic() < deadline, worker.output()[-4000:]
            time.sleep(0.5)
        out = ganctl(env, "cancel", job_id[:8]).stdout
        assert "cancel requested" in out
        deadline = time.monotonic() + 60
        while store.get_job(job_id).status == "running":
            assert time.monotonic() < deadline, worker.output()[-4000:]
            time.sleep(0.5)
        job = store.get_job(job_id)
        assert job.status == "cancelled", (job.status, job.error)
        assert len(store.epochs(job_id)) < 500
    watch = ganctl(env, "watch", job_id, check=False)
    assert watch.returncode == 1 and watch.stderr.startswith(f"error: job {job_id[:8]} cancelled")


def test_quickstart_embedded_broker(tmp_path, ganctl_worker):
    """The README quickstart: no broker or database to set up (SQLite files under GANCTL_HOME)."""
    home = tmp_path / "home"
    env = ganctl_env(home)
    worker = ganctl_worker(env)
    worker.wait_ready()
    assert (home / "ganctl.db").exists()
    proc = ganctl(env, *SUBMIT, "--wait", timeout=300, check=False)
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-3000:], worker.output()[-4000:])
    job_id = proc.stdout.strip().splitlines()[0]
    assert (home / "broker.db").exists()
    check_trained(home, job_id)
    check_sample(env, job_id)
    assert worker.stop() == 0
