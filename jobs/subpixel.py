"""UpSampling2D (nearest, 2x) followed by a 'same' Conv2D, computed on the small image: the same
function with the same weights, in about a third of the multiply-adds.

An output pixel of the pair at (2m + p, 2n + q) sees a k x k window of the upsampled image, which
covers only 3 x 3 (for k = 5) input pixels: taps that land on the same input pixel add up. So each
of the four output phases (p, q) is a 3 x 3 convolution of the input with a folded kernel, and one
convolution with 4 x filters outputs followed by depth_to_space interleaves them. For upsample's
generator (k = 5): 36 multiply-adds per input pixel and channel pair instead of 100. Only the
calls change: the layers, their weights, checkpoints and exports stay Keras' own (docs/BENCHMARKS.md).
"""
from __future__ import annotations

import types

import keras
import numpy as np
import tensorflow as tf


def fold(k: int, phase: int) -> np.ndarray:
    """(2r + 1, k): which of the k kernel taps land on each input pixel m - r .. m + r, for output
    pixel 2m + phase (r = 1 for k = 3 and 5). A window centred on m for both phases: one 'same'
    convolution serves all four."""
    r = (k // 2 + 1) // 2
    out = np.zeros((2 * r + 1, k), np.float32)
    for i in range(k):
        out[(phase + i - k // 2) // 2 + r, i] = 1.0  # the input pixel tap i of the big kernel reads
    return out


def fusable(up, conv) -> bool:
    return (isinstance(up, keras.layers.UpSampling2D) and tuple(up.size) == (2, 2)
            and up.interpolation == "nearest" and up.data_format == "channels_last"
            and isinstance(conv, keras.layers.Conv2D) and type(conv) is keras.layers.Conv2D
            and conv.padding == "same" and tuple(conv.strides) == (1, 1) and tuple(conv.dilation_rate) == (1, 1)
            and conv.groups == 1 and conv.data_format == "channels_last"
            and conv.kernel_size[0] == conv.kernel_size[1] and conv.kernel_size[0] % 2 == 1)


def fuse_upsampling(model) -> int:
    """Each fusable (UpSampling2D, Conv2D) pair of a Sequential `model` runs as one convolution on
    the small image (the upsampling's call becomes the identity). Returns how many pairs."""
    layers, n = list(getattr(model, "layers", [])), 0
    for up, conv in zip(layers, layers[1:]):
        if fusable(up, conv):
            up.call = types.MethodType(lambda self, inputs: inputs, up)
            conv.call = types.MethodType(_upsampled_conv, conv)
            n += 1
    return n


def _upsampled_conv(conv, inputs):
    k = conv.kernel_size[0]
    phases = [(p, q) for p in (0, 1) for q in (0, 1)]  # depth_to_space's channel-block order
    kernel = tf.convert_to_tensor(conv.kernel)  # float32 under mixed precision: fold, then cast
    folded = tf.concat([tf.einsum("ai,bj,ijco->abco", fold(k, p), fold(k, q), kernel) for p, q in phases], axis=-1)
    out = tf.nn.conv2d(inputs, tf.cast(folded, inputs.dtype), strides=1, padding="SAME")
    out = tf.nn.depth_to_space(out, 2)
    if conv.use_bias:
        out = out + tf.cast(conv.bias, out.dtype)
    return conv.activation(out) if conv.activation is not None else out
