"""Commands in-process against a temp store and the embedded broker, no worker running."""
from __future__ import annotations

import json
import re
import math

import pytest

from cli_helpers import broker_messages, job_rows


def test_submit_writes_row_then_publishes(cli, home):
    result = cli("submit", "--arch", "dcgan", "--classes", "trouser,bag", "--limit", "256",
                 "--epochs", "2", "--batch-size", "64", "--seed", "7")
    assert result.exit_code == 0, result.stderr
    job_id = result.stdout.strip()
    assert len(job_id) == 36
    assert job_rows(home) == [(job_id, "train", "queued")]
    assert broker_messages(home) == 1

    status = cli("status", job_id[:6], "--json")
    assert status.exit_code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["id"] == job_id and data["status"] == "queued" and data["total_epochs"] == 2
    assert data["spec"]["arch"] == "dcgan" and data["spec"]["classes"] == [1, 8]
    assert data["spec"]["limit"] == 256 and data["spec"]["batch_size"] == 64 and data["spec"]["seed"] == 7
    assert data["epochs"] == [] and data["artifacts"] == [] and data["epochs_done"] == 0


def test_submit_json(cli, home):
    result = cli("submit", "--arch", "upsample", "--epochs", "3", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "train" and data["status"] == "queued" and data["spec"]["epochs"] == 3
    assert data["max_attempts"] == 3


def test_status_text(cli, home, store):
    job = store.create_job("train", {"arch": "dcgan", "epochs": 3, "classes": [1]}, total_epochs=3)
    job = store.claim(job.id, worker="cpu-train@host", gpu="cpu", lease_s=60)
    store.record_epoch(job.id, job.attempts, 1, 0.5, 1.5, 2.0, 128.0)
    store.record_grid(job.id, job.attempts, 1, b"\x89PNG", "/tmp/grid_1.png")
    out = cli("status", job.id[:8])
    assert out.exit_code == 0, out.stderr
    text = out.stdout
    assert "running, attempt 1/3" in text
    assert "cpu-train@host (device cpu)" in text
    assert "1/3" in text and "d_loss 0.5000" in text and "g_loss 1.5000" in text
    assert "/tmp/grid_1.png (epoch 1)" in text
    assert "classes trouser" in text
    assert "precision auto  " in text  # running: what auto resolves to is not known yet
    store.finish(job.id, job.attempts, "completed", result={"precision": "bf16"})
    assert "precision auto (bf16)" in cli("status", job.id[:8]).stdout


def test_status_json_nan_loss_is_null(cli, home, store):
    job = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    job = store.claim(job.id, worker="w", gpu="cpu", lease_s=60)
    store.record_epoch(job.id, job.attempts, 1, math.nan, 1.0, 1.0, 1.0)
    data = json.loads(cli("status", job.id, "--json").stdout)
    assert data["epochs"][0]["d_loss"] is None and data["epochs"][0]["g_loss"] == 1.0


def test_list_table_and_json(cli, home, store):
    a = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    b = store.create_job("train", {"arch": "upsample", "epochs": 2}, total_epochs=2)
    store.request_cancel(b.id)
    table = cli("list")
    assert table.exit_code == 0, table.stderr
    assert a.id[:8] in table.stdout and b.id[:8] in table.stdout and "cancelled" in table.stdout
    rows = json.loads(cli("list", "--json").stdout)
    assert [r["id"] for r in rows] == [b.id, a.id]  # newest first
    assert rows[0]["epochs_done"] == 0
    only = json.loads(cli("list", "--status", "cancelled", "--json").stdout)
    assert [r["id"] for r in only] == [b.id]
    by_arch = json.loads(cli("list", "--arch", "dcgan", "--json").stdout)
    assert [r["id"] for r in by_arch] == [a.id]
    assert len(json.loads(cli("list", "--limit", "1", "--json").stdout)) == 1


def test_list_empty(cli, home):
    out = cli("list")
    assert out.exit_code == 0 and "no jobs" in out.stdout
    assert json.loads(cli("list", "--json").stdout) == []


def test_cancel_queued_and_running(cli, home, store):
    queued = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    out = cli("cancel", queued.id[:8])
    assert out.exit_code == 0 and "cancelled" in out.stdout
    assert store.get_job(queued.id).status == "cancelled"

    running = store.create_job("train", {"arch": "dcgan", "epochs": 1}, total_epochs=1)
    store.claim(running.id, worker="w", gpu="cpu", lease_s=60)
    out = cli("cancel", running.id, "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "running" and data["cancel_requested"] is True
    assert store.is_cancel_requested(running.id)


def _finished_job(store, status, epochs=2, error=None, artifacts=()):
    job = store.create_job("train", {"arch": "dcgan", "epochs": epochs}, total_epochs=epochs)
    job = store.claim(job.id, worker="w", gpu="cpu", lease_s=60)
    for e in range(1, epochs + 1):
        store.record_epoch(job.id, job.attempts, e, 0.6, 0.9, 1.0, 10.0)
        store.record_grid(job.id, job.attempts, e, b"png", f"/g/{e}.png")
    if artifacts:
        assert store.record_artifacts(job.id, job.attempts, list(artifacts))
    store.finish(job.id, job.attempts, status, error=error)
    return job


def test_watch_completed_job(cli, home, store):
    job = _finished_job(store, "completed")
    out = cli("watch", job.id[:8], "--poll", "0.05")
    assert out.exit_code == 0, out.stderr
    assert "epoch 1/2" in out.stdout and "epoch 2/2" in out.stdout and "/g/2.png" in out.stdout
    assert f"job {job.id[:8]} completed" in out.stdout


def test_watch_failed_job_exits_1(cli, home, store):
    job = _finished_job(store, "failed", epochs=1, error="NonFiniteLoss: loss went to nan")
    out = cli("watch", job.id, "--poll", "0.05")
    assert out.exit_code == 1
    assert out.stderr.strip() == f"error: job {job.id[:8]} failed: NonFiniteLoss: loss went to nan"


def test_watch_json_lines(cli, home, store):
    job = _finished_job(store, "completed")
    out = cli("watch", job.id, "--json", "--poll", "0.05")
    assert out.exit_code == 0
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["event"] for e in events] == ["epoch", "epoch", "end"]
    assert events[-1]["job"]["status"] == "completed" and len(events[-1]["job"]["epochs"]) == 2


def test_sample_no_wait_creates_child_and_publishes(cli, home, store):
    from ganctl.jobs.store.repo import ArtifactRow

    job = _finished_job(store, "completed", artifacts=[ArtifactRow("h5-generator", "/x/generator.h5", 10, "a" * 64)])
    out = cli("sample", job.id[:8], "--n", "4", "--seed", "3", "--no-wait", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["kind"] == "sample" and data["parent_id"] == job.id
    assert data["spec"] == {"n": 4, "seed": 3, "format": "h5", "epoch": None,  # epoch None: the export
                            "truncation": None, "interpolate": None, "label": None, "all_classes": False}
    assert broker_messages(home) == 1
    assert [c.id for c in store.children(job.id)] == [data["id"]]
    assert re.search(r"^spec\s+n 4  seed 3  format h5$", cli("status", data["id"][:8]).stdout, re.M)  # unset: not shown
    # Without --seed, the seed drawn is stored, so `status` says how to draw the same images again.
    drawn = json.loads(cli("sample", job.id[:8], "--no-wait", "--json").stdout)["spec"]["seed"]
    assert isinstance(drawn, int) and re.search(rf"^spec\s+n 12  seed {drawn}  format h5$",
                                                cli("status", store.children(job.id)[-1].id).stdout, re.M)


def test_sample_wait_times_out_without_worker(cli, home, store):
    from ganctl.jobs.store.repo import ArtifactRow

    job = _finished_job(store, "completed", artifacts=[ArtifactRow("h5-generator", "/x/generator.h5", 10, "a" * 64)])
    out = cli("sample", job.id, "--timeout", "1", "--poll", "0.1")
    assert out.exit_code == 1
    assert "still queued after 1 s" in out.stderr and "ganctl worker" in out.stderr


def test_archs_table_and_json(cli, home):
    out = cli("archs")
    assert out.exit_code == 0, out.stderr
    assert "upsample" in out.stdout and "dcgan" in out.stdout
    # The table is the seed recipe's; the default recipe's own settings are named under it.
    assert "New jobs get the default recipe ema-augment-batch32 on top: ema 0.999, augment translation,cutout, " \
           "lr_g 0.0002, lr_d 0.0002, beta_1 0.5, beta_2 0.999, batch 32;" in " ".join(out.stdout.split())
    data = json.loads(cli("archs", "--json").stdout)
    assert {"upsample", "dcgan"} <= {a["name"] for a in data}
    assert next(a for a in data if a["name"] == "dcgan")["noise_dim"] == 100


def test_db_upgrade_and_current(cli, home):
    up = cli("db", "upgrade")
    assert up.exit_code == 0, up.stderr
    assert "at revision" in up.stdout
    cur = json.loads(cli("db", "current", "--json").stdout)
    assert cur["up_to_date"] is True and cur["revision"] == cur["head"]
    assert "up to date" in cli("db", "current").stdout


def test_worker_concurrency_check_json(cli, home):
    out = cli("worker", "--cpu", "--concurrency-check", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["problems"] == []
    assert [c["queues"] for c in data["children"]] == [["train"], ["sample"]]
    assert all(c["env"]["CUDA_VISIBLE_DEVICES"] == "" for c in data["children"])


def test_no_args_shows_help(cli, home):
    out = cli()
    assert "submit" in out.stdout and "status" in out.stdout


@pytest.mark.slow
def test_archs_show_builds_networks(cli, home, tmp_path):
    """Loads TensorFlow (builds both networks) and writes the two diagrams."""
    png = tmp_path / "dcgan.png"
    out = cli("archs", "show", "dcgan", "--png", str(png))
    assert out.exit_code == 0, out.stderr
    assert "dcgan generator" in out.stdout and "dcgan discriminator" in out.stdout
    from PIL import Image

    for path in (png, tmp_path / "dcgan-discriminator.png"):
        with Image.open(path) as im:
            im.verify()
    data = json.loads(cli("archs", "show", "upsample", "--model", "generator", "--json").stdout)
    assert data["generator"]["layers"] and "discriminator" not in data
