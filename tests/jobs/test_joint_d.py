"""One discriminator call on concat(real, fake) only where it is the same model: no BatchNorm,
Dropout or spectral norm in D; there it gives the two-call step's losses and weights."""
import numpy as np
import pytest
import tensorflow as tf

from ganctl.jobs import train
from ganctl.jobs.gan import joint_d_call
from ganctl.jobs.spec import TrainSpec


def test_joint_call_only_for_batch_independent_discriminators():
    assert train.build(TrainSpec(arch="dcgan"), "bf16")[0]._joint_d
    assert not train.build(TrainSpec(arch="dcgan"), "fp32")[0]._joint_d  # two calls measured faster in fp32
    assert not train.build(TrainSpec(arch="upsample"), "bf16")[0]._joint_d  # Dropout
    assert not train.build(TrainSpec(arch="dcgan", spectral_norm=True), "bf16")[0]._joint_d
    assert not joint_d_call(tf.keras.Sequential([tf.keras.layers.BatchNormalization()]))


@pytest.mark.parametrize("recipe", ["seed", "ema-augment"])  # augment: each half its own draw
def test_joint_call_trains_like_two_calls(recipe):
    spec = TrainSpec(arch="dcgan", batch_size=16, seed=5, recipe=recipe)
    real = tf.random.stateless_uniform((16, 28, 28, 1), [1, 2], minval=-1.0)
    runs = []
    for joint in (True, False):
        gan, _ = train.build(spec, "fp32")
        gan._joint_d = joint
        losses = [tuple(float(v) for v in gan.train_step(real)) for _ in range(2)]
        runs.append((losses, gan.discriminator.get_weights()[0]))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    # Adam divides by the gradient's scale, so kernel round-off moves a weight by up to ~1e-5;
    # a different model would move it by a whole step (the learning rate, 2e-4).
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-4, atol=3e-5)
