"""The worker registry as a user sees it: `ganctl workers`, the terminal of `ganctl worker`, and
`submit --wait` telling that nobody listens. Real `ganctl worker --cpu` processes on the embedded
SQLite store and broker; real TensorFlow on 128 Fashion-MNIST trousers."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from ganctl_procs import child_pid, ganctl, ganctl_argv, ganctl_env, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _workers(env) -> list[dict]:
    return json.loads(ganctl(env, "workers", "--json").stdout)


def test_workers_lists_the_live_processes_and_a_duplicate_launcher_is_refused(tmp_path, ganctl_worker):
    env = ganctl_env(tmp_path / "home", GANCTL_HEARTBEAT_EVERY="1")
    assert ganctl(env, "workers").stdout.strip() == "no live workers: start one with `ganctl worker`"
    w = ganctl_worker(env, "--cpu", "--reap-every", "5")
    w.wait_ready()
    rows = wait_until(lambda: (r := _workers(env)) and len(r) == 2 and r, 30, "two registered workers")
    by_name = {r["name"].split("@")[0]: r for r in rows}
    assert set(by_name) == {"cpu-train", "cpu-sample"}
    assert by_name["cpu-train"]["pid"] == child_pid(w, "cpu-train")
    assert by_name["cpu-sample"]["queues"] == ["sample"] and by_name["cpu-train"]["queues"] == ["train"]
    assert {r["device"] for r in rows} == {"cpu"} and {r["launcher_pid"] for r in rows} == {w.proc.pid}
    assert all(r["current_job"] is None for r in rows)
    table = ganctl(env, "workers").stdout
    assert re.search(rf"cpu-train\s+\S+\s+{by_name['cpu-train']['pid']}\s+cpu\s+train\s", table), table

    # The terminal: the launcher's own lines only; Celery's banner and warnings are in the log files.
    terminal = w.terminal()
    assert "-------------- " not in terminal and "[tasks]" not in terminal and "Warning" not in terminal
    assert len(re.findall(r"^started cpu-(train|sample) .* log \S+\.log$", terminal, re.M)) == 2, terminal
    assert "cpu-train@" in w.output() and "ready." in w.output()  # ...which output() reads

    # A second launcher for the same device on this host: one line, exit 2, nothing started.
    again = ganctl(env, "worker", "--cpu", "--queues", "sample", check=False, timeout=60)
    assert again.returncode == 2
    assert re.fullmatch(rf"error: a ganctl worker already serves cpu on this host \(pid {w.proc.pid}, "
                        r"started [0-9-]+ [0-9:]+\); stop it first or pass --allow-duplicate\n", again.stderr), again.stderr
    assert "started" not in again.stdout
    assert len(_workers(env)) == 2
    # ...unless asked for explicitly.
    dup = ganctl_worker(env, "--cpu", "--queues", "sample", "--allow-duplicate", "--reap-every", "0")
    dup.wait_ready(("cpu-sample",))
    wait_until(lambda: len(_workers(env)) == 3, 30, "the duplicate's row")
    assert dup.stop() == 0

    assert w.stop() == 0
    assert _workers(env) == []  # a clean exit removes its rows


def test_submit_wait_says_nobody_listens_then_a_worker_comes(tmp_path, ganctl_worker):
    env = ganctl_env(tmp_path / "home", GANCTL_HEARTBEAT_EVERY="1")
    err = tmp_path / "submit.err"
    with open(err, "w") as fh:
        sub = subprocess.Popen([*ganctl_argv(), "submit", "--arch", "dcgan", "--classes", "trouser", "--limit",
                                "128", "--epochs", "1", "--batch-size", "64", "--wait"],
                               env=env, stdout=subprocess.PIPE, stderr=fh, text=True)
    try:
        note = wait_until(lambda: re.search(r"^note: .*$", err.read_text(), re.M), 60, "the no-worker note")
        assert note.group(0).startswith("note: no live worker listens on queue 'train'; start one with "
                                        "`ganctl worker` (still waiting for job "), note.group(0)
        time.sleep(1.5)
        assert sub.poll() is None  # it keeps waiting
        w = ganctl_worker(env, "--cpu", "--queues", "train", "--reap-every", "5")
        out, _ = sub.communicate(timeout=300)
    finally:
        sub.kill()
    assert sub.returncode == 0, err.read_text()
    text = err.read_text()
    assert text.count("no live worker listens") == 1, text
    job = out.strip()
    assert f"job {job[:8]} completed" in text
    terminal = wait_until(lambda: (t := w.terminal()) and "completed" in t and t, 30, "the job's end line")
    assert re.search(rf"^cpu-train\s+job {job[:8]} train: running \(attempt 1 of 3\)$", terminal, re.M), terminal
    assert re.search(rf"^cpu-train\s+job {job[:8]} train: completed$", terminal, re.M), terminal
