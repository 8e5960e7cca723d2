"""Artifacts in an S3-compatible bucket (GANCTL_ARTIFACTS_URL): a real moto server on loopback
(`moto_server`, from PyPI), real redis-server, real `ganctl worker` processes, real TensorFlow
training on 256 Fashion-MNIST trousers. Each "host" is a worker with its own empty
GANCTL_ARTIFACTS_DIR; only the bucket, the broker and the store are shared.
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faults import TRAIN_ONLY, kill, logs, open_store, rel_env, submit, wait_status
from ganctl_procs import child_pid, free_port, ganctl, wait_until

boto3 = pytest.importorskip("boto3")
KEYS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _moto(tmp_path, **env):
    pytest.importorskip("moto.server", reason="pip install 'moto[server]' (the test extra)")
    port = free_port()
    log = open(tmp_path / f"moto-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT,
                            env={**__import__("os").environ, **env})
    url = f"http://127.0.0.1:{port}"
    client = boto3.client("s3", endpoint_url=url, **{k.lower(): v for k, v in KEYS.items() if "KEY" in k},
                          region_name="us-east-1")
    deadline = time.monotonic() + 30
    while True:
        try:
            client.list_buckets()
            break
        except Exception:  # noqa: BLE001 - not listening yet (or, with auth on, answering 403)
            if env or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    return proc, url, client


@pytest.fixture
def s3(tmp_path):
    """(endpoint url, boto3 client) of a moto server with a bucket "ganctl"; stopped after."""
    proc, url, client = _moto(tmp_path)
    client.create_bucket(Bucket="ganctl")
    yield url, client
    proc.terminate()
    proc.wait(10)


def _env(home, redis_url, endpoint, local, **extra):
    return rel_env(home, redis_url, GANCTL_ARTIFACTS_URL="s3://ganctl/runs", GANCTL_S3_ENDPOINT_URL=endpoint,
                   GANCTL_ARTIFACTS_DIR=str(local), GANCTL_VISIBILITY_TIMEOUT="4", **KEYS, **extra)


def _marked(client, job_id) -> list[int]:
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="ganctl", Prefix=f"runs/{job_id}/checkpoints/")
            .get("Contents", [])]
    return sorted(int(k.rsplit("ckpt-", 1)[1][:6]) for k in keys if k.endswith(".npz.sha256"))


@pytest.mark.slow
@pytest.mark.integration
def test_resume_on_another_host_then_sample_from_a_third(tmp_path, redis_url, ganctl_worker, s3, ledger):
    endpoint, client = s3
    home = tmp_path / "home"
    env_a = _env(home, redis_url, endpoint, tmp_path / "host-a")
    first = ganctl_worker(env_a, *TRAIN_ONLY)
    first.wait_ready(("cpu-train",))
    job_id = submit(env_a, epochs=5)
    with open_store(env_a) as store:
        wait_until(lambda: 2 in _marked(client, job_id), 240, "checkpoint 2 in the bucket",
                   context=lambda: logs(first))
        kill(child_pid(first), signal.SIGKILL)
        ledger.fault("kill -9 during epoch 3; the first host's local folder deleted")
        first.proc.wait(60)
        kept = _marked(client, job_id)
        shutil.rmtree(tmp_path / "host-a")  # host B has no access to host A's files
        second = ganctl_worker(_env(home, redis_url, endpoint, tmp_path / "host-b"), *TRAIN_ONLY)
        job = wait_status(store, job_id, ("completed", "failed", "cancelled"), 300,
                          context=lambda: logs(first, second))
        assert job.status == "completed", (job.error, logs(second))
        assert ledger.epochs(store, job_id, 5) == [1, 2, 3, 4, 5]
        assert job.result["resumed_from"] == max(kept), (kept, job.result)
        rows = {a.format: a for a in store.artifacts(job_id)}
        assert rows["h5-generator"].path == f"s3://ganctl/runs/{job_id}/export/generator.h5"
        ledger.jobs_completed += 1
    assert second.stop() == 0
    grids = ganctl(env_a, "grids", job_id[:8]).stdout.split()
    assert grids == [f"s3://ganctl/runs/{job_id}/grids/epoch_{e:04d}.png" for e in range(1, 6)], grids
    assert "report.html" in ganctl(env_a, "report", job_id[:8]).stdout

    # A third host samples: it downloads the export, verifies it, and uploads the sample.
    env_c = _env(home, redis_url, endpoint, tmp_path / "host-c")
    third = ganctl_worker(env_c, "--cpu", "--queues", "sample", "--reap-every", "1")
    third.wait_ready(("cpu-sample",))
    out = tmp_path / "out"
    shown = ganctl(env_c, "sample", job_id[:8], "--n", "6", "--out", str(out), timeout=300).stdout
    assert f"grid    {out / 'grid.png'}" in shown and "(6 PNG files)" in shown, shown
    assert (out / "grid.png").stat().st_size > 0 and len(list((out / "images").glob("*.png"))) == 6

    # ... and evaluates it: the export downloaded and verified the same way, the figures on the job.
    scored = ganctl(env_c, "eval", job_id[:8], "--n", "200", timeout=300).stdout
    assert "fmnist-cnn-v1" in scored and re.search(r"^FD\s+\d", scored, re.M), scored

    # A tampered generator in the bucket is refused by its sha256, in one line.
    key = f"runs/{job_id}/export/generator.h5"
    body = bytearray(client.get_object(Bucket="ganctl", Key=key)["Body"].read())
    body[-100] ^= 0xFF
    client.put_object(Bucket="ganctl", Key=key, Body=bytes(body))
    ledger.fault("one byte of generator.h5 flipped in the bucket")
    bad = ganctl(env_c, "sample", job_id[:8], "--n", "2", timeout=300, check=False)
    assert bad.returncode != 0
    assert "fails its sha256 check" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    ledger.jobs_failed_as_expected += 1
    assert third.stop() == 0


def _refused(env, *args) -> str:
    proc = ganctl(env, *args, timeout=60, check=False)
    assert proc.returncode != 0, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _nothing_queued(env) -> None:
    assert ganctl(env, "list", "--json").stdout.strip() in ("[]", "")


def test_unreachable_endpoint_missing_bucket_bad_credentials_are_one_line(tmp_path, s3):
    endpoint, _ = s3
    home = tmp_path / "home"
    base = dict(GANCTL_ARTIFACTS_DIR=str(tmp_path / "local"), **KEYS)
    submit_args = ("submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "64", "--epochs", "1")

    closed = f"http://127.0.0.1:{free_port()}"
    env = rel_env(home, None, GANCTL_ARTIFACTS_URL="s3://ganctl/runs", GANCTL_S3_ENDPOINT_URL=closed, **base)
    t0 = time.monotonic()
    line = _refused(env, *submit_args)
    assert line == f"error: object store {closed} unreachable (reaching s3://ganctl)", line
    assert time.monotonic() - t0 < 30
    assert "unreachable" in _refused(env, "worker", "--cpu")
    _nothing_queued(env)

    env = rel_env(home, None, GANCTL_ARTIFACTS_URL="s3://no-such-bucket/x", GANCTL_S3_ENDPOINT_URL=endpoint, **base)
    missing = f"error: bucket s3://no-such-bucket does not exist on {endpoint}"
    assert _refused(env, *submit_args) == missing
    assert _refused(env, *submit_args, "--tag", "x") == missing  # tagged jobs and sweeps check it too
    assert _refused(env, "sweep", *submit_args[1:], "--eval-every", "1", "--keep", "1", "--set", "lr_g=1e-4,2e-4") \
        == missing
    _nothing_queued(env)

    # A server that checks keys (moto with IAM auth from the first request) refuses unknown ones.
    proc, strict, _ = _moto(tmp_path, INITIAL_NO_AUTH_ACTION_COUNT="0")
    try:
        wait_until(lambda: _port_open(strict), 30, "the strict moto server")
        env = rel_env(home, None, GANCTL_ARTIFACTS_URL="s3://ganctl/runs", GANCTL_S3_ENDPOINT_URL=strict, **base)
        line = _refused(env, *submit_args)
        assert line.startswith(f"error: credentials refused by object store {strict} for s3://ganctl"), line
        _nothing_queued(env)
    finally:
        proc.terminate()
        proc.wait(10)


def _port_open(url: str) -> bool:
    import socket

    host, port = url.rsplit("//", 1)[1].split(":")
    with socket.socket() as s:
        return s.connect_ex((host, int(port))) == 0


def test_only_whole_verified_sets_are_read(tmp_path, s3, monkeypatch):
    """A checkpoint counts only with its marker and a matching sha256 (else the previous one);
    the last `keep` are kept, and pinned (evaluated) epochs beyond them; an export without its
    manifest is refused in one line."""
    import numpy as np

    from ganctl.jobs.mirror import Mirror
    from ganctl.jobs.objects import Bucket, ObjectStoreError

    endpoint, client = s3
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    job_id = "0b7c4d7e-9a43-4c51-8f0e-3d2a1c9b8e70"
    bucket = Bucket("s3://ganctl/runs", endpoint, "us-east-1")
    writer = Mirror(bucket, job_id, tmp_path / "a" / job_id, pinned=lambda e: e == 1)
    for epoch in range(1, 6):
        path = writer.folder.checkpoints / f"ckpt-{epoch:06d}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, epoch=np.int64(epoch))
        writer.on_saved("checkpoint", path)
    assert writer.marked_epochs() == [1, 3, 4, 5]  # 1: an evaluated epoch (fork --epoch 1, --epoch best)
    # Epoch 6 uploaded but its marker never was (killed in between): not trusted.
    client.put_object(Bucket="ganctl", Key=f"runs/{job_id}/checkpoints/ckpt-000006.npz", Body=b"half")
    # Epoch 5 tampered after its marker: refused by sha256, epoch 4 is the one resumed from.
    client.put_object(Bucket="ganctl", Key=f"runs/{job_id}/checkpoints/ckpt-000005.npz", Body=b"evil")
    reader = Mirror(bucket, job_id, tmp_path / "b" / job_id)
    assert reader.pull_checkpoint() == 4
    assert sorted(p.name for p in reader.folder.checkpoints.iterdir()) == ["ckpt-000004.npz"]
    with np.load(reader.folder.checkpoints / "ckpt-000004.npz") as npz:
        assert int(npz["epoch"]) == 4

    export = writer.folder.export
    export.mkdir(parents=True)
    (export / "generator.h5").write_bytes(b"weights")
    bucket.upload(job_id, "export/generator.h5", export / "generator.h5")  # no manifest.json yet
    with pytest.raises(ObjectStoreError, match=r"export has no manifest.json \(missing or unfinished upload\)"):
        reader.pull_export()


def test_a_bad_url_is_one_line(tmp_path):
    env = rel_env(tmp_path / "home", None, GANCTL_ARTIFACTS_URL="ftp://x/y", GANCTL_ARTIFACTS_DIR=str(tmp_path / "l"))
    assert _refused(env, "submit", "--arch", "dcgan", "--epochs", "1") == \
        "error: GANCTL_ARTIFACTS_URL 'ftp://x/y' is not s3://bucket[/prefix]"


def test_dashboard_serves_grids_from_the_bucket(tmp_path, s3, monkeypatch):
    """`ganctl ui` on a host without the job's files: the job's grid (recorded as an s3:// object)
    gets an /artifacts/ URL, fetched from the bucket into the local cache; a missing object and a
    `../` path are 404s."""
    from starlette.testclient import TestClient

    from ganctl.jobs import service
    from ganctl.jobs.config import Settings
    from ganctl.jobs.objects import Bucket
    from ganctl.web.app import Config, create_app

    endpoint, client = s3
    for k, v in KEYS.items():
        monkeypatch.setenv(k, v)
    store = service.open_store(Settings(home=tmp_path / "home"))
    job = store.claim(store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1).id,
                      worker="w@h", gpu=None, lease_s=60)
    png = b"\x89PNG grid of epoch 1"
    client.put_object(Bucket="ganctl", Key=f"runs/{job.id}/grids/epoch_0001.png", Body=png)
    store.record_grid(job.id, job.attempts, 1, png, f"s3://ganctl/runs/{job.id}/grids/epoch_0001.png")
    cache = tmp_path / "cache"
    app = TestClient(create_app(Config(store=store, artifacts=cache, token="t", every=0.05,
                                       bucket=Bucket("s3://ganctl/runs", endpoint, "us-east-1"))))
    url = app.get(f"/api/jobs/{job.id}").json()["grids"][0]["url"]
    assert url == f"/artifacts/{job.id}/grids/epoch_0001.png"
    got = app.get(url)
    assert got.status_code == 200 and got.content == png
    assert (cache / job.id / "grids" / "epoch_0001.png").read_bytes() == png  # cached on this host
    assert app.get(f"/artifacts/{job.id}/grids/epoch_0002.png").status_code == 404
    assert app.get(f"/artifacts/{job.id}/%2e%2e/%2e%2e/home/ganctl.db").status_code == 404
