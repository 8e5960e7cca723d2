"""Speed levers that were tried on ganctl's train step, each against the plain step in the same run.

    python -m bench.levers [--arch upsample] [--variants baseline,xla,inter1,intra1,fpmath]

Every variant runs in its own process (thread counts and oneDNN's math mode must be set before
TensorFlow starts) and times `train_step` on a fixed batch of 128, median of --reps calls after
warm-up. `--rng` also times the dropout masks' random draws: a bfloat16 uniform per decision (what
Keras' Dropout draws under mixed bfloat16) against 16 random bits per decision.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bench.common import median_ms

VARIANTS = {
    "baseline": ("the train step as ganctl runs it (auto precision)", {}),
    "xla": ("the same step compiled with XLA (jit_compile=True)", {}),
    "inter1": ("one inter-op thread (intra-op 2)", {"BENCH_INTER_OP_THREADS": "1"}),
    "intra1": ("one intra-op thread (inter-op 2)", {"BENCH_INTRA_OP_THREADS": "1"}),
    "fpmath": ("float32 policy with ONEDNN_DEFAULT_FPMATH_MODE=BF16", {"ONEDNN_DEFAULT_FPMATH_MODE": "BF16"}),
}


def run_variant(arch: str, variant: str, reps: int) -> float:
    """In this process: ms per train step of 128 images under `variant`."""
    import tensorflow as tf

    if os.environ.get("BENCH_INTER_OP_THREADS"):
        tf.config.threading.set_inter_op_parallelism_threads(int(os.environ["BENCH_INTER_OP_THREADS"]))
    if os.environ.get("BENCH_INTRA_OP_THREADS"):
        tf.config.threading.set_intra_op_parallelism_threads(int(os.environ["BENCH_INTRA_OP_THREADS"]))
    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec(arch=arch, limit=128, batch_size=128, precision="fp32" if variant == "fpmath" else "auto")
    gan, _ = train.build(spec)
    step = tf.function(gan._train_step, jit_compile=True) if variant == "xla" else gan.train_step
    batch = tf.random.uniform((128, *spec.info.image_shape))
    return median_ms(step, batch, reps)


def rng_ms(reps: int) -> dict:
    """Random draws for one upsample discriminator pass over 256 images (29 M dropout decisions)."""
    import tensorflow as tf

    n, seed = 256 * (24 * 24 * 32 + 20 * 20 * 64 + 16 * 16 * 128 + 12 * 12 * 256), tf.constant([1, 2], tf.int64)
    bf16 = tf.function(lambda _: tf.random.stateless_uniform([n], seed, dtype=tf.bfloat16))
    bits = tf.function(lambda _: tf.random.stateless_uniform([(n + 1) // 2], seed, dtype=tf.uint32,
                                                             minval=None, maxval=None))
    return {"decisions": n, "bf16_uniform_ms": median_ms(bf16, None, reps),
            "uint16_bits_ms": median_ms(bits, None, reps)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=["upsample", "dcgan"], default="upsample")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--reps", type=int, default=6)
    parser.add_argument("--rng", action="store_true", help="also time the dropout masks' random draws")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        result = rng_ms(args.reps) if args.child == "rng" else {"ms": run_variant(args.arch, args.child, args.reps)}
        print("RESULT " + json.dumps(result))
        return

    def child(name: str, env: dict) -> dict:
        out = subprocess.run([sys.executable, "-m", "bench.levers", "--arch", args.arch, "--reps", str(args.reps),
                              "--child", name], env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out.split("RESULT ", 1)[1])

    print(f"arch {args.arch}, train step of 128 images, median of {args.reps} calls after warm-up\n")
    print("| variant | ms per step | vs baseline |")
    print("| --- | ---: | ---: |")
    base = None
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        what, env = VARIANTS[name]
        ms = child(name, env)["ms"]
        base = base if base is not None else ms
        print(f"| {what} | {ms:.0f} | {ms / base:.2f}x |", flush=True)
    if args.rng:
        r = child("rng", {})
        print(f"\n{r['decisions']:,} dropout decisions: bf16 uniform draws {r['bf16_uniform_ms']:.0f} ms, "
              f"16 random bits each {r['uint16_bits_ms']:.0f} ms")


if __name__ == "__main__":
    main()
