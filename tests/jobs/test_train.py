"""Real TensorFlow training on 256 real trousers, both seed architectures."""
import json
import math

import numpy as np
import pytest
from PIL import Image

from ganctl.jobs import archs, artifacts, sample, train
from ganctl.jobs.checkpoints import Checkpoints
from ganctl.jobs.layout import temps_of
from ganctl.jobs.spec import TrainSpec

pytestmark = pytest.mark.slow

SMALL = dict(classes="trouser", limit=256, batch_size=64, epochs=2)


@pytest.mark.parametrize("arch, g_params, d_params", [
    ("upsample", 2_155_137, 1_113_345), ("dcgan", 2_330_944, 6_629_953)])
def test_parameter_counts_match_the_seeds(arch, g_params, d_params):
    info = archs.get(arch)
    g, d = info.build_generator(info.noise_dim), info.build_discriminator(info.image_shape)
    assert (g.count_params(), d.count_params()) == (g_params, d_params)
    assert g.output_shape == (None, 28, 28, 1) and d.output_shape == (None, 1)


@pytest.fixture(scope="module", params=["upsample", "dcgan"])
def trained(request, tmp_path_factory):
    spec = TrainSpec(arch=request.param, **SMALL)
    workdir = tmp_path_factory.mktemp(request.param)
    reports, batches = [], []
    result = train.run(spec, workdir, train.Hooks(on_epoch=reports.append,
                                                  on_batch=lambda e, s, n: batches.append((e, s, n))))
    return spec, workdir, result, reports, batches


def test_training_reports_every_epoch_with_finite_losses_and_a_grid(trained):
    spec, workdir, result, reports, batches = trained
    assert [r.epoch for r in reports] == [1, 2]
    assert batches[-1] == (2, 4, 4)  # 256 images / 64 per batch
    for r in reports:
        assert math.isfinite(r.d_loss) and math.isfinite(r.g_loss) and r.images_per_s > 0
        grid = Image.open(r.grid_path)
        assert grid.size == (4 * (28 * 4 + 2) + 2, 3 * (28 * 4 + 2) + 2)  # 12 images, 4x3
    assert result.epochs_done == 2 and result.precision in ("bf16", "fp32")


def test_tensorboard_events_hold_each_epoch(trained):
    from ganctl.jobs.tensorboard import read_images, read_scalars

    _, workdir, _, reports, _ = trained
    scalars = read_scalars(workdir / "tensorboard")
    assert [step for step, _ in scalars["d_loss"]] == [1, 2]
    assert scalars["g_loss"][-1][1] == pytest.approx(reports[-1].g_loss, rel=1e-5)
    assert len(read_images(workdir / "tensorboard")["grid"]) == 2


def test_export_writes_h5_and_savedmodel_with_a_manifest(trained):
    _, workdir, result, _, _ = trained
    manifest = json.loads((workdir / "export" / "manifest.json").read_text())
    formats = {a.format for a in result.artifacts}
    assert formats == {"h5-generator", "h5-discriminator", "savedmodel-generator",
                       "savedmodel-discriminator", "manifest"}
    for a in result.artifacts:
        if a.format != "manifest":
            assert manifest[a.format]["sha256"] == a.sha256 == artifacts.digest(
                workdir / "export" / manifest[a.format]["file"])[1]
    assert temps_of(workdir / "export") == []  # the temporary folder was renamed into place
    assert (workdir / "export").is_dir()


@pytest.mark.parametrize("fmt", ["h5", "savedmodel"])
def test_sampling_round_trip_in_both_formats(trained, fmt, tmp_path):
    spec, workdir, result, _, _ = trained
    expected = {a.format: a.sha256 for a in result.artifacts}
    out = sample.sample_to(spec, workdir, tmp_path, n=12, seed=7, fmt=fmt, expected_sha256=expected)
    assert len(out.files) == 12 and Image.open(out.files[0]).size == (28, 28)
    assert Image.open(out.grid).size == (4 * 114 + 2, 3 * 114 + 2)
    gen = sample.load_generator(spec, workdir / "export", fmt)
    images = sample.generate(spec, gen, 30, seed=7)
    assert images.shape == (30, 28, 28, 1) and images.dtype == np.uint8


def test_both_formats_give_the_same_images(trained):
    spec, workdir, _, _, _ = trained
    a = sample.generate(spec, sample.load_generator(spec, workdir / "export", "h5"), 8, seed=3)
    b = sample.generate(spec, sample.load_generator(spec, workdir / "export", "savedmodel"), 8, seed=3)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def test_h5_sampling_computes_in_the_jobs_precision(trained):
    spec, workdir, _, _, _ = trained
    assert sample.untrained_generator(spec, "bf16").dtype_policy.name == "mixed_bfloat16"
    assert sample.untrained_generator(spec).dtype_policy.name == "float32"
    fast = sample.generate(spec, sample.load_generator(spec, workdir / "export", "h5"), 64, seed=5)
    exact_spec = spec.model_copy(update={"precision": "fp32"})
    exact = sample.generate(exact_spec, sample.load_generator(exact_spec, workdir / "export", "h5"), 64, seed=5)
    assert np.abs(fast.astype(int) - exact.astype(int)).max() <= 2


