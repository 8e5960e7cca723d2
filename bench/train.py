"""Training throughput: the seed's own code (float32) against ganctl's training path, one process.

    python -m bench.train --arch upsample [--images 2048] [--epochs 3]

Both sides train on the same real Fashion-MNIST images with the same batch size, their epochs
interleaved in one process; ganctl's epochs are timed by train.run itself, as a worker records them.
The first epoch of each is warm-up (tracing, oneDNN kernel selection) and is not timed. The same run
measures the machine's own peak (bench.peak) in the job's precision and prints the share reached.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def reference_epoch(arch: str, images, batch: int):
    """One epoch of the seed's own code (float32) over `images`: returns a callable -> images/s."""
    import tensorflow as tf

    from ganctl.jobs import archs, data, device

    from bench.reference import TRAINERS

    x = data.scale(images, archs.get(arch).output)
    # The notebook's pipeline: cache, shuffle, batch, prefetch (drop the remainder: it breaks on it),
    # with tf.data's autotuning off as in ganctl's own: with it on, 2 of 4 reference epochs stalled
    # to exactly 20.5 s (200.1 images/s against 320-360), which made ganctl look 1.21x faster.
    ds = tf.data.Dataset.from_tensor_slices(x).cache().shuffle(len(x)).batch(batch, drop_remainder=True).prefetch(64)
    ds = data.without_autotune(ds)
    with device.precision_scope("fp32"):  # the seed code's own precision
        epoch = TRAINERS[arch](batch)

    def timed() -> float:
        t0 = time.perf_counter()
        epoch(ds)
        return len(x) // batch * batch / (time.perf_counter() - t0)
    return timed


def interleaved(arch: str, limit: int, batch: int, epochs: int, precision: str):
    """ganctl's epochs, timed by train.run exactly as a worker records them (EpochReport), with one
    reference epoch run between each two of them (A B A B ...), so both see the same machine load.
    The first epoch of each side is warm-up (tracing, oneDNN kernel selection) and not counted.
    Returns (ganctl images/s per timed epoch, reference images/s per timed epoch, precision)."""
    from ganctl.jobs import data, train
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec(arch=arch, limit=limit, batch_size=batch, epochs=epochs + 1, precision=precision,
                     grid_every=10_000, checkpoint_every=10_000)
    ref = reference_epoch(arch, data.select("train", limit=limit).images, batch)
    ours, theirs = [], []

    def on_epoch(report) -> None:
        if report.epoch > 1:
            ours.append(report.images_per_s)
        rate = ref()
        if report.epoch > 1:
            theirs.append(rate)
        print(f"  epoch {report.epoch}: ganctl {report.images_per_s:7.1f}  reference {rate:7.1f} images/s"
              + ("  (warm-up)" if report.epoch == 1 else ""), flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        result = train.run(spec, Path(tmp), train.Hooks(on_epoch=on_epoch))
    return ours, theirs, result.precision


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["upsample", "dcgan"], default="upsample")
    parser.add_argument("--images", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)

    from ganctl.jobs import archs

    from bench.flops import train_flops_per_image
    from bench.common import cpu_name
    from bench.peak import CONVS, peak_gflops

    print(f"machine: {cpu_name()}")
    print(f"arch {args.arch}, {args.images} real images, batch {args.batch}, {args.epochs} timed epochs, "
          f"ganctl and reference epochs interleaved")
    ours_all, ref_all, precision = interleaved(args.arch, args.images, args.batch, args.epochs, args.precision)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours, ref = statistics.median(ours_all), statistics.median(ref_all)
    peak = peak_gflops(args.arch, precision, args.batch)
    info = archs.get(args.arch)
    flops = train_flops_per_image(info.build_generator(info.noise_dim), info.build_discriminator())
    achieved = ours * flops / 1e9
    print(f"reference (seed code, fp32): {ref:8.1f} images/s (median)")
    print(f"ganctl ({precision}):        {ours:8.1f} images/s (median)")
    print(f"ratio: {ours / ref:.2f}x")
    print(f"this machine's peak ({precision}, measured now): matmul 4096^2 {peak['matmul']:.0f} GFLOP/s, "
          f"convolution {CONVS[args.arch]} {peak['conv']:.0f} GFLOP/s")
    print(f"FLOPs per image and step: {flops / 1e9:.2f} GFLOP; achieved {achieved:.0f} GFLOP/s "
          f"= {100 * achieved / peak['conv']:.0f}% of the convolution peak, "
          f"{100 * achieved / peak['matmul']:.0f}% of the matmul peak")
    print(f"peak RSS: {peak_rss_mib:.0f} MiB")


if __name__ == "__main__":
    main()
