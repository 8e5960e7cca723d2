"""Extend and fork through a real `ganctl worker --cpu` on the embedded broker, the CLI as a user
runs it, real TensorFlow training on 256 Fashion-MNIST trousers (fp32, so a straight run and an
extended one agree to float tolerance)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from ganctl_procs import WorkerProcess, ganctl, ganctl_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = ("submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "256", "--batch-size", "64",
        "--precision", "fp32", "--eval-every", "1", "--eval-n", "50")


def _store(home: Path):
    from ganctl.jobs.store.repo import Store

    return Store(f"sqlite:///{home / 'ganctl.db'}")


def _ckpt(home: Path, job_id: str, epoch: int) -> list[np.ndarray]:
    with np.load(home / "artifacts" / job_id / "checkpoints" / f"ckpt-{epoch:06d}.npz") as npz:
        return [npz[f"v{i}"] for i in range(len(npz.files) - 1)]


def _one_line_refusal(env, *args) -> str:
    proc = ganctl(env, *args, check=False)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, shared_cache_dir):
    """The first test's set-up (the embedded SQLite store and broker, one `ganctl worker --cpu`) and
    its first job, a straight 2-epoch run of BASE: (home, env, worker, job id). Module-scoped so the
    Redis test compares against this run's losses instead of training the same 2 epochs again (the
    evaluation after each epoch does not touch the training: same seed, same losses)."""
    tmp = tmp_path_factory.mktemp("experiments")
    home = tmp / "home"
    env = ganctl_env(home, GANCTL_CACHE_DIR=str(shared_cache_dir))
    worker = WorkerProcess(env, tmp / "worker-0.log", ("--cpu", "--reap-every", "5"))
    try:
        worker.wait_ready()
        short = ganctl(env, *BASE, "--epochs", "2", "--tag", "exp", "--wait", timeout=600).stdout.split()[0]
        yield home, env, worker, short
    finally:
        worker.stop()


def test_extend_equals_a_straight_run_and_fork_changes_the_lr(embedded):
    home, env, worker, short = embedded
    straight = ganctl(env, *BASE, "--epochs", "4", "--tag", "straight", "--wait", timeout=600).stdout.split()[0]
    with _store(home) as store:
        before = {a.format: a.sha256 for a in store.artifacts(short)}

    # Refusals: one line, exit 2, nothing queued.
    with _store(home) as store:
        count = len(store.list_jobs(limit=0))
    assert "--arch" in _one_line_refusal(env, "fork", short[:8], "--arch", "upsample")
    assert "no checkpoint of epoch 7" in _one_line_refusal(env, "fork", short[:8], "--epoch", "7", "--epochs", "1")
    assert "spectral norm" in _one_line_refusal(env, "fork", short[:8], "--epoch", "1", "--spectral-norm")
    assert "no epochs left of its planned" in _one_line_refusal(env, "fork", short[:8])  # from its last epoch
    with _store(home) as store:
        assert len(store.list_jobs(limit=0)) == count

    proc = ganctl(env, "extend", short[:8], "--epochs", "2", "--wait", timeout=600, check=False)
    assert proc.returncode == 0, (proc.stdout, proc.stderr[-3000:], worker.output()[-4000:])
    extended = proc.stdout.split()[0]
    assert extended != short
    with _store(home) as store:
        ext, ref = store.epochs(extended), store.epochs(straight)
        assert [e.epoch for e in store.epochs(short)] == [1, 2]  # the parent's history untouched
        assert {a.format: a.sha256 for a in store.artifacts(short)} == before
        assert [e.epoch for e in ext] == [3, 4] and [e.epoch for e in ref] == [1, 2, 3, 4]
        np.testing.assert_allclose([(e.d_loss, e.g_loss) for e in ext],
                                   [(e.d_loss, e.g_loss) for e in ref[2:]], rtol=1e-5, atol=1e-6)
        assert [m.epoch for m in store.metrics(extended)] == [3, 4]
        assert store.tags_of(extended) == ["exp"]  # a child keeps its parent's tags
    for a, b in zip(_ckpt(home, extended, 4), _ckpt(home, straight, 4), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    status = ganctl(env, "status", extended[:8]).stdout
    assert re.search(rf"^lineage\s+extends {short[:8]} at epoch 2", status, re.M), status
    assert re.search(r"^epochs\s+4/4", status, re.M), status
    assert re.search(r"^best epoch\s+[34] \(FD ", status, re.M), status
    parent_status = ganctl(env, "status", short[:8]).stdout
    assert re.search(rf"^carried on\s+extend {extended[:8]} from epoch 2 \(completed\)", parent_status, re.M)
    assert re.search(r"^tags\s+exp$", parent_status, re.M), parent_status
    page = Path(ganctl(env, "report", extended[:8]).stdout.strip()).read_text()
    assert f"<tr><th>lineage</th><td>extends {short[:8]} at epoch 2" in page

    forked = json.loads(ganctl(env, "fork", short[:8], "--epoch", "1", "--lr-g", "1e-4", "--json",
                               "--wait", timeout=600).stdout)
    assert forked["status"] == "completed" and forked["spec"]["lr_g"] == 1e-4
    assert [e["epoch"] for e in forked["epochs"]] == [2]
    with _store(home) as store:
        link = store.link_of(forked["id"])
        assert (link.parent_id, link.kind, link.start_epoch) == (short, "fork", 1)
        # Same start, same batches, another generator learning rate: another epoch 2.
        assert store.epochs(forked["id"])[0].g_loss != pytest.approx(store.epochs(short)[1].g_loss, rel=1e-4)

    listed = json.loads(ganctl(env, "list", "--tag", "straight", "--json").stdout)
    assert [j["id"] for j in listed] == [straight]
    check_best_epoch_sampling(home, env, straight)
    assert worker.stop() == 0


def _sample_pixels(env, job_id: str, epoch: str, check: bool = True):
    from PIL import Image

    proc = ganctl(env, "sample", job_id[:8], "--epoch", epoch, "--n", "8", "--seed", "5", timeout=300, check=check)
    if not check:
        return proc
    images = Path(re.search(r"^images\s+(\S+)", proc.stdout, re.M).group(1))
    return proc.stdout, np.stack([np.asarray(Image.open(p)) for p in sorted(images.glob("*.png"))])


def check_best_epoch_sampling(home: Path, env: dict, job_id: str) -> None:
    """--epoch best loads the checkpoint of the lowest-FD epoch: the same pixels as --epoch N for
    that N, other pixels than another epoch's; a tampered checkpoint is refused by its sha256."""
    with _store(home) as store:
        fds = {m.epoch: m.values["fd"] for m in store.metrics(job_id) if m.epoch is not None}
        assert sorted(fds) == [1, 2, 3, 4]
        assert {a.format for a in store.artifacts(job_id)} >= {f"checkpoint-{e:06d}" for e in fds}
    best = min(fds, key=fds.get)
    other = 1 if best != 1 else 2
    assert re.search(rf"^best epoch\s+{best} \(FD {fds[best]:.2f}\)", ganctl(env, "status", job_id).stdout, re.M)
    out, by_best = _sample_pixels(env, job_id, "best")
    assert re.search(rf"^epoch\s+{best} \(checkpoint of {job_id[:8]}, its best\)", out, re.M), out
    _, by_number = _sample_pixels(env, job_id, str(best))
    _, by_other = _sample_pixels(env, job_id, str(other))
    assert by_best.shape == (8, 28, 28) and np.array_equal(by_best, by_number)
    assert not np.array_equal(by_best, by_other)
    ckpt = home / "artifacts" / job_id / "checkpoints" / f"ckpt-{other:06d}.npz"
    ckpt.write_bytes(ckpt.read_bytes() + b"x")
    proc = _sample_pixels(env, job_id, str(other), check=False)
    assert proc.returncode == 1 and "sha256" in proc.stderr, (proc.stdout, proc.stderr)
    assert "no recorded checkpoint of epoch 9" in _one_line_refusal(env, "sample", job_id[:8], "--epoch", "9")


