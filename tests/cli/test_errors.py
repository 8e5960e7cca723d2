"""Bad input: one `error: ...` line on stderr, exit status 2, and nothing queued or written."""
from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from cli_helpers import assert_one_line_error, broker_messages, job_rows, subprocess_env


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--arch", "nope"], "unknown arch 'nope'"),
        (["--classes", "hat"], "unknown class 'hat'"),
        (["--classes", "trouser,11"], "unknown class '11'"),
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "-3"], "--epochs"),
        (["--limit", "0"], "--limit"),
        (["--batch-size", "0"], "--batch-size"),
        (["--lr-g", "0"], "--lr-g"),
        (["--lr-d", "nan"], "--lr-d: Input should be a finite number"),
        (["--label-smoothing", "0.7"], "--label-smoothing"),
        (["--precision", "fp8"], "--precision"),
        (["--split", "validation"], "--split"),
        (["--resize", "pad"], "--resize is for --dataset folder:PATH"),
        (["--classes", ","], "--classes: no class names in ','"),  # not "every class"
        (["--augment", "none,cutout"], "--augment: augmentation none turns it off; it cannot be combined with cutout"),
        (["--tag", ""], "--tag: a tag cannot be empty"),
        (["--epochs", "abc"], "--epochs"),  # a Click type error, also one line
        (["--no-such-flag"], "--no-such-flag"),
    ],
)
def test_submit_bad_input_writes_nothing(cli, home, args, needle):
    result = cli("submit", *args)
    assert_one_line_error(result, needle)
    assert job_rows(home) == []
    assert broker_messages(home) == 0


@pytest.mark.parametrize(
    "command",
    [["status"], ["watch"], ["cancel"], ["sample"], ["status", "--json"]],
)
@pytest.mark.parametrize(
    "job_id, needle",
    [
        ("../../etc", "invalid job id"),
        ("ZZZZ", "invalid job id"),
        ("ab", "too short"),
        ("abcd", "no job"),
        ("00000000-0000-0000-0000-000000000000", "no job"),
    ],
)
def test_bad_ids(cli, home, command, job_id, needle):
    result = cli(command[0], job_id, *command[1:])
    assert_one_line_error(result, needle)
    assert job_rows(home) == []


def test_ambiguous_prefix(cli, home, store):
    spec = {"arch": "dcgan", "epochs": 1}
    store.create_job("train", spec, job_id="abcd0000-0000-4000-8000-000000000001", total_epochs=1)
    store.create_job("train", spec, job_id="abcd1111-0000-4000-8000-000000000002", total_epochs=1)
    result = cli("status", "abcd")
    assert_one_line_error(result, "ambiguous")
    # A longer prefix is unique and works.
    ok = cli("status", "abcd1")
    assert ok.exit_code == 0, ok.stderr
    assert "abcd1111-0000-4000-8000-000000000002" in ok.stdout


def _train_job(store, status="completed", artifacts=("h5-generator", "savedmodel-generator")):
    job = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    from ganctl.jobs.store.repo import ArtifactRow

    if status in ("running", "completed", "failed"):
        job = store.claim(job.id, worker="test", gpu="cpu", lease_s=60)
        if artifacts:  # written by the attempt that holds the job, before it finishes
            assert store.record_artifacts(job.id, job.attempts,
                                          [ArtifactRow(f, f"/nowhere/{f}", 1, "0" * 64) for f in artifacts])
    if status in ("completed", "failed"):
        store.finish(job.id, job.attempts, status, error=None if status == "completed" else "boom")
    return store.get_job(job.id)


@pytest.mark.parametrize(
    "status, artifacts, extra, needle",
    [
        ("queued", (), [], "is queued and has no artifacts yet"),
        ("running", (), [], "is running and has no artifacts yet"),
        ("failed", (), [], "is failed"),
        ("completed", (), [], "has no artifacts yet"),
        ("completed", ("h5-generator",), ["--format", "savedmodel"], "has no savedmodel generator"),
        ("completed", ("h5-generator",), ["--format", "onnx"], "--format"),
        ("completed", ("h5-generator",), ["--n", "0"], "--n"),
        ("completed", ("h5-generator",), ["--seed", "-1"], "--seed"),
        ("completed", ("h5-generator",), ["--truncation", "0"], "--truncation: Input should be greater than 0"),
        ("completed", ("h5-generator",), ["--truncation", "x"], "--truncation"),
        ("completed", ("h5-generator",), ["--truncation", "inf"], "--truncation: Input should be a finite number"),
        ("completed", ("h5-generator",), ["--interpolate", "1"], "--interpolate"),
        ("completed", ("h5-generator",), ["--interpolate", "4", "--n", "65"], "at most 64 images"),
        ("completed", ("h5-generator",), ["--out", "samples", "--no-wait"], "--out copies the samples once they are made"),
        ("completed", ("h5-generator",), ["--timeout", "5", "--no-wait"], "--timeout is how long to wait"),
    ],
)
def test_sample_refuses_without_artifacts(cli, home, store, status, artifacts, extra, needle):
    job = _train_job(store, status, artifacts)
    before = job_rows(home)
    result = cli("sample", job.id[:8], *extra)
    assert_one_line_error(result, needle)
    assert job_rows(home) == before  # no sample row
    assert broker_messages(home) == 0


