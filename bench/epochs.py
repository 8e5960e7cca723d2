"""Epoch seconds as a job records them: the input pipeline with tf.data's autotuning (ganctl before
2026-12-03) against the fixed one jobs/data.py builds now, in one process.

    python -m bench.epochs [--arch dcgan] [--images 10000] [--epochs 4] [--rounds 2]

Each round trains one job with each pipeline (which goes first alternates), every epoch timed by
train.run exactly as a worker records it, the first epoch included: that is the user's wait too
(bench.train leaves it out as warm-up). Same spec, seed and images for both; only the pipeline's
parallelism settings differ.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def autotuned_pipeline(images, batch_size, seed, output, labels=None):
    """jobs/data.pipeline as it was: map and prefetch left to tf.data's autotuning."""
    import tensorflow as tf

    lo, span = (0.0, 1.0) if output == "sigmoid" else (-1.0, 2.0)
    assert labels is None, "unconditional jobs only"
    ds = tf.data.Dataset.from_tensor_slices(images).cache()
    ds = ds.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=False)
    ds = ds.batch(batch_size).map(lambda x: tf.cast(x, tf.float32) * (span / 255.0) + lo,
                                  num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def job_epochs(arch: str, images: int, epochs: int, workdir: Path, pipeline) -> list[float]:
    from ganctl.jobs import data, train
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec(arch=arch, limit=images, epochs=epochs, seed=0, recipe="seed",
                     grid_every=1, checkpoint_every=10_000)
    seconds: list[float] = []
    original, data.pipeline = data.pipeline, pipeline or data.pipeline
    try:
        train.run(spec, workdir, train.Hooks(on_epoch=lambda r: seconds.append(r.seconds)))
    finally:
        data.pipeline = original
    return seconds


def main(argv=None) -> None:
    from bench.common import cpu_name

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    runs: dict[str, list[list[float]]] = {"autotuned (before)": [], "fixed (now)": []}
    with tempfile.TemporaryDirectory() as tmp:
        sides = [("autotuned (before)", autotuned_pipeline), ("fixed (now)", None)]
        for r in range(args.rounds):
            # Alternate which side goes first, so neither alone pays the process's warm-up.
            for label, pipeline in sides if r % 2 == 0 else sides[::-1]:
                s = job_epochs(args.arch, args.images, args.epochs, Path(tmp) / f"{r}-{label[:5]}", pipeline)
                runs[label].append(s)
                print(f"round {r + 1} {label}: " + " ".join(f"{x:.1f}" for x in s), flush=True)
    print(f"\n{cpu_name()}")
    print(f"{args.arch}, `seed` recipe, {args.images} images, {args.epochs} epochs a job, {args.rounds} jobs each\n")
    print("| pipeline | every epoch's seconds (job by job) | mean s/epoch | epochs over 35 s |")
    print("|---|---|---|---|")
    means = {}
    for label, jobs in runs.items():
        flat = [x for job in jobs for x in job]
        means[label] = statistics.mean(flat)
        cells = " / ".join(" ".join(f"{x:.1f}" for x in job) for job in jobs)
        print(f"| {label} | {cells} | {means[label]:.1f} | {sum(x > 35 for x in flat)} of {len(flat)} |")
    print(f"\nfixed / autotuned mean epoch time: {means['fixed (now)'] / means['autotuned (before)']:.2f}x")


if __name__ == "__main__":
    main()
