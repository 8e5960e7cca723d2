"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training"),
written for ganctl: differentiable, per-image random, from a stateless seed so a resumed run
replays the same draws. The train step applies it to real and fake images alike before the
discriminator, and the generator's gradient flows through it.

Pixels are in [lo, lo + span] (the arch's output range); translation and cutout fill with `lo`,
the black background of Fashion-MNIST and of most picture folders.
"""
from __future__ import annotations

import tensorflow as tf


def _uniform(shape, seed, i):
    return tf.random.stateless_uniform(shape, seed + tf.constant([0, 7919], tf.int64) * i)


def color(x, seed, lo, span):
    b = tf.shape(x)[0]
    x = x + (_uniform([b, 1, 1, 1], seed, 1) - 0.5) * span  # brightness
    if x.shape[-1] > 1:  # saturation: greys have none
        mean = tf.reduce_mean(x, axis=3, keepdims=True)
        x = (x - mean) * (_uniform([b, 1, 1, 1], seed, 2) * 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_uniform([b, 1, 1, 1], seed, 3) + 0.5) + mean  # contrast


def translation(x, seed, lo, ratio=0.125):
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    ph, pw = max(1, int(h * ratio + 0.5)), max(1, int(w * ratio + 0.5))
    dy = tf.cast(tf.floor(_uniform([b, 1], seed, 4) * (2 * ph + 1)), tf.int32)  # 0..2ph: shift dy - ph
    dx = tf.cast(tf.floor(_uniform([b, 1], seed, 5) * (2 * pw + 1)), tf.int32)
    padded = tf.pad(x - lo, [[0, 0], [ph, ph], [pw, pw], [0, 0]]) + lo
    rows = tf.range(h)[None, :] + 2 * ph - dy  # row i reads padded row i + ph - (dy - ph)
    cols = tf.range(w)[None, :] + 2 * pw - dx
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def cutout(x, seed, lo, ratio=0.5):
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = tf.floor(_uniform([b, 1, 1, 1], seed, 6) * h)
    cx = tf.floor(_uniform([b, 1, 1, 1], seed, 7) * w)
    ys = tf.range(h, dtype=tf.float32)[None, :, None, None]
    xs = tf.range(w, dtype=tf.float32)[None, None, :, None]
    inside = tf.logical_and(tf.abs(ys - cy) < sh / 2, tf.abs(xs - cx) < sw / 2)
    return tf.where(inside, tf.cast(lo, x.dtype), x)


def diff_augment(x, policies: tuple[str, ...], seed, lo: float, span: float):
    """x float32 (b, h, w, c); `seed` a stateless seed pair (int64); the same policy order each time."""
    for i, name in enumerate(policies):
        s = seed + tf.constant([0, 104729], tf.int64) * (i + 1)
        if name == "color":
            x = color(x, s, lo, span)
        elif name == "translation":
            x = translation(x, s, lo)
        elif name == "cutout":
            x = cutout(x, s, lo)
        else:
            raise ValueError(f"unknown augmentation {name!r}")
    return x