def test_sample_of_a_sample_job_is_refused(cli, home, store):
    train = _train_job(store)
    child = store.create_job("sample", {"n": 1, "seed": None, "format": "h5"}, parent_id=train.id)
    result = cli("sample", child.id)
    assert_one_line_error(result, "is a sample job")


def test_cancel_finished_job(cli, home, store):
    job = _train_job(store)
    assert_one_line_error(cli("cancel", job.id), "already completed")


def test_list_bad_status(cli, home):
    assert_one_line_error(cli("list", "--status", "sleeping"), "unknown status")


def test_archs_show_unknown(cli, home):
    assert_one_line_error(cli("archs", "show", "nope"), "unknown arch 'nope'")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--gpus", "0,0"], "twice"),
        (["--gpus", "x"], "--gpus"),
        (["--cpu", "--gpus", "0"], "exclusive"),
        (["--queues", "train,eval"], "unknown queue"),
    ],
)
def test_worker_bad_options(cli, home, args, needle):
    assert_one_line_error(cli("worker", *args), needle)
    assert job_rows(home) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nothing listens there


def test_unreachable_broker_fails_fast_and_leaves_no_row(tmp_path):
    """A subprocess, as a user runs it: exits 2 within ~15 s, names the broker (password masked)."""
    home = tmp_path / "home"
    port = _closed_port()
    env = subprocess_env(home, GANCTL_BROKER_URL=f"redis://:s3cret@127.0.0.1:{port}/0")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "submit", "--arch", "dcgan", "--epochs", "1"],
                          env=env, capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the broker at redis://"), proc.stderr
    assert f"127.0.0.1:{port}/0" in lines[0]
    assert "s3cret" not in proc.stderr
    assert proc.stdout == ""
    assert took < 15, took
    assert [r for r in job_rows(home) if r[2] == "queued"] == []
    assert job_rows(home) == []  # the row is deleted, not left behind


def test_unreachable_broker_for_a_sweep_leaves_no_sweep(tmp_path):
    """No job of the sweep was queued: no sweep is left behind either (`sweep list` shows none)."""
    home = tmp_path / "home"
    env = subprocess_env(home, GANCTL_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0", GANCTL_SUBMIT_TIMEOUT="2")
    cmd = [sys.executable, "-m", "ganctl.cli.main", "sweep"]
    proc = subprocess.run([*cmd, "--arch", "dcgan", "--epochs", "2", "--eval-every", "1", "--set", "lr_g=1e-4,2e-4"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot reach the broker"), proc.stderr
    assert job_rows(home) == []
    shown = subprocess.run([*cmd, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert shown.stdout.startswith("no sweeps yet"), (shown.stdout, shown.stderr)


def test_unreachable_broker_for_sample(tmp_path, monkeypatch):
    """Same for `sample`: the sample row is removed again, the training job untouched."""
    from ganctl.jobs.config import get_settings
    from ganctl.jobs.store.repo import Store

    home = tmp_path / "home"
    monkeypatch.setenv("GANCTL_HOME", str(home))
    get_settings.cache_clear()
    try:
        with Store.from_settings() as store:
            train = _train_job(store)
    finally:
        get_settings.cache_clear()
    env = subprocess_env(home, GANCTL_BROKER_URL=f"redis://127.0.0.1:{_closed_port()}/0",
                         GANCTL_SUBMIT_TIMEOUT="2")
    proc = subprocess.run([sys.executable, "-m", "ganctl.cli.main", "sample", train.id[:8]],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: cannot reach the broker") and proc.stderr.count("\n") == 1
    assert job_rows(home) == [(train.id, "train", "completed")]


def test_unreachable_database_is_one_line(cli, home, monkeypatch):
    from ganctl.jobs.config import get_settings

    port = _closed_port()
    monkeypatch.setenv("GANCTL_DATABASE_URL", f"postgresql://ganctl:hunter2@127.0.0.1:{port}/ganctl")
    get_settings.cache_clear()
    for args in (["list"], ["status", "abcd"], ["submit", "--epochs", "1"]):
        line = assert_one_line_error(cli(*args), "database error at postgresql+psycopg://ganctl:***@127.0.0.1")
        assert "hunter2" not in line


def test_debug_setting_shows_the_traceback_instead(tmp_path):
    """GANCTL_DEBUG=1 (read by Settings, like every GANCTL_* variable): the same bad input raises
    with its traceback rather than the one line; still nothing is written."""
    home = tmp_path / "home"
    cmd = [sys.executable, "-m", "ganctl.cli.main", "submit", "--arch", "nope"]
    plain = subprocess.run(cmd, env=subprocess_env(home), capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr, plain.stderr
    debug = subprocess.run(cmd, env=subprocess_env(home, GANCTL_DEBUG="1"), capture_output=True, text=True,
                           timeout=120)
    assert debug.returncode == 1, debug.stderr
    assert "Traceback" in debug.stderr and "unknown arch 'nope'" in debug.stderr
    assert job_rows(home) == []
