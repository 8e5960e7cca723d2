"""One training step at a time, ganctl's (fp32 and bf16) and the seed code's (fp32), interleaved
A B C A B C ... on one fixed batch, medians: the comparison that survives a loaded machine, where
whole epochs (bench.train) swing by 2x with the neighbours' load.

    python -m bench.steps [--arch dcgan] [--reps 10] [--batch 128] [--recipes seed,ema-augment]
        [--precisions fp32,bf16] [--two-calls] [--keras-adam] [--keras-dropout] [--keras-upsampling]

--recipes times ganctl's step under each named recipe (jobs/recipes.py); --two-calls adds, where
D allows one call on concat(real, fake), the step with the other choice (ganctl makes one call in
bf16/fp16 and two in fp32). --keras-adam adds each step with Keras' own Adam in place of ganctl's
FusedAdam (jobs/gan.py: the same update as one kernel per variable). --keras-dropout adds each
mixed-precision step with Keras' own Dropout draw in place of jobs/gan.py's exact_dropout.
--keras-upsampling adds each step with the generator's UpSampling2D + Conv2D pairs run as Keras
runs them, in place of jobs/subpixel.py's one convolution on the small image.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["upsample", "dcgan"], default="dcgan")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--recipes", default="seed", help="comma-separated recipe names")
    parser.add_argument("--precisions", default="fp32,bf16", help="ganctl's precisions, comma-separated")
    parser.add_argument("--two-calls", action="store_true", help="also the step with two D calls")
    parser.add_argument("--keras-adam", action="store_true", help="also the step with Keras' own Adam")
    parser.add_argument("--keras-upsampling", action="store_true",
                        help="also each step with G's UpSampling2D + Conv2D pairs unfused (jobs/subpixel.py)")
    parser.add_argument("--keras-dropout", action="store_true",
                        help="also the mixed-precision step with Keras' own Dropout draw")
    args = parser.parse_args(argv)

    import keras
    import numpy as np
    import tensorflow as tf

    from ganctl.jobs import data, device, gan as gan_module, subpixel, train
    from ganctl.jobs.gan import joint_d_call
    from ganctl.jobs.spec import TrainSpec

    from bench.common import cpu_name
    from bench.reference import TRAINERS

    b = args.batch
    spec = TrainSpec(arch=args.arch, limit=b, batch_size=b)
    x = tf.random.uniform((b, *spec.info.image_shape))

    def ganctl_step(precision: str, recipe: str, joint: bool | None = None, keras_adam: bool = False,
                    keras_dropout: bool = False, keras_upsampling: bool = False):
        """ganctl's step; joint None: as the product picks it, else forced where D allows it;
        keras_adam: built with keras.optimizers.Adam instead of the product's FusedAdam;
        keras_dropout: D's Dropout layers left to Keras' draw; keras_upsampling: G's upsampling unfused."""
        fused, exact, fuse = gan_module.FusedAdam, gan_module.exact_dropout, subpixel.fuse_upsampling
        gan_module.FusedAdam = keras.optimizers.Adam if keras_adam else fused
        gan_module.exact_dropout = (lambda model: None) if keras_dropout else exact
        subpixel.fuse_upsampling = (lambda model: 0) if keras_upsampling else fuse  # looked up at each build
        try:
            gan, _ = train.build(TrainSpec(arch=args.arch, limit=b, batch_size=b, recipe=recipe), precision)
        finally:
            gan_module.FusedAdam, gan_module.exact_dropout, subpixel.fuse_upsampling = fused, exact, fuse
        if joint is not None:
            gan._joint_d = joint and joint_d_call(gan.discriminator)
        return lambda: [np.asarray(v) for v in gan.train_step(x)]  # wait for the losses

    with device.precision_scope("fp32"):
        ref_epoch = TRAINERS[args.arch](b)
    # Autotuning off as in bench.train's reference: with it on, the notebook's fit() iterators stalled
    # in most of 5 upsample repeats once (its step read 10.2 s instead of 6.1 s).
    one_batch = data.without_autotune(tf.data.Dataset.from_tensors(x))
    variants = {}
    for recipe in [r.strip() for r in args.recipes.split(",") if r.strip()]:
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            name = f"ganctl {precision}" + ("" if recipe == "seed" else f" {recipe}")
            variants[name] = ganctl_step(precision, recipe)
            built = train.build(spec, precision)[0]
            if args.two_calls and joint_d_call(built.discriminator):  # the other of the two choices
                other = not built._joint_d
                variants[name + (", joint D call" if other else ", two D calls")] = \
                    ganctl_step(precision, recipe, joint=other)
            if args.keras_adam:
                variants[name + ", Keras' Adam"] = ganctl_step(precision, recipe, keras_adam=True)
            if args.keras_dropout and precision != "fp32":
                variants[name + ", Keras' Dropout"] = ganctl_step(precision, recipe, keras_dropout=True)
            if args.keras_upsampling:
                variants[name + ", Keras' upsampling"] = ganctl_step(precision, recipe, keras_upsampling=True)
    variants["reference fp32"] = lambda: ref_epoch(one_batch)
    for f in variants.values():  # warm-up: tracing, oneDNN kernel selection
        f(), f()
    times = {k: [] for k in variants}
    for _ in range(args.reps):
        for k, f in variants.items():
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    print(f"machine: {cpu_name()}; load average {os.getloadavg()[0]:.1f}")
    print(f"arch {args.arch}, batch {b}, median of {args.reps} interleaved steps\n")
    print("| step | ms | images/s | vs reference |\n| --- | ---: | ---: | ---: |")
    ref = statistics.median(times["reference fp32"])
    for k, v in times.items():
        m = statistics.median(v)
        print(f"| {k} | {1000 * m:.0f} | {b / m:.1f} | {ref / m:.2f}x |")


if __name__ == "__main__":
    main()
