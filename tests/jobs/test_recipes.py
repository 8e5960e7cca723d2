"""Training recipes on real trousers: the seed recipe is pinned to the pre-recipe code's losses; each
switch trains, checkpoints, resumes (EMA included) and exports."""
import json

import numpy as np
import pytest

from ganctl.jobs import archs, data, sample, train
from ganctl.jobs.conditional import labels_for as conditional_labels
from ganctl.jobs.spec import TrainSpec

pytestmark = pytest.mark.slow

# Recorded from the code before recipes existed (commit 5a41ee2), fp32, 96 trousers, batch 32, seed 3.
SEED_LOSSES = {
    "upsample": [(0.6854861974716187, 0.6895267963409424), (0.684619128704071, 0.6989370584487915),
                 (0.6971603631973267, 0.6917321681976318)],
    "dcgan": [(0.6674822568893433, 0.6934719085693359), (0.5251471996307373, 0.7014315128326416),
              (0.4755590856075287, 0.7755018472671509)],
}


def _steps(spec):
    """One epoch of batch-32 steps (with the images' classes for a conditional spec): (gan, losses)."""
    subset = data.load_for(spec)
    gan, _ = train.build(spec, "fp32")
    labels = conditional_labels(spec, subset) if spec.conditional else None
    batches = data.pipeline(subset.images, 32, train.epoch_seed(spec, 1), spec.info.output, labels)
    steps = (gan.train_step(*b) if spec.conditional else gan.train_step(b) for b in batches)
    return gan, [tuple(float(x) for x in losses) for losses in steps]


@pytest.mark.parametrize("arch", ["upsample", "dcgan"])
def test_seed_recipe_gives_the_pre_recipe_losses(arch):
    spec = TrainSpec(arch=arch, classes="trouser", limit=96, batch_size=32, epochs=1, seed=3, recipe="seed",
                     label_smoothing=0.1 if arch == "dcgan" else 0.0)
    assert TrainSpec(arch=arch).training == spec.training  # seed is the default
    _, losses = _steps(spec)
    np.testing.assert_allclose(losses, SEED_LOSSES[arch], rtol=1e-5)


@pytest.mark.parametrize("arch", ["upsample", "dcgan"])
def test_switches_leave_the_networks_trainable_parameters_unchanged(arch):
    info = archs.get(arch)
    seed_d = info.build_discriminator(info.image_shape)
    spec = TrainSpec(arch=arch, recipe="modern", loss="wgan-gp")
    gan, _ = train.build(spec, "fp32")
    count = lambda ws: sum(int(np.prod(w.shape)) for w in ws)  # noqa: E731
    assert count(gan.discriminator.trainable_weights) == count(seed_d.trainable_weights)
    assert gan.generator.count_params() == gan.ema_generator.count_params() == \
        info.build_generator(info.noise_dim).count_params()
    # Spectral norm adds one non-trainable u vector per Conv2D/Dense: (1, filters or units).
    extra = gan.discriminator.count_params() - seed_d.count_params()
    layers = [w for w in seed_d.layers if w.__class__.__name__ in ("Conv2D", "Dense")]
    assert extra == sum(int(layer.kernel.shape[-1]) for layer in layers)


def _h5_arrays(spec, path):
    """The weights of an exported generator .h5, loaded by layer order (names differ between builds)."""
    generator = sample.untrained_generator(spec)
    generator.load_weights(path)
    return generator.get_weights()


def _assert_checkpoint_restores_the_average(spec, workdir):
    """A fresh job restoring epoch 1's checkpoint holds epoch 1's average (the generator exported
    after epoch 1), not an average restarted from the restored raw weights."""
    from ganctl.jobs.checkpoints import Checkpoints
    from ganctl.jobs.layout import JobFolder

    gan, _ = train.build(spec, "fp32")
    assert Checkpoints(JobFolder(workdir).checkpoints).restore_latest(gan.state_variables()) == 1
    averaged = [v.numpy() for v in gan.ema_generator.trainable_variables]
    exported = sample.untrained_generator(spec)
    exported.load_weights(JobFolder(workdir).export / "generator.h5")
    raw = [v.numpy() for v in gan.generator.trainable_variables]
    for a, e in zip(averaged, [v.numpy() for v in exported.trainable_variables]):
        np.testing.assert_array_equal(a, e)
    # Two steps into the warm-up ramp the average is close to the raw weights, but not them.
    assert any(not np.array_equal(a, r) for a, r in zip(averaged, raw))