def test_extend_through_redis(tmp_path, redis_url, ganctl_worker, shared_cache_dir, embedded):
    """The same continuation with Redis as the broker (the production set-up): a 1-epoch job
    extended by one epoch carries on at epoch 2 from its checkpoint, losses equal to a straight
    2-epoch run of the same seed (`embedded`'s first job)."""
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_CACHE_DIR=str(shared_cache_dir), GANCTL_BROKER_URL=redis_url)
    worker = ganctl_worker(env, "--cpu", "--queues", "train", "--reap-every", "5")  # nothing here samples
    worker.wait_ready(("cpu-train",))
    base = BASE[:-4]  # no evaluation: this checks the continuation only
    short = ganctl(env, *base, "--epochs", "1", "--wait", timeout=600).stdout.split()[0]
    extended = json.loads(ganctl(env, "extend", short[:8], "--epochs", "1", "--json", "--wait", timeout=600).stdout)
    assert extended["status"] == "completed" and [e["epoch"] for e in extended["epochs"]] == [2]
    straight_home, _, _, straight = embedded
    with _store(straight_home) as store:
        ref = store.epochs(straight)[1]
        assert ref.epoch == 2
        np.testing.assert_allclose([extended["epochs"][0]["d_loss"], extended["epochs"][0]["g_loss"]],
                                   [ref.d_loss, ref.g_loss], rtol=1e-5, atol=1e-6)
    assert re.search(rf"^lineage\s+extends {short[:8]} at epoch 1", ganctl(env, "status", extended["id"][:8]).stdout,
                     re.M)
    assert worker.stop() == 0
