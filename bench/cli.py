"""CLI start-up: `ganctl status <id>` and `ganctl list` as whole processes.

    python -m bench.cli [--reps 10]

The references, in the same run: a bare `python -c "import ganctl"` (the interpreter), and
importing the libraries every store-reading command needs (typer, SQLAlchemy with its ORM for the
typed models, pydantic-settings): the floor below which these libraries cannot go.
The store holds one finished training job with 20 epoch rows, written directly (no TensorFlow).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench.common import ganctl_argv, scratch_env, timed


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
        libs, _ = timed([sys.executable, "-c", "import typer, sqlalchemy.orm, pydantic_settings"], env, args.reps)
        status, _ = timed([*ganctl_argv(), "status", job_id[:8]], env, args.reps)
        listing, _ = timed([*ganctl_argv(), "list"], env, args.reps)
    print(f"python -c 'import ganctl' (reference): {floor:.3f} s")
    print(f"python -c 'import typer, sqlalchemy.orm, pydantic_settings' (library floor): {libs:.3f} s")
    for name, took in (("ganctl status <id>", status), ("ganctl list", listing)):
        print(f"{name + ':':<20}{took:.3f} s  ({took / floor:.1f}x the interpreter, {took / libs:.2f}x the "
              f"library floor; target <= 0.4 s)")


if __name__ == "__main__":
    main()
