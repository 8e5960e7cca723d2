"""The Celery tasks' glue, run eagerly (`task.apply`) against a real store, with the training
library replaced by fakes (no TensorFlow): claim, record, finish, cancel, fencing."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from ganctl.jobs import artifacts, sample, train


def _job(store, epochs=2):
    spec = {"arch": "dcgan", "epochs": epochs, "limit": 64}
    return store.create_job("train", spec, total_epochs=epochs)


def _report(epoch, epochs, workdir):
    grid = Path(workdir) / "grids" / f"epoch_{epoch:04d}.png"
    return train.EpochReport(epoch, epochs, 0.7, 0.8 + epoch, 1.5, 100.0, grid, b"png-bytes")


def test_train_completed(tasks, store, home, monkeypatch):
    job = _job(store)
    calls = {}

    def fake_run(spec, workdir, hooks):
        calls["workdir"], calls["spec"] = workdir, spec
        for e in (1, 2):
            hooks.on_batch(e, 1, 1)
            assert hooks.should_stop() is False
            assert hooks.on_epoch(_report(e, 2, workdir)) is not False
        f = Path(workdir) / "export" / "generator.h5"
        f.parent.mkdir(parents=True)
        f.write_bytes(b"weights")
        return train.TrainResult(2, 0.7, 2.8, "fp32", 0, [artifacts.ArtifactFile("h5-generator", str(f), *artifacts.digest(f))],
                                 {"source": "/pics", "images": 96, "image_shape": [64, 64, 3], "skipped": 1,
                                  "cache_hit": False})

    monkeypatch.setattr(train, "run", fake_run)
    tasks.train_job.apply(args=[job.id])
    done = store.get_job(job.id)
    assert done.status == "completed", done.error
    assert done.attempts == 1 and done.gpu == "cpu" and done.worker
    assert done.result["epochs_done"] == 2 and done.result["precision"] == "fp32"
    assert done.result["data"]["images"] == 96 and done.result["data"]["skipped"] == 1  # what status shows
    assert calls["workdir"] == home / "artifacts" / job.id
    assert calls["spec"].arch == "dcgan" and calls["spec"].limit == 64
    assert [(e.epoch, e.g_loss) for e in store.epochs(job.id)] == [(1, 1.8), (2, 2.8)]
    assert [g.epoch for g in store.grids(job.id)] == [1, 2]
    [art] = store.artifacts(job.id)
    assert art.format == "h5-generator" and art.bytes == 7


def test_gpu_comes_from_cuda_visible_devices(tasks, store, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    monkeypatch.setattr(train, "run", lambda spec, workdir, hooks: train.TrainResult(2, 0, 0, "fp32", 0, []))
    job = _job(store)
    tasks.train_job.apply(args=[job.id])
    assert store.get_job(job.id).gpu == "3"


@pytest.mark.parametrize(
    "exc, error",
    [
        (train.NonFiniteLoss("non-finite loss at epoch 1 (d_loss=nan, g_loss=1.0): lower the learning rates"),
         "non-finite loss at epoch 1 (d_loss=nan, g_loss=1.0): lower the learning rates"),
        (RuntimeError("boom\nwith a second line"), "RuntimeError: boom with a second line"),
        (FileNotFoundError("no data"), "FileNotFoundError: no data"),
    ],
)
def test_train_failures_are_one_line(tasks, store, monkeypatch, exc, error):
    def fake_run(spec, workdir, hooks):
        raise exc

    monkeypatch.setattr(train, "run", fake_run)
    job = _job(store)
    tasks.train_job.apply(args=[job.id])
    done = store.get_job(job.id)
    assert done.status == "failed" and done.error == error


def test_train_cancelled(tasks, store, monkeypatch):
    job = _job(store, epochs=5)

    def fake_run(spec, workdir, hooks):
        store.request_cancel(job.id)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if hooks.should_stop():
                raise train.Cancelled("cancelled during epoch 1")
            time.sleep(0.05)
        raise AssertionError("should_stop never said so")

    monkeypatch.setattr(train, "run", fake_run)
    tasks.train_job.apply(args=[job.id])
    done = store.get_job(job.id)
    assert done.status == "cancelled" and "cancelled during epoch 1" in done.error


def test_fenced_worker_stops_writing(tasks, store, monkeypatch):
    """Another worker claims the job (its lease expired): our next epoch is refused, we stop quietly."""
    job = _job(store)

    def fake_run(spec, workdir, hooks):
        assert hooks.on_epoch(_report(1, 2, workdir)) is not False
        time.sleep(0.01)
        assert store.claim(job.id, worker="thief", gpu="1", lease_s=0.0) is not None
        if hooks.on_epoch(_report(2, 2, workdir)) is False:
            raise train.Fenced("lost the job at epoch 2")
        raise AssertionError("not fenced")

    monkeypatch.setattr(train, "run", fake_run)
    tasks.train_job.apply(args=[job.id])
    now = store.get_job(job.id)
    assert now.status == "running" and now.worker == "thief" and now.attempts == 2
    assert [e.epoch for e in store.epochs(job.id)] == [1]


def test_lost_heartbeat_stops_training_without_finishing(tasks, store, monkeypatch):
    monkeypatch.setenv("GANCTL_HEARTBEAT_EVERY", "0")
    from ganctl.jobs.config import get_settings

    get_settings.cache_clear()
    job = _job(store)

    def fake_run(spec, workdir, hooks):
        hooks.on_batch(1, 1, 10)
        assert hooks.should_stop() is False
        time.sleep(0.01)
        store.claim(job.id, worker="thief", gpu="1", lease_s=0.0)
        hooks.on_batch(1, 2, 10)
        if hooks.should_stop():
            raise train.Cancelled("stopped")
        raise AssertionError("heartbeat refusal did not stop training")

    monkeypatch.setattr(train, "run", fake_run)
    tasks.train_job.apply(args=[job.id])
    now = store.get_job(job.id)
    assert now.status == "running" and now.worker == "thief"


def test_unclaimable_jobs_are_left_alone(tasks, store, monkeypatch):
    ran = []
    monkeypatch.setattr(train, "run", lambda *a: ran.append(a))
    job = _job(store)
    store.request_cancel(job.id)  # queued -> cancelled
    tasks.train_job.apply(args=[job.id])
    tasks.train_job.apply(args=["00000000-0000-4000-8000-000000000000"])  # deleted / never existed
    assert ran == [] and store.get_job(job.id).status == "cancelled"


def test_sample_task(tasks, store, home, monkeypatch):
    from ganctl.jobs.store.repo import ArtifactRow

    parent = _job(store)
    claimed = store.claim(parent.id, worker="w", gpu="cpu", lease_s=60)
    assert store.record_artifacts(parent.id, claimed.attempts,
                                  [ArtifactRow("h5-generator", "/x/generator.h5", 1, "b" * 64)])
    store.finish(parent.id, claimed.attempts, "completed")
    child = store.create_job("sample", {"n": 3, "seed": 5, "format": "h5"}, parent_id=parent.id)
    seen = {}

    def fake_sample_to(spec, train_workdir, outdir, n, seed, fmt, expected_sha256, truncation=None,
                       interpolate=None):
        seen.update(spec=spec, train_workdir=train_workdir, n=n, seed=seed, fmt=fmt, expected=expected_sha256,
                    truncation=truncation, interpolate=interpolate)
        (outdir / "images").mkdir(parents=True)
        files = []
        for i in range(n):
            f = outdir / "images" / f"sample_{i:04d}.png"
            f.write_bytes(b"png%d" % i)
            files.append(f)
        (outdir / "grid.png").write_bytes(b"grid")
        return sample.SampleResult(outdir / "grid.png", files)

    monkeypatch.setattr(sample, "sample_to", fake_sample_to)
    tasks.sample_job.apply(args=[child.id])
    done = store.get_job(child.id)
    assert done.status == "completed", done.error
    out = home / "artifacts" / child.id
    assert done.result["grid"] == str(out / "grid.png") and len(done.result["files"]) == 3
    assert seen["train_workdir"] == home / "artifacts" / parent.id
    assert seen["expected"] == {"h5-generator": "b" * 64} and (seen["n"], seen["seed"], seen["fmt"]) == (3, 5, "h5")
    assert (seen["truncation"], seen["interpolate"]) == (None, None)
    arts = {a.format: a for a in store.artifacts(child.id)}
    assert set(arts) == {"sample-grid", "sample-dir"}
    assert arts["sample-grid"].sha256 == artifacts.digest(out / "grid.png")[1]
    assert arts["sample-dir"].path == str(out / "images") and arts["sample-dir"].bytes == sum(
        len(b"png%d" % i) for i in range(3))


def test_sample_task_failure(tasks, store, monkeypatch):
    parent = _job(store)
    child = store.create_job("sample", {"n": 3, "seed": None, "format": "h5"}, parent_id=parent.id)

    def broken(*a, **k):
        raise artifacts.ArtifactError("generator.h5: sha256 mismatch")

    monkeypatch.setattr(sample, "sample_to", broken)
    tasks.sample_job.apply(args=[child.id])
    done = store.get_job(child.id)
    assert done.status == "failed" and done.error == "ArtifactError: generator.h5: sha256 mismatch"


def _trained_parent(store):
    from ganctl.jobs.store.repo import ArtifactRow

    parent = _job(store)
    claimed = store.claim(parent.id, worker="w", gpu="cpu", lease_s=60)
    assert store.record_artifacts(parent.id, claimed.attempts,
                                  [ArtifactRow("h5-generator", "/x/generator.h5", 1, "b" * 64)])
    store.finish(parent.id, claimed.attempts, "completed")
    return parent


def test_sample_task_passes_truncation_and_interpolate_and_records_the_walk(tasks, store, home, monkeypatch):
    """Glue only (the sampling itself on a real generator: tests/jobs/test_sample_options.py)."""
    child = store.create_job("sample", {"n": 1, "seed": 1, "format": "h5", "truncation": 0.5, "interpolate": 3},
                             parent_id=_trained_parent(store).id)
    seen = {}

    def fake(spec, train_workdir, outdir, n, seed, fmt, expected_sha256, truncation=None, interpolate=None):
        seen.update(truncation=truncation, interpolate=interpolate)
        (outdir / "images").mkdir(parents=True)
        (outdir / "images" / "sample_0000.png").write_bytes(b"png")
        (outdir / "grid.png").write_bytes(b"grid")
        (outdir / "walk.gif").write_bytes(b"gif")
        return sample.SampleResult(outdir / "grid.png", [outdir / "images" / "sample_0000.png"], outdir / "walk.gif")

    monkeypatch.setattr(sample, "sample_to", fake)
    tasks.sample_job.apply(args=[child.id])
    done = store.get_job(child.id)
    assert done.status == "completed", done.error
    assert seen == {"truncation": 0.5, "interpolate": 3}
    walk = home / "artifacts" / child.id / "walk.gif"
    assert done.result["walk"] == str(walk)
    arts = {a.format: a for a in store.artifacts(child.id)}
    assert arts["sample-walk"].path == str(walk) and arts["sample-walk"].sha256 == artifacts.digest(walk)[1]


def _slow_sample_to(seconds, during=None):
    def fake(spec, train_workdir, outdir, n, seed, fmt, expected_sha256, **_):
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(0.02)
            if during is not None:
                during()
        (outdir / "images").mkdir(parents=True)
        (outdir / "images" / "sample_0000.png").write_bytes(b"png")
        (outdir / "grid.png").write_bytes(b"grid")
        return sample.SampleResult(outdir / "grid.png", [outdir / "images" / "sample_0000.png"])

    return fake


def test_sample_task_holds_its_lease(tasks, store, monkeypatch):
    """A sampling job longer than the lease keeps it: the reaper finds nothing stale meanwhile."""
    monkeypatch.setenv("GANCTL_HEARTBEAT_EVERY", "0.1")
    from ganctl.jobs.config import get_settings

    get_settings.cache_clear()
    child = store.create_job("sample", {"n": 1, "seed": 1, "format": "h5"}, parent_id=_trained_parent(store).id)
    stale = []
    monkeypatch.setattr(sample, "sample_to", _slow_sample_to(1.5, lambda: stale.extend(store.requeue_stale(0.5))))
    tasks.sample_job.apply(args=[child.id])
    done = store.get_job(child.id)
    assert stale == [] and done.status == "completed" and done.attempts == 1, done.error


def test_stale_sample_task_writes_nothing(tasks, store, monkeypatch):
    """The sample task lost its job (another worker claimed it): its artifacts and result are refused."""
    child = store.create_job("sample", {"n": 1, "seed": 1, "format": "h5"}, parent_id=_trained_parent(store).id)
    stolen = []

    def steal():
        if not stolen:
            stolen.append(store.claim(child.id, worker="thief", gpu="1", lease_s=0.0))

    monkeypatch.setattr(sample, "sample_to", _slow_sample_to(0.1, steal))
    tasks.sample_job.apply(args=[child.id])
    now = store.get_job(child.id)
    assert stolen[0].attempts == 2 and now.status == "running" and now.worker == "thief"
    assert store.artifacts(child.id) == [] and now.result is None
