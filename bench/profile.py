"""Where a training step's time goes: each network's forward and backward, the optimizers, the whole
joint step, per precision. This is the measured bottleneck behind docs/BENCHMARKS.md's shortfall.

    python -m bench.profile [--arch upsample] [--precisions bf16,fp32] [--batch 128]

Each part is its own tf.function on a fixed random batch (no input pipeline), timed after warm-up
as the median of --reps calls; TFLOP/s counts the layers' FLOPs (bench.flops).
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def profile(arch: str, precision: str, batch: int, reps: int) -> list[tuple[str, float, float]]:
    """(part, ms, GFLOP) for each part of one training step."""
    import tensorflow as tf

    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    from bench.common import median_ms
    from bench.flops import forward_flops

    spec = TrainSpec(arch=arch, limit=batch, batch_size=batch, precision=precision)
    gan, resolved = train.build(spec)
    gen, disc = gan.generator, gan.discriminator
    noise = tf.random.normal((batch, spec.info.noise_dim))
    real = tf.random.uniform((batch, *spec.info.image_shape))
    pair = tf.concat([real, real], 0)

    def backward(model, x):
        with tf.GradientTape() as tape:
            y = tf.reduce_mean(tf.cast(model(x, training=True), tf.float32))
        return tape.gradient(y, model.trainable_variables)

    g_fwd = tf.function(lambda z: gen(z, training=True))
    d_fwd = tf.function(lambda x: disc(x, training=True))
    d_infer = tf.function(lambda x: disc(x, training=False))  # the same without dropout's random masks
    g_fb = tf.function(lambda z: backward(gen, z))
    d_fb = tf.function(lambda x: backward(disc, x))
    g_grads, d_grads = g_fb(noise), d_fb(pair)

    @tf.function
    def optimizers(_):
        gan.g_opt.apply_gradients(zip(g_grads, gen.trainable_variables))
        gan.d_opt.apply_gradients(zip(d_grads, disc.trainable_variables))
        return gan.steps

    fg, fd = forward_flops(gen) * batch / 1e9, forward_flops(disc) * 2 * batch / 1e9
    return [
        (f"G forward ({batch} images)", median_ms(g_fwd, noise, reps), fg),
        (f"D forward (real + fake, {2 * batch})", median_ms(d_fwd, pair, reps), fd),
        ("D forward, dropout off (training=False)", median_ms(d_infer, pair, reps), fd),
        ("G forward + backward", median_ms(g_fb, noise, reps), 3 * fg),
        ("D forward + backward", median_ms(d_fb, pair, reps), 3 * fd),
        ("both Adam updates", median_ms(optimizers, None, reps), 0.0),
        ("whole joint train step", median_ms(gan.train_step, real, reps), 3 * (fg + fd)),
    ], resolved


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["upsample", "dcgan"], default="upsample")
    parser.add_argument("--precisions", default="bf16,fp32")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--reps", type=int, default=6)
    args = parser.parse_args(argv)
    print(f"arch {args.arch}, batch {args.batch}, median of {args.reps} calls after warm-up\n")
    print("| precision | part | ms | GFLOP | TFLOP/s |")
    print("| --- | --- | ---: | ---: | ---: |")
    for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
        rows, resolved = profile(args.arch, precision, args.batch, args.reps)
        for part, ms, gflop in rows:
            rate = f"{gflop / ms:.2f}" if gflop else "-"
            print(f"| {resolved} | {part} | {ms:.0f} | {gflop:.0f} | {rate} |", flush=True)


if __name__ == "__main__":
    main()