@pytest.mark.parametrize("switches", [
    dict(arch="dcgan", recipe="modern", r1=1.0, augment="translation,cutout,color"),  # BatchNorm generator
    dict(arch="upsample", loss="wgan-gp", ema=0.99, augment="color"),  # sigmoid D made linear
], ids=["modern+r1", "wgan-gp+ema"])
def test_switches_train_resume_the_same_ema_and_export_both_generators(switches, tmp_path):
    spec = TrainSpec(classes="trouser", limit=128, batch_size=64, epochs=2, precision="fp32", **switches)
    straight = train.run(spec, tmp_path / "straight")
    assert all(np.isfinite([straight.d_loss, straight.g_loss]))
    one = spec.model_copy(update={"epochs": 1})
    train.run(one, tmp_path / "resumed")
    if spec.training.ema:
        _assert_checkpoint_restores_the_average(spec, tmp_path / "resumed")
    resumed = train.run(spec, tmp_path / "resumed")
    assert resumed.resumed_from == 1
    for name in ("generator.h5", "generator_raw.h5"):
        a, b = (_h5_arrays(spec, tmp_path / w / "export" / name) for w in ("straight", "resumed"))
        assert len(a) == len(b) > 0
        # Two straight runs of these steps differ by up to ~3e-5 (augmentation's gather gradients and
        # R1's second-order pass are summed in thread order) (measured).
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-3, atol=2e-4)
    export = tmp_path / "straight" / "export"
    manifest = json.loads((export / "manifest.json").read_text())
    assert {"h5-generator", "h5-generator-raw", "savedmodel-generator"} <= set(manifest)
    ema, raw = _h5_arrays(spec, export / "generator.h5"), _h5_arrays(spec, export / "generator_raw.h5")
    assert any(not np.allclose(x, y) for x, y in zip(ema, raw))  # the average is not the raw weights
    images = sample.generate(spec, sample.load_generator(spec, export, "savedmodel"), 16, seed=1)
    assert images.shape == (16, 28, 28, 1) and images.std() > 0


def test_ema_is_the_warm_up_ramped_average_of_every_steps_weights():
    """The compiled step's average against the formula recomputed from each step's raw weights:
    ema_t = d_t * ema_(t-1) + (1 - d_t) * w_t, d_t = min(decay, (1 + t) / (10 + t))."""
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=96, batch_size=32, epochs=1, seed=3, ema=0.9)
    subset = data.load_for(spec)
    gan, _ = train.build(spec, "fp32")
    expected = [v.numpy().astype(np.float64) for v in gan.ema_generator.trainable_variables]
    for t, batch in enumerate(data.pipeline(subset.images, 32, train.epoch_seed(spec, 1), spec.info.output)):
        gan.train_step(batch)
        d = min(0.9, (1.0 + t) / (10.0 + t))
        expected = [d * e + (1 - d) * w.numpy() for e, w in zip(expected, gan.generator.trainable_variables)]
    assert t == 2
    for e, v in zip(expected, gan.ema_generator.trainable_variables):
        np.testing.assert_allclose(v.numpy(), e, rtol=1e-5, atol=1e-7)
    assert any(not np.allclose(v.numpy(), w.numpy())
               for v, w in zip(gan.ema_generator.trainable_variables, gan.generator.trainable_variables))


@pytest.mark.parametrize("classes, conditional", [("trouser", False), ("trouser,bag", True)])
def test_ema_batchnorm_statistics_are_recomputed_for_the_averaged_weights(classes, conditional):
    # A conditional generator nests the seed generator (and its BatchNorms) inside one layer: its
    # statistics were once left at their initial values (FD 205 against the raw generator's 111).
    spec = TrainSpec(arch="dcgan", classes=classes, conditional=conditional, limit=96, batch_size=32,
                     epochs=1, seed=3, ema=0.9)
    gan, _ = _steps(spec)
    g = gan.ema_generator
    z = np.random.default_rng(0).standard_normal((1024, 100)).astype(np.float32)
    inputs = [z, np.arange(1024, dtype=np.int32) % 2] if conditional else z

    def off_batch_statistics():  # inference mode against the batch's own statistics
        return float(np.mean(np.abs(np.asarray(g(inputs, training=False)) - np.asarray(g(inputs, training=True)))))

    stale = off_batch_statistics()
    gan.sampler  # noqa: B018 (makes the statistics current)
    assert off_batch_statistics() < stale / 3, stale
    bn_raw = [v.numpy() for v in gan.generator.non_trainable_variables]
    bn_ema = [v.numpy() for v in g.non_trainable_variables]
    assert len(bn_ema) == len(bn_raw) == 6  # three BatchNorms: moving mean and variance
    assert all(not np.allclose(a, b) for a, b in zip(bn_ema, bn_raw))


def test_mode_seeking_adds_lambda_over_the_pairs_image_to_noise_gap_ratio():
    """MSGAN on G's loss: + lambda * mean|z1 - z2| / mean|G(z1) - G(z2)| over the pairs (i, i + 16)
    of the step's noise, D's loss untouched; a last batch of one image (no pair) still trains."""
    import tensorflow as tf

    spec = TrainSpec(arch="dcgan", classes="trouser", limit=33, batch_size=32, epochs=1, seed=3,
                     mode_seeking=0.5)
    batches = list(data.pipeline(data.load_for(spec).images, 32, train.epoch_seed(spec, 1), spec.info.output))
    assert [len(b) for b in batches] == [32, 1]
    with_ms, _ = train.build(spec, "fp32")
    plain, _ = train.build(spec.model_copy(update={"mode_seeking": 0.0}), "fp32")
    noise = tf.random.stateless_normal([32, 100], tf.constant([3, 0], tf.int64)).numpy()
    fake = with_ms.generator(noise, training=True).numpy()  # BatchNorm on the batch, as in the step
    gap = np.abs(fake[:16] - fake[16:]).mean() / np.abs(noise[:16] - noise[16:]).mean()
    (d_ms, g_ms), (d_plain, g_plain) = (np.array(gan.train_step(batches[0])) for gan in (with_ms, plain))
    assert d_ms == pytest.approx(d_plain, rel=1e-5)
    assert g_ms - g_plain == pytest.approx(0.5 / gap, rel=1e-3)
    assert np.isfinite(np.array(with_ms.train_step(batches[1]))).all()