def test_tampered_artifact_is_refused_on_both_paths(trained, tmp_path):
    import shutil

    spec, workdir, result, _, _ = trained
    copy = tmp_path / "job"
    shutil.copytree(workdir / "export", copy / "export")
    with open(copy / "export" / "generator.h5", "r+b") as fh:
        fh.seek(-64, 2)
        fh.write(b"\0" * 64)
    with pytest.raises(artifacts.ArtifactError, match="sha256"):
        sample.load_generator(spec, copy / "export", "h5")
    # A swapped SavedModel with a consistent manifest is still refused against the store's hash.
    store_hash = {a.format: a.sha256 for a in result.artifacts}["savedmodel-generator"]
    (copy / "export" / "generator_savedmodel" / "fingerprint.pb").write_bytes(b"swapped")
    with pytest.raises(artifacts.ArtifactError, match="sha256"):
        sample.load_generator(spec, copy / "export", "savedmodel", store_hash)


def test_untrained_generator_samples_like_seed_002_step_4(tmp_path):
    spec = TrainSpec(arch="dcgan")
    images = sample.generate(spec, sample.untrained_generator(spec), 12, seed=1)
    out = sample.write(images, tmp_path)
    assert Image.open(out.grid).size == (458, 344)


def _weights(workdir):
    with np.load(sorted((workdir / "checkpoints").glob("*.npz"))[-1]) as npz:
        return [npz[k] for k in sorted(npz.files)]


@pytest.mark.parametrize("arch", ["dcgan", "upsample"])
def test_resume_ends_with_the_same_weights_as_a_straight_run(arch, tmp_path):
    spec = TrainSpec(arch=arch, classes="trouser", limit=128, batch_size=64, epochs=3, precision="fp32")
    train.run(spec, tmp_path / "straight")

    def stop_after_first_epoch(report):
        if report.epoch == 1:
            raise KeyboardInterrupt  # the process dies after epoch 1 was reported
    with pytest.raises(KeyboardInterrupt):
        train.run(spec, tmp_path / "resumed", train.Hooks(on_epoch=stop_after_first_epoch))
    assert not list((tmp_path / "resumed" / "checkpoints").glob("*.npz"))  # died before checkpointing
    one = spec.model_copy(update={"epochs": 1})
    train.run(one, tmp_path / "resumed")
    result = train.run(spec, tmp_path / "resumed")
    assert result.resumed_from == 1
    for a, b in zip(_weights(tmp_path / "straight"), _weights(tmp_path / "resumed")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path):
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=64, batch_size=64, epochs=2)
    train.run(spec, tmp_path)
    ckpts = Checkpoints(tmp_path / "checkpoints")
    assert ckpts.epochs() == [1, 2]
    ckpts.path(2).write_bytes(ckpts.path(2).read_bytes()[:1000])
    longer = spec.model_copy(update={"epochs": 3})
    assert train.run(longer, tmp_path).resumed_from == 1


def test_cancel_between_batches_keeps_the_checkpoint(tmp_path):
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=256, batch_size=64, epochs=3)
    seen = []
    hooks = train.Hooks(on_epoch=seen.append, should_stop=lambda: len(seen) >= 1)
    with pytest.raises(train.Cancelled):
        train.run(spec, tmp_path, hooks)
    assert Checkpoints(tmp_path / "checkpoints").epochs() == [1]
    assert not (tmp_path / "export").exists()


def test_non_finite_losses_stop_the_job_without_artifacts(tmp_path):
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=64, batch_size=64, epochs=2, lr_d=1.0, lr_g=1.0)
    with pytest.raises(train.NonFiniteLoss, match="non-finite loss"):
        _poisoned_run(spec, tmp_path)
    assert not (tmp_path / "export").exists()


def _poisoned_run(spec, workdir):
    # A learning rate of 1.0 does not reliably overflow in two steps; a NaN weight always does.
    original = train.build

    def build_with_nan(*a, **kw):
        gan, precision = original(*a, **kw)
        w = gan.discriminator.trainable_variables[0]
        w.assign(np.full(w.shape, np.nan, np.float32))
        return gan, precision
    train.build = build_with_nan
    try:
        return train.run(spec, workdir)
    finally:
        train.build = original


@pytest.mark.parametrize("fields, steps", [({}, 3), ({"batch_size": 48}, 2), ({"recipe": "seed"}, 1)])
def test_the_default_recipe_trains_on_batches_of_32_unless_the_job_says_otherwise(fields, steps, tmp_path):
    """A submission without --recipe/--batch-size gets the default recipe's batch of 32 (dcgan's own
    is 128, which `--recipe seed` keeps); --batch-size overrides the recipe."""
    spec = TrainSpec.submitted(arch="dcgan", classes="trouser", limit=96, epochs=1, **fields)
    batches = []
    # on_built (bench.quality's mid-epoch probes) gets the GAN before the first batch
    hooks = train.Hooks(on_batch=lambda epoch, step, n: batches.append((step, n)),
                        on_built=lambda gan: batches.append(gan.generate(np.zeros((2, 100), np.float32)).shape))
    train.run(spec, tmp_path, hooks)
    assert batches[0] == (2, 28, 28, 1)
    assert batches[-1] == (steps, steps)


def test_fp16_trains_with_loss_scaling_and_exports(tmp_path):
    """--precision fp16 (what `auto` picks on GPUs before Ampere) trains and exports. Its loss
    scaling has to happen inside the gradient tapes: outside them every step failed with "No
    gradients provided for any variable". float16 is emulated on this CPU (slow, no GPU here), but
    the step is the same graph a GPU runs."""
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=32, batch_size=16, epochs=2, precision="fp16")
    reports = []
    result = train.run(spec, tmp_path, train.Hooks(on_epoch=reports.append))
    assert result.precision == "fp16" and result.epochs_done == 2
    assert all(math.isfinite(r.d_loss) and math.isfinite(r.g_loss) for r in reports)
    assert reports[0].d_loss != reports[1].d_loss  # the weights moved between the epochs
    assert (tmp_path / "export" / "generator.h5").exists()
