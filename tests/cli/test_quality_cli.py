"""Quality figures in the CLI (no TensorFlow): metrics rows written straight into the store are
shown by `status`, `list`, `watch` and `report`; `ganctl eval` refuses what it cannot score; the
eval and train tasks' glue records the figures (training library and metrics replaced by fakes).

The metrics themselves, on real images and collapsed generators: tests/jobs/test_classifier.py;
through a real worker: tests/integration/test_quality.py."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ganctl.jobs import artifacts, train

GOOD = {"n": 200, "n_real": 400, "fd": 41.25, "fd_floor": 3.5, "fd_n": 200, "kid": 0.0312,
        "kid_std": 0.002, "precision": 0.61, "recall": 0.33, "density": 0.72, "coverage": 0.41,
        "class_histogram": {"trouser": 0.97, "dress": 0.03}, "grid_spread": 0.21, "collapse": False,
        "collapse_reasons": []}
BAD = GOOD | {"fd": 390.0, "recall": 0.0, "coverage": 0.01, "collapse": True,
              "collapse_reasons": ["coverage 0.01 < 0.0865", "recall 0 < 0.05"]}


def _trained(store, *, epochs=2, metrics=(), dataset=None, artifacts=()):
    spec = {"arch": "dcgan", "epochs": epochs, "classes": [1]}
    if dataset:
        spec["dataset"] = dataset
    job = store.create_job("train", spec, total_epochs=epochs)
    c = store.claim(job.id, worker="w@h", gpu="cpu", lease_s=60)
    for e in range(1, epochs + 1):
        assert store.record_epoch(job.id, c.attempts, e, 0.6, 0.9, 1.0, 256.0)
    for e, values in metrics:
        assert store.record_metrics(job.id, c.attempts, e, values["n"], values, values["collapse"])
    if artifacts:
        assert store.record_artifacts(job.id, c.attempts, list(artifacts))
    assert store.finish(job.id, c.attempts, "completed")
    return store.get_job(job.id)


def test_status_shows_the_latest_figures_and_the_collapse_warning(cli, store):
    job = _trained(store, metrics=[(1, GOOD), (2, GOOD | {"fd": 20.5})])
    out = cli("status", job.id[:8]).stdout
    line = next(x for x in out.splitlines() if x.startswith("quality"))
    assert "FD 20.5 (floor 3.5)" in line and "KID 0.0312" in line and "precision 0.61" in line
    assert "recall 0.33" in line and "density 0.72" in line and "coverage 0.41" in line
    assert "(epoch 2, 200 images)" in line and "warning" not in out
    d = json.loads(cli("status", job.id, "--json").stdout)
    assert d["quality"]["epoch"] == 2 and d["quality"]["values"]["fd"] == 20.5
    assert [m["epoch"] for m in d["metrics"]] == [1, 2]

    store.record_metrics(job.id, None, None, 500, BAD, True)  # an on-demand eval, newest
    out = cli("status", job.id).stdout
    assert "FD 390 (floor 3.5)" in out and "(on demand, 500 images)" in out
    assert out.rstrip().splitlines()[-1] == ("warning: possible mode collapse: coverage 0.01 < 0.0865; "
                                             "recall 0 < 0.05")


def test_status_and_eval_name_the_classifier_the_figures_were_measured_with(cli, store):
    from ganctl.cli import _quality_text

    job = _trained(store, metrics=[(2, GOOD | {"classifier": "fmnist-cnn-v1"})])
    line = next(x for x in cli("status", job.id).stdout.splitlines() if x.startswith("quality"))
    assert "coverage 0.41  [fmnist-cnn-v1]" in line
    assert ("classifier", "fmnist-cnn-v1") in _quality_text.table(GOOD | {"classifier": "fmnist-cnn-v1"})
    old = dict(_quality_text.table(GOOD))  # a row stored before classifiers were versioned
    assert old["classifier"].startswith("unrecorded")


def test_list_has_an_fd_column_and_a_collapse_marker(cli, store):
    ok = _trained(store, metrics=[(2, GOOD)])
    bad = _trained(store, metrics=[(2, BAD)])
    plain = _trained(store)
    r = cli("list")
    assert r.exit_code == 0, r.stderr
    header, *rows = r.stdout.splitlines()
    assert re.search(r"\bFD\s+created\s", header)
    by_id = {row.split()[0]: row for row in rows}
    assert re.search(r"41\.25\s+\d{4}-", by_id[ok.id[:8]])      # no marker
    assert re.search(r"390 !\s+\d{4}-", by_id[bad.id[:8]])
    assert re.search(r"\s-\s+\d{4}-", by_id[plain.id[:8]])
    d = {x["id"]: x for x in json.loads(cli("list", "--json").stdout)}
    assert (d[bad.id]["fd"], d[bad.id]["collapse"]) == (390.0, True)
    assert (d[plain.id]["fd"], d[plain.id]["collapse"]) == (None, False)


def test_watch_prints_each_metrics_line(cli, store):
    job = _trained(store, metrics=[(1, GOOD), (2, BAD)])
    out = cli("watch", job.id).stdout.splitlines()
    i = out.index(next(x for x in out if x.startswith("epoch 1/2")))
    assert out[i + 1].startswith("quality epoch 1, 200 images: FD 41.25 (floor 3.5)")
    assert any(x.startswith("quality epoch 2, 200 images: FD 390") for x in out)
    assert "warning: possible mode collapse: coverage 0.01 < 0.0865; recall 0 < 0.05" in out
    events = [json.loads(x) for x in cli("watch", job.id, "--json").stdout.splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "metrics"] == [1, 2]


def test_report_reads_the_metrics_table(cli, store, home):
    job = _trained(store, metrics=[(1, GOOD), (2, BAD)])
    store.record_metrics(job.id, None, None, 1000, GOOD | {"n": 1000}, False)
    r = cli("report", job.id, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["metrics"] is True
    page = (home / "artifacts" / job.id / "report.html").read_text()
    table = page[page.index('<table id="metrics">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") == 4 and ">eval<" in table and "fd_floor" in table
    assert "recall 0 &lt; 0.05" in table or "recall 0 < 0.05" in table


def test_eval_refuses_folder_jobs_and_unfinished_ones(cli, store, home):
    from cli_helpers import job_rows

    folder = _trained(store, dataset="folder:/data/pictures")
    r = cli("eval", folder.id)
    assert r.exit_code == 2
    assert r.stderr.strip() == ("error: quality metrics are for Fashion-MNIST jobs; this job trained on "
                                "folder:/data/pictures")
    plain = _trained(store)  # completed, but no exported generator
    r = cli("eval", plain.id)
    assert r.exit_code == 2 and "has no exported generator" in r.stderr
    assert [k for _, k, _ in job_rows(home)] == ["train", "train"]  # nothing queued
    r = cli("submit", "--arch", "dcgan64", "--dataset", f"folder:{home}", "--eval-every", "1")
    assert r.exit_code == 2
    assert "--eval-every: quality metrics are for Fashion-MNIST jobs" in r.stderr
    r = cli("submit", "--eval-n", "10")
    assert r.exit_code == 2 and "--eval-n" in r.stderr


def test_training_records_each_reports_quality(tasks, store, monkeypatch):
    job = store.create_job("train", {"arch": "dcgan", "epochs": 2, "limit": 64, "eval_every": 1}, total_epochs=2)

    def fake_run(spec, workdir, hooks):
        assert spec.eval_every == 1
        for e in (1, 2):
            r = train.EpochReport(e, 2, 0.7, 0.8, 1.0, 100.0, None, None, GOOD | {"fd": 50.0 - e})
            assert hooks.on_epoch(r) is not False
        return train.TrainResult(2, 0.7, 0.8, "fp32", 0, [])

    monkeypatch.setattr(train, "run", fake_run)
    tasks.train_job.apply(args=[job.id])
    assert store.get_job(job.id).status == "completed"
    assert [(m.epoch, m.n, m.values["fd"]) for m in store.metrics(job.id)] == [(1, 200, 49.0), (2, 200, 48.0)]


def test_eval_task_stores_the_figures_twice(tasks, store, home, monkeypatch):
    from ganctl.jobs import sample
    from ganctl.jobs.quality import classifier, metrics, scoring
    from ganctl.jobs.store.repo import ArtifactRow

    import numpy as np

    parent = _trained(store, artifacts=[ArtifactRow("h5-generator", "/x/generator.h5", 1, "c" * 64)])
    child = store.create_job("eval", {"n": 64, "seed": 3}, parent_id=parent.id)
    seen = {}

    def fake_load(spec, export_dir, fmt="h5", expected_sha256=None):
        seen.update(export=export_dir, sha=expected_sha256)
        return lambda z: np.zeros((len(z), 28, 28, 1), np.float32)

    def fake_evaluate(fake, real, clf, *, classes=(), grid_images=None, seed=0):
        seen.update(n=len(fake), classes=classes, grid=len(grid_images), real=len(real))
        return type("Q", (), {"to_dict": lambda self: BAD | {"n": len(fake)}})()

    monkeypatch.setattr(sample, "load_generator", fake_load)
    monkeypatch.setattr(metrics, "evaluate", fake_evaluate)
    monkeypatch.setattr(scoring, "real_reference", lambda classes, n, seed=0: np.zeros((n, 28, 28, 1), np.uint8))
    monkeypatch.setattr(classifier, "get_classifier", lambda: "clf")
    tasks.eval_job.apply(args=[child.id])
    done = store.get_job(child.id)
    assert done.status == "completed", done.error
    assert done.result["fd"] == 390.0 and done.result["n"] == 64
    assert seen == {"export": home / "artifacts" / parent.id / "export", "sha": "c" * 64, "n": 64,
                    "classes": (1,), "grid": 12, "real": 128}
    [row] = store.metrics(parent.id)
    assert row.epoch is None and row.n == 64 and row.collapse and row.values["fd"] == 390.0
