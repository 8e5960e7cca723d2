"""`ganctl submit --recipe/--loss/...`: recorded in the spec, shown by status; bad combinations are
one line, exit 2, nothing queued."""
from __future__ import annotations

import json

import pytest

from ganctl.jobs import recipes
from ganctl.jobs.spec import TrainSpec

from cli_helpers import assert_one_line_error, broker_messages, job_rows


def recipe_line(status_text: str) -> str:
    return next(x for x in status_text.splitlines() if x.startswith("recipe"))


def test_recipe_and_switches_are_recorded_and_shown(cli, home):
    result = cli("submit", "--arch", "dcgan", "--epochs", "2", "--recipe", "modern", "--augment", "color,translation",
                 "--r1", "0.5", "--mode-seeking", "0.3", "--beta2", "0.99", "--json")
    assert result.exit_code == 0, result.stderr
    job = json.loads(result.stdout)
    spec = job["spec"]
    assert spec["recipe"] == "modern" and spec["augment"] == ["translation", "color"]
    assert spec["r1"] == 0.5 and spec["mode_seeking"] == 0.3 and spec["beta_2"] == 0.99
    assert spec["loss"] is None  # None: the recipe's
    text = cli("status", job["id"][:8]).stdout
    line = next(x for x in text.splitlines() if x.strip().startswith("recipe"))
    assert ("modern  loss hinge  spectral-norm  ema 0.999  augment translation,color  r1 0.5  "
            "mode-seeking 0.3  lr_g 0.0001  lr_d 0.0004  beta_1 0  beta_2 0.99") in line
    seed = json.loads(cli("submit", "--arch", "upsample", "--recipe", "seed", "--json").stdout)
    assert seed["spec"]["recipe"] == "seed"
    assert "seed  loss bce" in cli("status", seed["id"][:8]).stdout
    off = json.loads(cli("submit", "--recipe", "modern", "--ema", "0", "--no-spectral-norm", "--json").stdout)
    assert "modern  loss hinge  augment translation,cutout  lr_g" in cli("status", off["id"][:8]).stdout


def test_without_recipe_a_submission_gets_the_default_and_an_old_job_stays_seed(cli, home, store):
    """The default applies to new submissions only: a job stored before recipes existed (its spec
    names none) ran the seed recipe, and status, extend and fork must keep reading it so."""
    new = json.loads(cli("submit", "--arch", "dcgan", "--json").stdout)
    assert new["spec"]["recipe"] == recipes.DEFAULT
    assert recipe_line(cli("status", new["id"][:8]).stdout).startswith(f"recipe   {recipes.DEFAULT}  loss")
    old_spec = {k: v for k, v in new["spec"].items() if k not in recipes.SWITCHES and k != "recipe"}
    old = store.create_job("train", old_spec, total_epochs=old_spec["epochs"], max_attempts=3)
    assert recipe_line(cli("status", old.id[:8]).stdout).startswith("recipe   seed  loss bce")
    assert TrainSpec.model_validate(old_spec).recipe == "seed"


def test_the_default_trains_dcgan_as_ema_augment_and_upsample_with_dcgan_adam(cli, home):
    """The default is measured best (docs/BENCHMARKS.md): on dcgan and dcgan64 it is ema-augment
    with their own Adam settings (the DCGAN paper's, as `ganctl archs` lists them) on batches of 32;
    on upsample it replaces the notebook's lr_d 1e-5 and beta_1 0.9, keeping its BCE label noise.
    --batch-size overrides the recipe's batch; status then shows it on the arch line only."""
    def shown(*args):
        job = json.loads(cli("submit", *args, "--json").stdout)
        return recipe_line(cli("status", job["id"][:8]).stdout).split(None, 2)[2]

    archs = {row.split()[0]: row.split() for row in cli("archs").stdout.splitlines()[1:4]}
    dcgan_adam = "lr_g 0.0002  lr_d 0.0002  beta_1 0.5  beta_2 0.999"
    for arch in ("dcgan", "dcgan64"):  # the arch's own = the recipe's
        assert archs[arch][4:7] == ["0.0002", "0.0002", "0.5/0.999"]
    assert archs["dcgan"][3] == "128"
    assert shown("--arch", "dcgan") == f"loss bce  ema 0.999  augment translation,cutout  {dcgan_adam}  batch 32"
    assert shown("--arch", "dcgan64") == f"loss bce  ema 0.999  augment translation,cutout  {dcgan_adam}  batch 32"
    assert shown("--arch", "dcgan", "--recipe", "ema-augment") == "loss bce  ema 0.999  augment translation,cutout"
    assert shown("--arch", "dcgan", "--recipe", "ema-augment-dcgan-adam") == \
        f"loss bce  ema 0.999  augment translation,cutout  {dcgan_adam}"
    assert shown("--arch", "dcgan", "--batch-size", "64") == f"loss bce  ema 0.999  augment translation,cutout  {dcgan_adam}"
    job = json.loads(cli("submit", "--arch", "dcgan", "--batch-size", "64", "--json").stdout)
    assert "  batch 64  " in next(x for x in cli("status", job["id"][:8]).stdout.splitlines() if x.startswith("arch"))
    assert archs["upsample"][4:8] == ["0.0001", "1e-05", "0.9/0.999", "sigmoid"]
    assert shown("--arch", "upsample") == f"loss bce  ema 0.999  augment translation,cutout  {dcgan_adam}  batch 32"
    assert shown("--arch", "upsample", "--recipe", "seed") == "loss bce"


@pytest.mark.parametrize("args, needle", [
    (["--recipe", "fancy"], "unknown recipe 'fancy'"),
    (["--loss", "mse"], "--loss"),
    (["--loss", "wgan-gp", "--r1", "1"], "--r1 with --loss wgan-gp"),
    (["--recipe", "modern", "--label-smoothing", "0.1"], "--label-smoothing/--label-noise are BCE label tricks"),
    (["--loss", "hinge", "--label-noise", "0.1"], "--loss hinge has no labels"),
    (["--ema", "1.0"], "--ema"),
    (["--r1", "-1"], "--r1"),
    (["--mode-seeking", "-0.1"], "--mode-seeking"),
    (["--augment", "rotate"], "unknown augmentation rotate"),
    (["--beta1", "1.5"], "--beta1"),
])
def test_bad_recipe_combinations_queue_nothing(cli, home, args, needle):
    result = cli("submit", *args)
    assert_one_line_error(result, needle)
    assert job_rows(home) == []
    assert broker_messages(home) == 0
