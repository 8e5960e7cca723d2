"""Engines for the store's databases (SQLite tuned for several writer processes, PostgreSQL) and
where the Alembic migrations live."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ganctl.jobs.store.rows import StoreError


def normalize_url(url: str) -> str:
    """'postgresql://' / 'postgres://' -> 'postgresql+psycopg://' (psycopg 3 is our driver)."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _is_memory(url) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def make_engine(url: str) -> Engine:
    """An engine configured for concurrent use by several worker processes.

    SQLite: WAL journal, busy_timeout 30 s, foreign keys on, and transactions started by us
    (pysqlite's own implicit BEGIN is switched off) so that write transactions can say
    ``BEGIN IMMEDIATE``: they take the write lock up front, where the busy handler waits
    for it, instead of failing with "database is locked" when a read lock cannot be upgraded.
    """
    url = normalize_url(url)
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    memory = _is_memory(u)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool
    else:
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # pragma: no cover - exercised by every test
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA busy_timeout = 30000")
            cur.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cur.execute("PRAGMA journal_mode = WAL")
                cur.execute("PRAGMA synchronous = NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # pragma: no cover - exercised by every test
        if conn.get_execution_options().get("ganctl_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def migrations_dir() -> Path:
    """The alembic script directory (env.py + versions/), installed or editable."""
    try:
        from importlib.resources import files

        env = files("ganctl.migrations") / "env.py"
        path = Path(str(env))
        if path.is_file():
            return path.parent
    except Exception:  # noqa: BLE001 - namespace package not importable: editable install
        pass
    path = Path(__file__).resolve().parents[2] / "alembic"  # jobs/store/engine.py -> the checkout
    if not (path / "env.py").is_file():
        raise StoreError(f"ganctl's database migrations are missing (looked in {path})")
    return path
