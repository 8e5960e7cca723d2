"""Artifacts complete or absent, tampering caught by `ganctl sample`, job ids never a path.

The export test kills the real training process while it writes its export (between writing
the files and renaming the folder into place) and checks what a reader can see, then lets a
restarted worker finish. Sampling a tampered generator must fail on its sha256, through the
CLI, before anything is loaded. A message whose job id is not a UUID (`../../etc`) is refused
by the worker before it touches the store or the disk.
"""
from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from faults import check_artifacts, kill, logs, open_store, rel_env, submit, wait_status
from ganctl_procs import child_pid, ganctl, wait_until

FINAL = ("completed", "failed", "cancelled")
BOTH = ("--cpu", "--reap-every", "1")  # a training and a sampling process


def _flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.integration
def test_crash_during_export_then_tampered_artifacts(tmp_path, redis_url, ganctl_worker, ledger):
    home = tmp_path / "home"
    env = rel_env(home, redis_url)
    first = ganctl_worker(env, *BOTH)
    first.wait_ready()
    job_id = submit(env, epochs=2, limit=128)
    root = home / "artifacts" / job_id
    with open_store(env) as store:
        # 1. kill -9 the trainer once its export folder is being written.
        from ganctl.jobs.layout import temps_of

        wait_until(lambda: temps_of(root / "export") or (root / "export").exists(), 240,
                   "the export to start", every=0.005, context=lambda: logs(first))
        kill(child_pid(first, "cpu-train"), signal.SIGKILL)
        ledger.fault("kill -9 during the export")
        first.proc.wait(60)
        visible = root / "export"
        if visible.exists():  # lost the race: the rename had happened; it must be complete
            from ganctl.jobs.artifacts import FILES, verified_path

            for fmt in FILES:
                verified_path(visible, fmt)
            ledger.notes.append("the kill landed after the export's rename (complete export found)")
        else:
            ledger.notes.append("the kill landed before the export's rename: no export visible")
        job = store.get_job(job_id)
        assert job.status == "running" and store.artifacts(job_id) == []  # the store points at nothing
        # 2. A restarted worker finishes it: resumes at the last epoch, exports, records.
        second = ganctl_worker(env, *BOTH)
        job = wait_status(store, job_id, FINAL, 240, context=lambda: logs(first, second))
        assert job.status == "completed", (job.status, job.error)
        assert job.attempts == 2 and job.result["resumed_from"] == 2
        assert ledger.epochs(store, job_id, 2) == [1, 2]
        check_artifacts(store, home, job_id)
        ledger.jobs_completed += 1
        # 3. Sampling works on the intact artifacts...
        ok = ganctl(env, "sample", job_id[:8], "--n", "4", timeout=240, check=False)
        assert ok.returncode == 0, (ok.stdout, ok.stderr, logs(second))
        ledger.jobs_completed += 1
        # ...and refuses a tampered .h5 (sha256 against the manifest), before loading it.
        h5 = root / "export" / "generator.h5"
        _flip_byte(h5)
        ledger.fault("one byte of generator.h5 flipped")
        bad = ganctl(env, "sample", job_id[:8], "--n", "4", timeout=240, check=False)
        assert bad.returncode == 1, (bad.stdout, bad.stderr)
        assert "fails its sha256 check against the manifest" in bad.stderr and "generator.h5" in bad.stderr
        assert bad.stderr.count("\n") == 1 and bad.stdout == ""
        ledger.jobs_failed_as_expected += 1
        # A SavedModel tampered together with its manifest is caught by the store's sha256.
        var = next((root / "export" / "generator_savedmodel").rglob("variables.data-*"))
        _flip_byte(var)
        manifest = json.loads((root / "export" / "manifest.json").read_text())
        from ganctl.jobs.artifacts import digest

        manifest["savedmodel-generator"]["sha256"] = digest(root / "export" / "generator_savedmodel")[1]
        (root / "export" / "manifest.json").write_text(json.dumps(manifest))
        ledger.fault("SavedModel variables and manifest rewritten")
        bad = ganctl(env, "sample", job_id[:8], "--format", "savedmodel", "--n", "4", timeout=240, check=False)
        assert bad.returncode == 1, (bad.stdout, bad.stderr)
        assert "fails its sha256 check against the store" in bad.stderr, bad.stderr
        ledger.jobs_failed_as_expected += 1
    assert second.stop() == 0


@pytest.mark.reliability
@pytest.mark.slow
@pytest.mark.integration
def test_path_like_job_ids_are_refused_by_the_worker(tmp_path, redis_url, ganctl_worker, ledger):
    """Messages carrying `../../etc`-style ids (as anyone who can write to the broker could
    send) are refused; nothing is created outside the artifacts root; the worker goes on."""
    from ganctl.jobs.config import Settings
    from ganctl.worker.app import SAMPLE_TASK, TRAIN_TASK, create_app

    home = tmp_path / "home"
    env = rel_env(home, redis_url)
    worker = ganctl_worker(env, *BOTH)
    worker.wait_ready()
    app = create_app(Settings(home=home, broker_url=redis_url))
    bad = ["../../etc", "../" * 8 + "tmp/ganctl-escape", "/etc/passwd", "00000000-0000-4000-8000-00000000000/",
           "00000000-0000-4000-8000-00000000000A".upper()]
    for task, queue in ((TRAIN_TASK, "train"), (SAMPLE_TASK, "sample")):
        for job_id in bad:
            app.send_task(task, args=[job_id], queue=queue)
            ledger.fault("message with a path-like job id")
    wait_until(lambda: worker.output().count("refusing message: invalid job id") == 2 * len(bad), 120,
               "every bad message to be refused", context=lambda: logs(worker))
    assert not Path("/tmp/ganctl-escape").exists()
    assert not (home / "artifacts").exists() or list((home / "artifacts").iterdir()) == []
    # Still serving: a real job runs.
    job_id = submit(env, epochs=1, limit=128)
    with open_store(env) as store:
        job = wait_status(store, job_id, FINAL, 180, context=lambda: logs(worker))
        assert job.status == "completed", (job.status, job.error)
        assert ledger.epochs(store, job_id, 1) == [1]
        ledger.jobs_completed += 1
    assert worker.stop() == 0


@pytest.mark.reliability
def test_job_dir_stays_under_the_artifacts_root(tmp_path):
    from ganctl.worker.tasks import BadJobId, job_dir, valid_job_id

    root = tmp_path / "artifacts"
    root.mkdir()
    good = "0b4f3c57-2a59-4d0e-9a51-1f6f0c3b2a10"
    assert job_dir(root, good) == root / good
    for bad in ("../../etc", "..", "", good.upper(), good + "/..", "{" + good + "}", good.replace("-", ""),
                "0b4f3c57-2a59-4d0e-9a51-1f6f0c3b2a1/", None, 42):
        with pytest.raises(BadJobId):
            valid_job_id(bad)
    # A job folder that is a symlink out of the root is refused.
    (tmp_path / "elsewhere").mkdir()
    (root / good).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(BadJobId, match="outside the artifacts root"):
        job_dir(root, good)
