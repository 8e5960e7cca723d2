"""`ganctl worker` planning, supervision and the reaper.

No GPU exists on the machines these tests run on: the GPU pinning is checked on the command
lines and environments that `plan_children` builds (and on a fake `nvidia-smi`), not by running
TensorFlow on a device.
"""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ganctl.worker import launch


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_one_solo_process_per_gpu_plus_a_sampler():
    """No GPU here: we check the argv/env that would pin each child to its GPU."""
    plan = launch.plan_children(["0", "1", "3"], ["train", "sample"], python="/py")
    assert [c.name for c in plan] == ["gpu0@%h", "gpu1@%h", "gpu3@%h", "sample-gpu0@%h"]
    assert [c.device for c in plan] == ["gpu0", "gpu1", "gpu3", "gpu0"]
    assert [c.env["CUDA_VISIBLE_DEVICES"] for c in plan] == ["0", "1", "3", "0"]
    assert all(c.env["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" for c in plan)
    for c in plan:
        assert c.argv[:6] == ["/py", "-m", "celery", "-A", "ganctl.worker.app", "worker"]
        assert _flag(c.argv, "--pool") == "solo"
        assert _flag(c.argv, "-n") == c.name
    assert [_flag(c.argv, "-Q") for c in plan] == ["train", "train", "train", "sample"]
    assert launch.check_plan(plan) == []


def test_cpu_plan_has_a_train_and_a_sample_process():
    plan = launch.plan_children([], ["train", "sample"])
    assert [(c.name, c.queues, c.device) for c in plan] == [
        ("cpu-train@%h", ("train",), "cpu"), ("cpu-sample@%h", ("sample",), "cpu")]
    assert all(c.env["CUDA_VISIBLE_DEVICES"] == "" for c in plan)
    assert plan[0].argv[0] == sys.executable
    assert launch.check_plan(plan) == []


@pytest.mark.parametrize("queues, names", [(["train"], ["gpu0@%h"]), (["sample"], ["sample-gpu0@%h"])])
def test_queue_selection(queues, names):
    assert [c.name for c in launch.plan_children(["0"], queues)] == names


def test_check_plan_catches_two_trainers_on_one_gpu():
    a = launch.plan_children(["0"], ["train"])[0]
    b = launch.ChildSpec("gpu0b@%h", ("train",), "gpu0", a.argv, dict(a.env))
    problems = launch.check_plan([a, b])
    assert any("two training processes" in p for p in problems)
    leaky = launch.ChildSpec("x@%h", ("train",), "cpu", a.argv, {"CUDA_VISIBLE_DEVICES": "0"})
    assert any("CPU child sees" in p for p in launch.check_plan([leaky]))
    wide = launch.ChildSpec("y@%h", ("train",), "gpu0", a.argv, {"CUDA_VISIBLE_DEVICES": "0,1"})
    assert launch.check_plan([wide])


def test_parse_gpus():
    assert launch.parse_gpus("0,1", False, detected=["0", "1"]) == ["0", "1"]
    assert launch.parse_gpus(" 2 ", False, detected=["0", "1", "2"]) == ["2"]
    with pytest.raises(launch.LaunchError, match="--gpus 0: nvidia-smi -L lists no GPU; use --cpu"):
        launch.parse_gpus("0", False, detected=[])  # no gpu0 child training on the CPU
    assert launch.parse_gpus(None, True) == []
    assert launch.parse_gpus(None, False, detected=[]) == []  # default: CPU when no GPU
    assert launch.parse_gpus("all", False, detected=["0", "1"]) == ["0", "1"]
    with pytest.raises(launch.LaunchError, match="lists no GPU"):
        launch.parse_gpus("all", False, detected=[])
    with pytest.raises(launch.LaunchError, match="no GPU 2"):
        launch.parse_gpus("0,2", False, detected=["0", "1"])
    for bad in ("a", "0,,x", "-1", ""):
        with pytest.raises(launch.LaunchError):
            launch.parse_gpus(bad, False)


def test_detect_gpus_reads_nvidia_smi(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA H100 (UUID: GPU-a)'\necho 'GPU 1: NVIDIA H100 (UUID: GPU-b)'\n")
    fake.chmod(0o755)
    assert launch.detect_gpus(str(fake)) == ["0", "1"]
    broken = tmp_path / "broken"
    broken.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    broken.chmod(0o755)
    assert launch.detect_gpus(str(broken)) == []
    assert launch.detect_gpus(str(tmp_path / "missing")) == []


def test_parse_queues():
    assert launch.parse_queues(None) == ["train", "sample"]
    assert launch.parse_queues("sample, train,sample") == ["sample", "train"]
    with pytest.raises(launch.LaunchError):
        launch.parse_queues("eval")


CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    name = sys.argv[1]
    def say(text):  # one write per line: the two children share the parent's stdout
        os.write(1, f"{name} {text}\\n".encode())
    def stop(signum, frame):
        say(f"got {signal.Signals(signum).name}")
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)
    say("up")
    time.sleep(float(sys.argv[2]))
    sys.exit(int(sys.argv[3]))
    """
)

PARENT = textwrap.dedent(
    """
    import sys
    from ganctl.worker.launch import ChildSpec, supervise
    child, sleep_a, rc_a = sys.argv[1], sys.argv[2], sys.argv[3]
    kids = [ChildSpec("a@%h", ("train",), "cpu", [sys.executable, child, "a", sleep_a, rc_a], {}),
            ChildSpec("b@%h", ("sample",), "cpu", [sys.executable, child, "b", "60", "0"], {})]
    sys.exit(supervise(kids, reap_every=None))
    """
)


def _start_parent(tmp_path, sleep_a="60", rc_a="0"):
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    return subprocess.Popen([sys.executable, "-c", PARENT, str(child), sleep_a, rc_a],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(proc, text, timeout=20.0) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if text in seen:
            return seen
    raise AssertionError(f"{text!r} not seen in {seen!r}")


def test_supervisor_forwards_sigterm_and_exits(tmp_path):
    proc = _start_parent(tmp_path)
    try:
        out = _wait_for(proc, "b up")
        out += _wait_for(proc, "a up") if "a up" not in out else ""
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
    finally:
        proc.kill()
    out += rest
    assert proc.returncode == 0, out
    assert "a got SIGTERM" in out and "b got SIGTERM" in out
    assert "warm shutdown" in out
    assert "started a" in out and "device=cpu" in out


def test_supervisor_stops_everything_when_a_child_dies(tmp_path):
    proc = _start_parent(tmp_path, sleep_a="1", rc_a="3")
    try:
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 3, out
    assert "exited with status 3" in out and "b got SIGTERM" in out


class _App:
    """Records what the reaper publishes (the real broker path: tests/reliability/test_broker.py)."""

    def __init__(self):
        self.sent = []
        self.conf = type("Conf", (), {"broker_url": "redis://recorded-only"})()

    def send_task(self, name, args=None, queue=None, **kw):
        self.sent.append((name, tuple(args), queue))


def test_reaper_republishes_stale_and_lost_jobs(store):
    from types import SimpleNamespace

    app = _App()
    lost = store.create_job("sample", {"n": 1}, total_epochs=None)
    dead = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    store.claim(dead.id, worker="w", gpu="0", lease_s=60)
    cfg = SimpleNamespace(heartbeat_lease=0.0, requeue_after=0.0)
    republished: set = set()
    time.sleep(0.01)
    ids = launch.reap_once(store, app, cfg, republished)
    assert set(ids) == {lost.id, dead.id}
    assert ("ganctl.train", (dead.id,), "train") in app.sent
    assert ("ganctl.sample", (lost.id,), "sample") in app.sent
    assert store.get_job(dead.id).status == "queued"
    # A lost message is re-published once per attempt, not every pass.
    app.sent.clear()
    ids = launch.reap_once(store, app, cfg, republished)
    assert lost.id not in ids


def test_worker_command_runs_store_upgrade_then_supervises(cli, home, monkeypatch):
    seen = {}

    def fake_supervise(children, reap_every=None, **kw):
        seen["children"], seen["reap_every"] = children, reap_every
        return 0

    monkeypatch.setattr(launch, "supervise", fake_supervise)
    out = cli("worker", "--cpu", "--queues", "train", "--reap-every", "7")
    assert out.exit_code == 0, out.stderr
    assert [c.name for c in seen["children"]] == ["cpu-train@%h"] and seen["reap_every"] == 7
    assert (home / "ganctl.db").exists()
    assert "broker sqla+sqlite:///" in out.stdout


def _fake_nvidia_smi(folder, gpus: int):
    fake = folder / "nvidia-smi"
    lines = "".join(f"echo 'GPU {i}: NVIDIA H100 (UUID: GPU-{i})'\n" for i in range(gpus))
    fake.write_text(f"#!/bin/sh\n{lines}")
    fake.chmod(0o755)


@pytest.mark.parametrize("gpus", ["0", "all"])
def test_gpus_without_a_gpu_is_one_line_exit_2(cli, tmp_path, monkeypatch, gpus):
    """No GPU here (a fake nvidia-smi listing none): --gpus 0 fails like --gpus all."""
    _fake_nvidia_smi(tmp_path, 0)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    out = cli("worker", "--gpus", gpus, "--concurrency-check")
    assert out.exit_code == 2
    assert out.stderr == f"error: --gpus {gpus}: nvidia-smi -L lists no GPU; use --cpu\n"
    assert out.stdout == ""


def test_gpus_0_with_a_gpu_plans_a_gpu0_child(cli, tmp_path, monkeypatch):
    """A fake nvidia-smi listing one GPU (the GPU itself is mocked: none exists here)."""
    _fake_nvidia_smi(tmp_path, 1)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    out = cli("worker", "--gpus", "0", "--concurrency-check")
    assert out.exit_code == 0, out.stderr
    assert "gpu0" in out.stdout and "CUDA_VISIBLE_DEVICES='0'" in out.stdout
    out = cli("worker", "--gpus", "1", "--concurrency-check")
    assert out.exit_code == 2 and out.stderr == "error: no GPU 1; nvidia-smi -L lists 0\n"


def test_duplicate_is_judged_by_device_and_queue_on_this_host():
    from datetime import datetime, timezone

    from ganctl.jobs.store.workers import WorkerRow

    t0 = datetime(2026, 12, 2, 4, 0, tzinfo=timezone.utc)
    live = [WorkerRow(1, "cpu-train@box", "box", 4321, 4300, "cpu", ("train",), t0, t0)]
    cpu = launch.plan_children([], ["train", "sample"])
    refusal = launch.duplicate_of(cpu, live, "box", alive=lambda pid, since=None: True)
    assert refusal.startswith("a ganctl worker already serves cpu on this host (pid 4300, started ")
    assert refusal.endswith("); stop it first or pass --allow-duplicate")
    assert launch.duplicate_of(launch.plan_children([], ["sample"]), live, "box", alive=lambda *a: True) is None
    assert launch.duplicate_of(cpu, live, "other-host", alive=lambda *a: True) is None
    assert launch.duplicate_of(cpu, live, "box", alive=lambda *a: False) is None  # its process is gone


def test_process_alive_knows_a_reused_pid():
    from datetime import datetime, timedelta, timezone

    import os

    assert launch.process_alive(os.getpid())
    assert launch.process_alive(os.getpid(), datetime.now(timezone.utc))
    # This process started before a registration made an hour ago? No: that row was another process.
    assert not launch.process_alive(os.getpid(), datetime.now(timezone.utc) - timedelta(hours=1))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert not launch.process_alive(dead.pid)
