"""The machine's own peak, measured with TensorFlow in the job's precision: a large matmul and a
convolution shaped like the architecture's busiest layer. bench.train reports the share of it a
training step reaches, so a figure means the same on an AMX Xeon and on a 2-core EPYC.

    python -m bench.peak [--arch upsample] [--precision fp32]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# (input H, W, C_in, C_out, kernel): upsample's 28x28x128 -> 128 5x5 (the probe);
# dcgan's generator 14x14x128 -> 64 5x5 (the transposed convolution's equivalent work).
CONVS = {"upsample": (28, 28, 128, 128, 5), "dcgan": (14, 14, 128, 64, 5)}
DTYPES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


def peak_gflops(arch: str, precision: str, batch: int = 128, reps: int = 5) -> dict:
    """{'matmul': GFLOP/s of a 4096x4096 matmul, 'conv': GFLOP/s of the arch's convolution} in the
    job's compute dtype (mixed precisions compute in bf16/fp16)."""
    import tensorflow as tf

    from bench.common import median_ms

    dtype = DTYPES[precision]
    n = 4096
    a = tf.random.normal((n, n), dtype=tf.float32)
    a = tf.cast(a, dtype)
    matmul = tf.function(lambda m: tf.matmul(m, m))
    h, w, cin, cout, k = CONVS[arch]
    x = tf.cast(tf.random.normal((batch, h, w, cin)), dtype)
    kernel = tf.cast(tf.random.normal((k, k, cin, cout)), dtype)
    conv = tf.function(lambda t: tf.nn.conv2d(t, kernel, 1, "SAME"))
    return {"matmul": 2 * n ** 3 / median_ms(matmul, a, reps) / 1e6,
            "conv": 2 * batch * h * w * k * k * cin * cout / median_ms(conv, x, reps) / 1e6}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(CONVS), default="upsample")
    parser.add_argument("--precision", choices=sorted(DTYPES), default="fp32")
    args = parser.parse_args(argv)
    from bench.common import cpu_name

    peak = peak_gflops(args.arch, args.precision)
    print(f"machine: {cpu_name()}")
    print(f"{args.precision}: matmul 4096^2 {peak['matmul']:.0f} GFLOP/s, "
          f"{args.arch} convolution {CONVS[args.arch]} {peak['conv']:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
