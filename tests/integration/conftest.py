"""Integration fixtures: a real redis-server and real `ganctl worker` processes.

``redis_url``: a throwaway redis-server on a free localhost port, in a temp dir, stopped after
the test. ``redis_server``: the same with ``stop()`` / ``start()`` (same port) for broker-restart
tests. ``ganctl_worker``: a factory that starts ``ganctl worker`` with a given environment and
always stops it (SIGTERM, then SIGKILL for the launcher and its children) at teardown.
"""
from __future__ import annotations

import shutil

import pytest

from ganctl_procs import RedisServer, WorkerProcess, free_port, in_ci


@pytest.fixture
def redis_server(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        if in_ci():
            pytest.fail("redis-server is required in CI (apt-get install redis-server)")
        pytest.skip("redis-server not found (apt-get install redis-server)")
    server = RedisServer(exe, tmp_path_factory.mktemp("redis"), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def shared_cache_dir(tmp_path_factory):
    """A GANCTL_CACHE_DIR for the whole session, so the quality classifier (keyed by its recipe
    hash) trains at most once, not once per test's fresh GANCTL_HOME. Seeded from this machine's
    cache (settings of the test process) when that already holds it."""
    from ganctl.jobs.config import Settings

    cache = tmp_path_factory.mktemp("ganctl-cache")
    try:
        mine = Settings().resolved_cache_dir
        for f in mine.glob("classifier-*"):
            if f.is_file():
                shutil.copy2(f, cache / f.name)
    except OSError:
        pass  # nothing to seed from: the first test that needs the classifier trains it
    return cache


@pytest.fixture
def ganctl_worker(tmp_path):
    """start(env, *args) -> WorkerProcess (default args: --cpu --reap-every 5); stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(env: dict, *args: str) -> WorkerProcess:
        w = WorkerProcess(env, tmp_path / f"worker-{len(started)}.log", args or ("--cpu", "--reap-every", "5"))
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
