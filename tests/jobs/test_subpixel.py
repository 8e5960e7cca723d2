"""jobs/subpixel.py: upsample's generator with its (UpSampling2D, Conv2D) pairs run on the small
image gives the same images and gradients as Keras' layers (float32 to rounding, bfloat16 to its
precision), and what is saved is still plain Keras."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs import archs
from ganctl.jobs.subpixel import fold, fuse_upsampling


def test_each_tap_of_the_big_kernel_lands_on_one_small_pixel():
    assert fold(5, 0).tolist() == [[1, 1, 0, 0, 0], [0, 0, 1, 1, 0], [0, 0, 0, 0, 1]]
    assert fold(5, 1).tolist() == [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 1, 1]]
    assert fold(3, 0).tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]


def _pair(g, z):
    with tf.GradientTape() as tape:
        out = g(z, training=True)
        loss = tf.reduce_mean(tf.square(tf.cast(out, tf.float32)))
    return np.asarray(out, np.float32), [np.asarray(v) for v in tape.gradient(loss, g.trainable_variables)]


def _generator(policy: str, fused: bool):
    info = archs.get("upsample")
    keras.mixed_precision.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(1)  # the same weights under either policy (variables are float32)
        g = info.build_generator(info.noise_dim)
        assert fuse_upsampling(g) == 2 if fused else True
        return g, _pair(g, tf.random.normal((8, info.noise_dim), seed=2))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_the_upsample_generator_gives_the_same_images_and_gradients(tmp_path):
    assert fuse_upsampling(archs.get("dcgan").build_generator(100)) == 0  # no such pair there
    _, (want, want_grads) = _generator("float32", fused=False)
    g, (got, got_grads) = _generator("float32", fused=True)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    for a, b in zip(got_grads, want_grads):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5 * float(np.abs(b).max()))
    g.save(tmp_path / "g.h5")  # saved as Keras' layers: a plain load gives the same images
    plain = keras.models.load_model(tmp_path / "g.h5", compile=False)
    assert [type(x).__name__ for x in plain.layers].count("UpSampling2D") == 2
    z = tf.random.normal((4, archs.get("upsample").noise_dim), seed=3)
    np.testing.assert_allclose(np.asarray(plain(z)), np.asarray(g(z)), rtol=1e-4, atol=1e-5)


def test_in_bfloat16_it_is_as_near_float32_as_keras_own_path():
    """bfloat16 rounds both paths (the bias gradients, sums over 28 x 28 x 8 positions, by up to
    half their size): the fused path's distance from the float32 figures is Keras' own or less."""
    _, (ref, ref_grads) = _generator("float32", fused=False)
    _, (keras_out, keras_grads) = _generator("mixed_bfloat16", fused=False)
    _, (out, grads) = _generator("mixed_bfloat16", fused=True)
    err = lambda a, b: float(np.linalg.norm(a - b) / np.linalg.norm(b))  # noqa: E731
    assert err(out, ref) <= 1.5 * err(keras_out, ref) + 1e-3, (err(out, ref), err(keras_out, ref))
    for mine, theirs, want in zip(grads, keras_grads, ref_grads):
        assert err(mine, want) <= 1.5 * err(theirs, want) + 0.02, (mine.shape, err(mine, want), err(theirs, want))
