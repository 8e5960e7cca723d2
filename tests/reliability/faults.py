"""Helpers shared by the fault tests: environment, submit, store access, final checks."""
from __future__ import annotations

import os
import re
from pathlib import Path

from ganctl_procs import ganctl, ganctl_env, wait_until
from pg_databases import fresh_pg_database

TRAIN_ONLY = ("--cpu", "--queues", "train", "--reap-every", "1")
LEASE = 6.0  # GANCTL_HEARTBEAT_LEASE in these tests (heartbeats every 1 s)


def rel_env(home: Path, broker_url: str | None, **extra: str) -> dict:
    """Short leases and a fast reaper; the visibility timeout and re-queue delay stay long unless
    a test sets them (a test that wants Redis redelivery says so)."""
    env = ganctl_env(home, GANCTL_HEARTBEAT_LEASE=str(LEASE), GANCTL_HEARTBEAT_EVERY="1",
                     GANCTL_VISIBILITY_TIMEOUT="3600", GANCTL_REQUEUE_AFTER="3600",
                     OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
    if broker_url:
        env["GANCTL_BROKER_URL"] = broker_url
    env.update(extra)
    return env


def submit(env: dict, *, epochs: int, limit: int = 256, extra: tuple[str, ...] = ()) -> str:
    # The fault tests exercise the job system, not a recipe: `seed` is the cheapest (no EMA, no
    # DiffAugment, no standing statistics per grid); the default's path is the integration tests'.
    # A --recipe in extra comes later and wins.
    out = ganctl(env, "submit", "--arch", "dcgan", "--classes", "trouser", "--limit", str(limit),
                 "--epochs", str(epochs), "--batch-size", "64", "--recipe", "seed", *extra).stdout.strip()
    assert re.fullmatch(r"[0-9a-f-]{36}", out), out
    return out


def open_store(env: dict):
    from ganctl.jobs.store.repo import Store

    url = env.get("GANCTL_DATABASE_URL") or f"sqlite:///{Path(env['GANCTL_HOME']) / 'ganctl.db'}"
    return Store(url)


def wait_status(store, job_id: str, statuses: tuple[str, ...], timeout: float, context=None):
    def done():
        job = store.get_job(job_id)
        return job if job.status in statuses else None

    return wait_until(done, timeout, f"job {job_id[:8]} to be {'/'.join(statuses)}", every=0.25,
                      context=context)


def checkpoints(home: Path, job_id: str) -> list[int]:
    folder = home / "artifacts" / job_id / "checkpoints"
    return sorted(int(p.name[5:11]) for p in folder.glob("ckpt-*.npz")) if folder.is_dir() else []


def check_artifacts(store, home: Path, job_id: str) -> None:
    """Every artifact row points at an existing file under the job's folder whose sha256 matches;
    no temporary export or checkpoint is left visible."""
    from ganctl.jobs.artifacts import digest

    arts = store.artifacts(job_id)
    assert {"h5-generator", "savedmodel-generator", "manifest"} <= {a.format for a in arts}
    root = home / "artifacts" / job_id
    for a in arts:
        p = Path(a.path)
        assert p.exists() and p.resolve().is_relative_to(root.resolve()), a
        assert digest(p) == (a.bytes, a.sha256), a.format
    from ganctl.jobs.layout import temps_of

    assert not temps_of(root / "export")
    assert not [p for p in (root / "checkpoints").iterdir() if ".tmp" in p.name]


def logs(*workers) -> str:
    return "\n".join(f"--- {w.log.name}\n{w.output()[-4000:]}" for w in workers)


def kill(pid: int, sig) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def fresh_database(postgres_url: str) -> str:
    """A new empty database on the session's PostgreSQL server, named after this process."""
    return fresh_pg_database(postgres_url, prefix=f"reliability_{os.getpid()}")
