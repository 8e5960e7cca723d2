"""CLI start-up: `ganctl status <id>` and `ganctl list` as whole processes.

    python -m bench.cli [--reps 10]

The references, in the same run: a bare `python -c "import ganctl"` (the interpreter), and
importing the libraries every store-reading command needs (typer, SQLAlchemy with its ORM for the
typed models, pydantic-settings): the floor below which these libraries cannot go.
The store holds one finished training job with 20 epoch rows, written directly (no TensorFlow).

The four processes run in turn within each repetition (not in four blocks), so a change in the
machine's load falls on all of them alike; each is reported as median wall seconds and median CPU
seconds (user + system of the child), the latter barely moved by other processes on a shared
machine. The load average and the CPU model are printed with the figures.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
import tempfile
from pathlib import Path

from bench.common import cpu_name, ganctl_argv, scratch_env


def seed_store(home: Path) -> str:
    from ganctl.jobs.store.repo import Store

    store = Store(f"sqlite:///{home / 'ganctl.db'}", auto_upgrade=True)
    job = store.create_job("train", {"arch": "dcgan", "epochs": 20}, total_epochs=20)
    claimed = store.claim(job.id, worker="bench", gpu=None, lease_s=60)
    for epoch in range(1, 21):
        store.record_epoch(job.id, claimed.attempts, epoch, 0.5, 1.0, 2.0, 500.0)
    store.finish(job.id, claimed.attempts, "completed")
    return job.id


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def interleaved(runs: dict[str, list[str]], env: dict, reps: int) -> dict[str, tuple[float, float]]:
    """name -> (median wall s, median CPU s) over `reps` rounds, each round running every argv once."""
    wall: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(reps):
        for name, argv in runs.items():
            c0, t0 = _child_cpu(), time.perf_counter()
            subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            wall[name].append(time.perf_counter() - t0)
            cpu[name].append(_child_cpu() - c0)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        job_id = seed_store(home)
        env = scratch_env(home)
        got = interleaved({
            "interpreter": [sys.executable, "-c", "import ganctl"],
            "libs": [sys.executable, "-c", "import typer, sqlalchemy.orm, pydantic_settings"],
            "status": [*ganctl_argv(), "status", job_id[:8]],
            "list": [*ganctl_argv(), "list"],
        }, env, args.reps)
    load_after = os.getloadavg()
    print(f"{cpu_name()}; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    (floor, floor_cpu), (libs, libs_cpu) = got["interpreter"], got["libs"]
    print(f"python -c 'import ganctl' (reference): {floor:.3f} s  (CPU {floor_cpu:.3f} s)")
    print(f"python -c 'import typer, sqlalchemy.orm, pydantic_settings' (library floor): {libs:.3f} s  "
          f"(CPU {libs_cpu:.3f} s)")
    for name, key in (("ganctl status <id>", "status"), ("ganctl list", "list")):
        took, took_cpu = got[key]
        print(f"{name + ':':<20}{took:.3f} s  ({took / floor:.1f}x the interpreter, {took / libs:.2f}x the "
              f"library floor; target <= 0.4 s); CPU {took_cpu:.3f} s ({took_cpu / libs_cpu:.2f}x the floor's)")

if __name__ == "__main__":
    main()
