"""Shared fixtures. ``postgres_url``: a throwaway PostgreSQL server for the whole session."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    # pytest-alembic binds its built-in test collector to tests/conftest.py (this file),
    # and that collector crashes under pytest 9 ("no attribute '_nodeid'"), breaking
    # collection of the whole suite. We import its tests explicitly instead
    # (tests/store/test_migrations.py), so point its binding at a path that never exists.
    if getattr(config.option, "pytest_alembic_tests_path", "missing") is None and not config.getini(
        "pytest_alembic_tests_path"
    ):
        config.option.pytest_alembic_tests_path = "tests/.pytest-alembic-not-bound"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _pg_bindir() -> Path | None:
    candidates = []
    if os.environ.get("GANCTL_PG_BINDIR"):
        candidates.append(os.environ["GANCTL_PG_BINDIR"])
    which = shutil.which("pg_ctl")
    if which:
        candidates.append(str(Path(which).parent))
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    candidates += ["/usr/local/pgsql/bin", "/usr/local/bin", "/opt/homebrew/bin"]
    for c in candidates:
        p = Path(c)
        if (p / "initdb").is_file() and (p / "pg_ctl").is_file() and (p / "postgres").is_file():
            return p
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str):
    if _in_ci():
        pytest.fail(f"PostgreSQL is required in CI (CI={os.environ.get('CI')}): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url():
    """A 'postgresql+psycopg://' URL to an empty database on a throwaway local server.

    GANCTL_TEST_POSTGRES_URL points the tests at an existing server instead. Otherwise
    initdb + pg_ctl run in a temp dir on a free localhost port (as the 'postgres' system
    user when running as root: postgres refuses to run as root); stopped at session end.
    Skipped when no server binaries are found, unless CI is set (then it fails).
    """
    existing = os.environ.get("GANCTL_TEST_POSTGRES_URL")
    if existing:
        yield existing.replace("postgresql://", "postgresql+psycopg://", 1)
        return

    bindir = _pg_bindir()
    if bindir is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found: install postgresql or set GANCTL_PG_BINDIR")

    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "postgres"], check=False)
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                _unavailable("running as root and no 'postgres' system user to run the server as")
        runuser = shutil.which("runuser")
        if not runuser:
            _unavailable("running as root without `runuser` to drop privileges for postgres")
        prefix = [runuser, "-u", "postgres", "--"]

    base = Path(tempfile.mkdtemp(prefix="ganctl-pg-"))
    data, log = base / "data", base / "server.log"
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    base.chmod(0o700)
    port = _free_port()

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=check, timeout=120)

    started = False
    try:
        try:
            run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                "-E", "UTF8", "--locale=C", "--no-sync")
        except subprocess.CalledProcessError as e:
            pytest.fail(f"initdb failed: {e.stderr.strip() or e.stdout.strip()}")
        opts = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100")
        r = run(str(bindir / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(log), "-w", "-t", "60",
                "start", check=False)
        if r.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            pytest.fail(f"pg_ctl start failed: {r.stderr.strip()}\n{tail}")
        started = True

        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            conn.execute("CREATE DATABASE ganctl_test")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/ganctl_test"
    finally:
        if started:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(base, ignore_errors=True)
