"""Forward FLOPs of a Keras model counted from its layers (multiply-adds x 2)."""
from __future__ import annotations

import math


def forward_flops(model) -> int:
    """As ganctl runs it: an (UpSampling2D, Conv2D) pair jobs/subpixel.py fuses counts as the one
    convolution on the small image that it runs."""
    from ganctl.jobs.subpixel import fold, fusable

    total, before = 0, None
    for layer in model.layers:
        kind = type(layer).__name__
        out = layer.output.shape[1:]
        if kind == "Dense":
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif kind == "Conv2D" and fusable(before, layer):
            kh, kw, cin, cout = layer.kernel.shape
            taps = fold(kh, 0).shape[0]  # 2r + 1 small pixels a side
            total += 2 * (out[0] // 2) * (out[1] // 2) * taps * taps * cin * 4 * cout
        elif kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape
            total += 2 * out[0] * out[1] * kh * kw * cin * cout
        elif kind == "Conv2DTranspose":
            kh, kw, cout, cin = layer.kernel.shape
            h_in, w_in = layer.input.shape[1:3]
            total += 2 * h_in * w_in * kh * kw * cin * cout
        elif kind in ("BatchNormalization", "LeakyReLU"):
            total += 4 * math.prod(out)
        before = layer
    return total


def train_flops_per_image(generator, discriminator) -> int:
    """One joint step per image: G forward, D on real and fake; backward ~2x forward."""
    return 3 * (forward_flops(generator) + 2 * forward_flops(discriminator))
