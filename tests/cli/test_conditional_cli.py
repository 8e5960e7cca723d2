"""Class-conditional jobs through the CLI (`submit --conditional`, `sample --class`, `eval`, `status`)
with the worker's tasks run in-process (`task.apply`) on real Fashion-MNIST images and real
training; and the refusals, which queue nothing."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, job_rows

CLASSES = "trouser,bag,sneaker"  # visually distinct; the job's labels: 0 trouser, 1 sneaker, 2 bag


def _ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout.strip()


def _trained(store, spec: dict):
    """A completed train job row with an h5 generator artifact (no training: for the refusals)."""
    from ganctl.jobs.store.repo import ArtifactRow

    job = store.create_job("train", spec, total_epochs=1)
    c = store.claim(job.id, worker="w@h", gpu="cpu", lease_s=60)
    assert store.record_artifacts(job.id, c.attempts, [ArtifactRow("h5-generator", "/x/generator.h5", 1, "c" * 64)])
    assert store.finish(job.id, c.attempts, "completed")
    return store.get_job(job.id)


@pytest.mark.slow
def test_a_conditional_job_samples_the_class_asked_for(cli, tasks, store, home):
    from ganctl.jobs.quality.classifier import get_classifier

    # A small budget, the default recipe: 1,500 images (about 500 a class), batch 32, 5 epochs.
    job_id = _ok(cli("submit", "--arch", "dcgan", "--classes", CLASSES, "--conditional", "--limit", "1500",
                     "--batch-size", "32", "--epochs", "5", "--grid-every", "5", "--seed", "0"))
    tasks.train_job.apply(args=[job_id])
    assert store.get_job(job_id).status == "completed", store.get_job(job_id).error

    status = _ok(cli("status", job_id[:8]))
    assert "conditional  3 classes: 0 trouser, 1 sneaker, 2 bag" in status
    # The epoch grid: one row per class, max(12 // 3, 4) = 4 columns.
    [grid] = store.grids(job_id)
    assert Image.open(grid.path).size == (4 * (28 * 4 + 2) + 2, 3 * (28 * 4 + 2) + 2)

    clf = get_classifier()
    sample_id = _ok(cli("sample", job_id[:8], "--class", "trouser", "--n", "12", "--seed", "3", "--no-wait"))
    tasks.sample_job.apply(args=[sample_id])
    done = store.get_job(sample_id)
    assert done.status == "completed", done.error
    images = np.stack([np.asarray(Image.open(f)) for f in done.result["files"]])[..., None]
    assert images.shape == (12, 28, 28, 1)
    assert np.mean(clf.predict_classes(images) == 1) >= 0.8  # the shipped classifier says "trouser"

    # --class all: a grid with one row per class, --n columns.
    all_id = _ok(cli("sample", job_id, "--class", "all", "--n", "5", "--seed", "3", "--no-wait"))
    tasks.sample_job.apply(args=[all_id])
    done = store.get_job(all_id)
    assert done.status == "completed", done.error
    assert len(done.result["files"]) == 15
    assert Image.open(done.result["grid"]).size == (5 * (28 * 4 + 2) + 2, 3 * (28 * 4 + 2) + 2)

    # --class composes with --truncation and --interpolate (each tile walks within its class).
    walk_id = _ok(cli("sample", job_id, "--class", "bag", "--truncation", "0.7", "--interpolate", "2", "--n", "4",
                      "--no-wait"))
    tasks.sample_job.apply(args=[walk_id])
    done = store.get_job(walk_id)
    assert done.status == "completed", done.error
    assert done.result["walk"].endswith("walk.gif") and len(done.result["files"]) == 4

    # eval: the per-class accuracy agrees, and status shows it.
    eval_id = _ok(cli("eval", job_id, "--n", "300", "--no-wait"))
    tasks.eval_job.apply(args=[eval_id])
    q = store.get_job(eval_id).result
    assert set(q["per_class"]) == {"trouser", "sneaker", "bag"}
    assert q["per_class"]["trouser"]["accuracy"] >= 0.8 and q["per_class"]["trouser"]["n"] == 100
    assert q["class_accuracy"] >= 0.8 and all(v["fd"] > 0 for v in q["per_class"].values())
    status = _ok(cli("status", job_id))
    line = next(x for x in status.splitlines() if x.startswith("per class"))
    assert "trouser " in line and " FD " in line
    assert "class accuracy" in next(x for x in status.splitlines() if x.startswith("quality"))
    _ok(cli("report", job_id))
    page = (home / "artifacts" / job_id / "report.html").read_text()
    table = page[page.index('<table id="metrics">'):]
    assert "accuracy trouser" in table and "FD bag" in table and "class_accuracy" in table


def test_sample_class_refusals_queue_nothing(cli, store, home):
    plain = _trained(store, {"arch": "dcgan", "epochs": 1, "classes": [1]})
    cond = _trained(store, {"arch": "dcgan", "epochs": 1, "classes": [1, 7, 8], "conditional": True})
    before = job_rows(home)
    assert_one_line_error(cli("sample", plain.id, "--class", "trouser"), "not class-conditional")
    assert_one_line_error(cli("sample", cond.id, "--class", "dress"), "unknown class 'dress'",
                          "0 trouser, 1 sneaker, 2 bag")
    assert_one_line_error(cli("sample", cond.id, "--class", "3"), "unknown class '3'")
    assert_one_line_error(cli("sample", cond.id, "--class", "all", "--interpolate", "3"),
                          "--interpolate walks one class at a time")
    assert job_rows(home) == before  # nothing queued


def test_sample_class_picks_by_name_index_and_all(cli, store, home):
    from ganctl.jobs.spec import SampleSpec

    cond = _trained(store, {"arch": "dcgan", "epochs": 1, "classes": [1, 7, 8], "conditional": True})
    for text, label, every in (("bag", 2, False), ("1", 1, False), ("Trouser", 0, False), ("all", None, True)):
        child = _ok(cli("sample", cond.id, "--class", text, "--no-wait"))
        spec = SampleSpec.model_validate(store.get_job(child).spec)
        assert (spec.label, spec.all_classes) == (label, every), text


def test_submit_conditional_refusals(cli, home, tmp_path):
    assert_one_line_error(cli("submit", "--conditional", "--classes", "trouser"),
                          "--conditional needs at least two classes")
    one = tmp_path / "pics" / "cats"
    one.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(one / "a.png")
    assert_one_line_error(cli("submit", "--arch", "dcgan64", "--dataset", f"folder:{tmp_path / 'pics'}",
                              "--conditional"), "--conditional needs at least two classes")
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--class-loss", "1"), "--class-loss needs --conditional")
    assert job_rows(home) == []
    # A folder's classes are its sub-folders, found before the conditional fields are judged.
    (tmp_path / "pics" / "dogs").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "pics" / "dogs" / "b.png")
    d = json.loads(_ok(cli("status", _ok(cli("submit", "--arch", "dcgan64", "--dataset", f"folder:{tmp_path / 'pics'}",
                                              "--conditional", "--class-loss", "2")), "--json")))
    assert (d["spec"]["classes"], d["spec"]["class_loss"]) == (["cats", "dogs"], 2.0)
    # Fashion-MNIST, all ten classes: accepted; status names them.
    job_id = _ok(cli("submit", "--arch", "dcgan", "--conditional", "--epochs", "1"))
    d = json.loads(_ok(cli("status", job_id, "--json")))
    assert d["spec"]["conditional"] is True and d["spec"]["class_dims"] == 10  # the class code's own entries
    # The conditional default: the projection, the class loss and mode seeking (docs/BENCHMARKS.md).
    assert (d["spec"]["class_loss"], d["spec"]["mode_seeking"]) == (1.0, 0.1)
    text = _ok(cli("status", job_id)) + "\n"
    assert "conditional  10 classes: 0 t-shirt, 1 trouser" in text and "9 ankle-boot  class loss 1\n" in text
    assert "  mode-seeking 0.1  " in next(x for x in text.splitlines() if x.startswith("recipe"))
    plain = json.loads(_ok(cli("status", _ok(cli("submit", "--arch", "dcgan", "--epochs", "1")), "--json")))
    assert {"class_dims", "class_loss", "mode_seeking"}.isdisjoint(plain["spec"])  # as they always read
    # The projection alone: both switched off, or the seed recipe (which never had them).
    for args in (["--class-loss", "0", "--mode-seeking", "0"], ["--recipe", "seed"]):
        alone = _ok(cli("submit", "--arch", "dcgan", "--conditional", *args, "--epochs", "1"))
        assert not json.loads(_ok(cli("status", alone, "--json")))["spec"].get("class_loss"), args
        text = _ok(cli("status", alone))
        assert "class loss" not in text and "mode-seeking" not in text, args


def test_fork_cannot_change_conditional():
    from ganctl.jobs import experiments

    assert {"conditional", "class_dims", "class_loss"} <= set(experiments.FIXED)
