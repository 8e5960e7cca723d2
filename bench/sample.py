"""Sampling speed: `ganctl sample <id> --n 12` end to end with a warm worker on Redis, and 10,000
images generated in-process.

    python -m bench.sample [--reps 5]

End to end: a real redis-server and a real `ganctl worker --cpu`; a small dcgan job is trained
first, one sample call warms the worker, then `--reps` calls are timed as whole processes. The
reference is `ganctl status` in the same run (a CLI process that only reads the store), so the
ratio shows what queueing and generating add on top of any CLI call.
In-process: ganctl's generate() against the seed's way, Keras `generator.predict(noise)`, for
10,000 images from the same exported generator.
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import ganctl_argv, scratch_env, start_redis, timed


def end_to_end(reps: int) -> tuple[float, float, Path, str]:
    tmp = Path(tempfile.mkdtemp(prefix="ganctl-bench-"))
    redis, url = start_redis(tmp)
    env = scratch_env(tmp / "home", GANCTL_BROKER_URL=url)
    worker = subprocess.Popen([*ganctl_argv(), "worker", "--cpu"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        job = subprocess.run([*ganctl_argv(), "submit", "--arch", "dcgan", "--classes", "trouser",
                              "--limit", "256", "--epochs", "1", "--batch-size", "64", "--wait"],
                             env=env, capture_output=True, text=True, check=True).stdout.split()[0]
        timed([*ganctl_argv(), "sample", job, "--n", "12"], env, 1)  # loads the generator: warm-up
        sample_s, _ = timed([*ganctl_argv(), "sample", job, "--n", "12", "--seed", "1"], env, reps)
        status_s, _ = timed([*ganctl_argv(), "status", job], env, reps)
        return sample_s, status_s, tmp / "home" / "artifacts" / job, job
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        redis.terminate()


def in_process(workdir: Path, n: int) -> tuple[float, float]:
    import keras

    from ganctl.jobs import artifacts, sample
    from ganctl.jobs.noise import latent
    from ganctl.jobs.layout import JobFolder
    from ganctl.jobs.spec import TrainSpec
    from ganctl.jobs.store.repo import Store

    home = workdir.parents[1]
    spec = TrainSpec.model_validate(Store(f"sqlite:///{home / 'ganctl.db'}").get_job(workdir.name).spec)
    export = JobFolder(workdir).export
    gen = sample.load_generator(spec, export, "h5")
    sample.generate(spec, gen, 256, seed=0)  # trace once
    t0 = time.perf_counter()
    images = sample.generate(spec, gen, n, seed=0)
    ours = time.perf_counter() - t0
    assert images.shape[0] == n
    model = sample.untrained_generator(spec)
    model.load_weights(export / artifacts.FILES["h5-generator"])
    noise = latent(spec, n, 0)
    model.predict(noise[:256], verbose=0)
    t0 = time.perf_counter()
    model.predict(noise, verbose=0)
    reference = time.perf_counter() - t0
    keras.backend.clear_session()
    return ours, reference


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args(argv)
    sample_s, status_s, workdir, job = end_to_end(args.reps)
    ours, reference = in_process(workdir, args.n)
    print(f"ganctl sample <id> --n 12, warm worker on Redis: {sample_s:.3f} s end to end "
          f"(reference `ganctl status`: {status_s:.3f} s, {sample_s / status_s:.1f}x; target <= 0.5 s)")
    print(f"{args.n} images in-process: ganctl {ours:.2f} s, keras predict (seed way) {reference:.2f} s, "
          f"ratio {reference / ours:.2f}x (target <= 3 s)")


if __name__ == "__main__":
    main()
