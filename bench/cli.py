"""CLI start-up: `ganctl status <id>` and `ganctl list` as whole processes.

    python -m bench.cli [--reps 10]

The reference is a bare `python -c "import ganctl"` in the same run: the floor any command pays.
The store holds one finished training job with 20 epoch rows, written directly (no TensorFlow).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .common import ganctl_argv, scratch_env, timed


def seed_store(home: Path) -> str:
    from ganctl.jobs.store.repo import Store

    store = Store(f"sqlite:///{home / 'ganctl.db'}", auto_upgrade=True)
    job = store.create_job("train", {"arch": "dcgan", "epochs": 20}, total_epochs=20)
    claimed = store.claim(job.id, worker="bench", gpu=None, lease_s=60)
    for epoch in range(1, 21):
        store.record_epoch(job.id, claimed.attempts, epoch, 0.5, 1.0, 2.0, 500.0)
    store.finish(job.id, claimed.attempts, "completed")
    return job.id


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        job_id = seed_store(home)
        env = scratch_env(home)
        floor, _ = timed([sys.executable, "-c", "import ganctl"], env, args.reps)
        status, _ = timed([*ganctl_argv(), "status", job_id[:8]], env, args.reps)
        listing, _ = timed([*ganctl_argv(), "list"], env, args.reps)
    print(f"python -c 'import ganctl' (reference): {floor:.3f} s")
    print(f"ganctl status <id>: {status:.3f} s  ({status / floor:.1f}x the reference; target <= 0.4 s)")
    print(f"ganctl list:        {listing:.3f} s  ({listing / floor:.1f}x the reference; target <= 0.4 s)")


if __name__ == "__main__":
    main()
