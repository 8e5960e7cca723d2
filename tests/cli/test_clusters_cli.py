"""Self-conditioned jobs (`submit --clusters K`) through the CLI with the worker's tasks run
in-process (`task.apply`) on real Fashion-MNIST images and real training; and the refusals,
which queue nothing."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, job_rows


def _ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result.stdout.strip()


@pytest.mark.slow
def test_a_self_conditioned_job_trains_samples_and_shows_its_clusters(cli, tasks, store, home):
    # The seed's networks (the layered design trains in tests/jobs/test_clusters.py).
    job_id = _ok(cli("submit", "--arch", "dcgan", "--clusters", "5", "--no-cluster-layers", "--limit", "300",
                     "--batch-size", "32", "--epochs", "2", "--eval-every", "2", "--eval-n", "100", "--seed", "0"))
    tasks.train_job.apply(args=[job_id])
    assert store.get_job(job_id).status == "completed", store.get_job(job_id).error
    status = _ok(cli("status", job_id[:8]))
    assert ("self-conditioned  5 clusters of its training images' pixels, drawn uniformly; the seed's networks "
            "(fixed codes, pixel-centre class loss)  class loss 1") in status
    assert "per class" not in status  # an unconditional job: no classes were asked for
    # The epoch grids: an unconditional job's 12 images (4 x 3, not a row per cluster), the clusters in turn.
    grids = store.grids(job_id)
    assert len(grids) == 2 and Image.open(grids[-1].path).size == (4 * 114 + 2, 3 * 114 + 2)

    sample_id = _ok(cli("sample", job_id, "--n", "7", "--seed", "3", "--no-wait"))
    tasks.sample_job.apply(args=[sample_id])
    done = store.get_job(sample_id)
    assert done.status == "completed", done.error
    assert len(done.result["files"]) == 7
    assert Image.open(done.result["files"][0]).size == (28, 28)
    before = job_rows(home)
    assert_one_line_error(cli("sample", job_id, "--class", "trouser"), "not class-conditional")
    assert job_rows(home) == before


def test_submit_clusters_refusals_queue_nothing(cli, home):
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--clusters", "1"), "--clusters needs at least 2")
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--clusters", "10", "--conditional"),
                          "--clusters is for unconditional jobs")
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--clusters", "50", "--limit", "20"),
                          "--clusters 50 is more than the 20 training images")
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--clusters", "-3"), "--clusters")
    for extra in (["--class-loss", "0"], ["--recipe", "seed"]):
        assert_one_line_error(cli("submit", "--arch", "dcgan", "--clusters", "5", "--no-cluster-layers", *extra),
                              "--no-cluster-layers needs a class loss")
    for flag in ("--cluster-layers", "--no-cluster-layers"):
        assert_one_line_error(cli("submit", "--arch", "dcgan", flag),
                              "--cluster-layers/--no-cluster-layers says how --clusters K enters the networks")
    # A sweep names the configuration a rule over several fields refused.
    assert_one_line_error(cli("sweep", "--arch", "dcgan", "--epochs", "2", "--eval-every", "1", "--set", "clusters=5",
                              "--set", "class_loss=0", "--set", "cluster_layers=false"),
                          "the sweep's configuration clusters=5 class_loss=0 cluster_layers=false: "
                          "--no-cluster-layers needs a class loss")
    assert job_rows(home) == []
    # Accepted: the conditional path's design and losses on the clusters (docs/BENCHMARKS.md), the
    # seed's networks with --no-cluster-layers.
    d = json.loads(_ok(cli("status", _ok(cli("submit", "--arch", "dcgan", "--clusters", "10")), "--json")))
    assert (d["spec"]["clusters"], d["spec"]["class_dims"], d["spec"]["class_loss"], d["spec"]["mode_seeking"]) \
        == (10, 10, 1.0, 0.1)
    assert d["spec"]["conditional"] is False and "cluster_layers" not in d["spec"]  # the layers, as stored jobs
    plain = _ok(cli("submit", "--arch", "dcgan", "--clusters", "10", "--no-cluster-layers"))
    assert json.loads(_ok(cli("status", plain, "--json")))["spec"]["cluster_layers"] is False
    assert "the seed's networks (fixed codes, pixel-centre class loss)" in _ok(cli("status", plain))
    # A sweep's clusters=0 cell is the plain job beside the clustered ones (values arrive as text).
    sweep = json.loads(_ok(cli("sweep", "--arch", "dcgan", "--epochs", "2", "--eval-every", "1",
                               "--set", "clusters=0,8.0", "--set", "cluster_layers=false", "--json")))
    specs = [json.loads(_ok(cli("status", j, "--json")))["spec"] for j in sweep["jobs"]]
    assert sorted((s.get("clusters", 0), s.get("cluster_layers", True), s.get("class_loss", 0)) for s in specs) \
        == [(0, True, 0), (8, False, 1.0)]  # --clusters 8's design defaults, as `submit --clusters 8` gets
    # Both layouts beside the plain job: the clusters=0 cells are one job, shown without layers.
    grid = json.loads(_ok(cli("sweep", "--arch", "dcgan", "--epochs", "2", "--eval-every", "1",
                              "--set", "clusters=0,8", "--set", "cluster_layers=true,false", "--json")))
    assert len(grid["jobs"]) == 3
    shown = " ".join(_ok(cli("sweep", "status", grid["id"])).split())
    assert all(c in shown for c in ("clusters=0 cluster_layers=-", "clusters=8 cluster_layers=True",
                                    "clusters=8 cluster_layers=False")), shown
    # Without clusters in the sweep, the layout is refused as `submit --cluster-layers` is, not dropped.
    assert_one_line_error(cli("sweep", "--arch", "dcgan", "--epochs", "2", "--eval-every", "1",
                              "--set", "cluster_layers=true,false"),
                          "--cluster-layers/--no-cluster-layers says how --clusters K enters the networks")


def test_a_job_stored_before_a_submission_rule_still_reads_back(cli, store, home):
    """A --clusters job queued while `--recipe seed` without layers was accepted (no class loss) is
    refused as a new submission, but its stored spec still reads back where workers, samplers and
    forks read it (TrainSpec.model_validate), and `status` shows it."""
    from ganctl.jobs.spec import TrainSpec

    fields = {"arch": "dcgan", "clusters": 5, "class_dims": 10, "cluster_layers": False, "recipe": "seed",
              "epochs": 1}
    with pytest.raises(ValueError, match="--no-cluster-layers needs a class loss"):
        TrainSpec.submitted(**fields)
    job = store.create_job("train", TrainSpec.model_validate(fields).model_dump(mode="json"), total_epochs=1)
    assert "the seed's networks (fixed codes, pixel-centre class loss)" in _ok(cli("status", job.id))
    assert TrainSpec.model_validate(job.spec | {"epochs": 3}).epochs == 3  # as a fork or extend reads it


def test_submit_clusters_counts_a_folders_images_before_queueing(cli, home, tmp_path):
    pictures = tmp_path / "pictures"
    pictures.mkdir()
    for i in range(4):
        Image.new("L", (28, 28), 40 * i).save(pictures / f"p{i}.png")
    (pictures / "notes.txt").write_text("not an image")
    dataset = f"folder:{pictures}"
    assert_one_line_error(cli("submit", "--arch", "dcgan", "--dataset", dataset, "--clusters", "5"),
                          f"dataset folder {pictures} has 4 images: --clusters 5 needs at least 5")
    assert job_rows(home) == []
    d = json.loads(_ok(cli("status", _ok(cli("submit", "--arch", "dcgan", "--dataset", dataset,
                                              "--clusters", "4")), "--json")))
    assert d["spec"]["clusters"] == 4

