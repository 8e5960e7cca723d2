"""Training throughput: the seed's own code (float32) against ganctl's training path, one process.

    python -m bench.train --arch upsample [--images 2048] [--epochs 3]

Both sides train on the same real Fashion-MNIST images with the same batch size. The first epoch
of each is warm-up (tracing, oneDNN kernel selection) and is not timed.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def reference_images_per_s(arch: str, images, batch: int, epochs: int) -> float:
    import tensorflow as tf

    from ganctl.jobs import archs, data, device

    from bench.reference import TRAINERS

    x = data.scale(images, archs.get(arch).output)
    # The notebook's pipeline: cache, shuffle, batch, prefetch (drop the remainder: it breaks on it).
    ds = tf.data.Dataset.from_tensor_slices(x).cache().shuffle(len(x)).batch(batch, drop_remainder=True).prefetch(64)
    with device.precision_scope("fp32"):  # the seed code's own precision
        epoch = TRAINERS[arch](batch)
    epoch(ds)  # warm-up
    rates = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch(ds)
        rates.append(len(x) // batch * batch / (time.perf_counter() - t0))
    return statistics.median(rates)


def ganctl_images_per_s(arch: str, limit: int, batch: int, epochs: int, precision: str):
    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec(arch=arch, limit=limit, batch_size=batch, epochs=epochs + 1, precision=precision,
                     grid_every=10_000, checkpoint_every=10_000)
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        result = train.run(spec, Path(tmp), train.Hooks(on_epoch=reports.append))
    return statistics.median(r.images_per_s for r in reports[1:]), result.precision


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["upsample", "dcgan"], default="upsample")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--peak-tflops", type=float, default=5.3,
                        help="the machine's bf16 peak (5.3 for this 2-core AMX-BF16 CPU)")
    args = parser.parse_args(argv)

    from ganctl.jobs import archs, data

    from bench.flops import train_flops_per_image

    images = data.select("train", limit=args.images).images
    ours, precision = ganctl_images_per_s(args.arch, args.images, args.batch, args.epochs, args.precision)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ref = reference_images_per_s(args.arch, images, args.batch, args.epochs)
    info = archs.get(args.arch)
    flops = train_flops_per_image(info.build_generator(info.noise_dim), info.build_discriminator())
    achieved = ours * flops / 1e12
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"arch {args.arch}, {args.images} real images, batch {args.batch}, {args.epochs} timed epochs")
    print(f"reference (seed code, fp32): {ref:8.1f} images/s")
    print(f"ganctl ({precision}):        {ours:8.1f} images/s")
    print(f"ratio: {ours / ref:.2f}x")
    print(f"FLOPs per image and step: {flops / 1e9:.2f} GFLOP; achieved {achieved:.2f} TFLOP/s "
          f"= {100 * achieved / args.peak_tflops:.0f}% of {args.peak_tflops} TFLOP/s peak")
    print(f"peak RSS after the ganctl run: {peak_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
