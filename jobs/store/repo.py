"""The results store: jobs, per-epoch metrics, sample grids and artifacts.

Every state change is ONE conditional UPDATE (compare-and-set), so two workers, a worker
and the reaper, or a worker and the CLI can race freely: exactly one wins, the loser gets
``False``/``None``. A job's ``attempts`` is its fencing token: a worker that lost its job
(its lease expired and another worker claimed it) finds its writes refused.

Returns plain frozen dataclasses, never ORM rows, so callers never see SQLAlchemy.
"""
from __future__ import annotations

import logging
import math
import os
import random
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Connection, Engine, and_, create_engine, delete, event, func, or_, select, update
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from .models import (
    KINDS,
    STATUSES,
    TERMINAL,
    artifacts_table,
    epochs_table,
    grids_table,
    jobs_table,
    metrics_table,
    utcnow,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "StoreError",
    "NotFound",
    "Ambiguous",
    "SchemaOutOfDate",
    "IllegalTransition",
    "Job",
    "EpochRow",
    "GridRow",
    "ArtifactRow",
    "MetricsRow",
    "Store",
    "normalize_url",
    "make_engine",
    "migrations_dir",
]


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base class; the message is a one-line, user-facing text."""


class NotFound(StoreError):
    pass


class Ambiguous(StoreError):
    pass


class SchemaOutOfDate(StoreError):
    pass


class IllegalTransition(StoreError):
    pass


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    spec: dict
    status: str
    attempts: int
    max_attempts: int
    worker: str | None
    gpu: str | None
    parent_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    error: str | None
    cancel_requested: bool
    total_epochs: int | None
    result: dict | None

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass(frozen=True)
class EpochRow:
    epoch: int
    d_loss: float
    g_loss: float
    seconds: float
    images_per_s: float


@dataclass(frozen=True)
class GridRow:
    epoch: int
    path: str
    png: bytes


@dataclass(frozen=True)
class ArtifactRow:
    format: str
    path: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class MetricsRow:
    """Quality figures (ganctl.jobs.metrics.Quality.to_dict()) of a training job at an epoch,
    or of an on-demand `ganctl eval` (epoch None)."""

    epoch: int | None
    n: int
    values: dict
    collapse: bool
    recorded_at: datetime

    @property
    def collapse_reasons(self) -> list[str]:
        return [str(r) for r in (self.values or {}).get("collapse_reasons") or []]


_JOB_FIELDS = tuple(Job.__dataclass_fields__)


def _job(row: Any) -> Job:
    m = row._mapping
    return Job(**{f: m[f] for f in _JOB_FIELDS})


# --------------------------------------------------------------------------- engine


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
    import ganctl.jobs.store as _pkg

    path = Path(_pkg.__file__).resolve().parents[2] / "alembic"
    if not (path / "env.py").is_file():
        raise StoreError(f"ganctl's database migrations are missing (looked in {path})")
    return path


_LOCKED = ("database is locked", "database table is locked", "database is busy")
_ID_RE = re.compile(r"^[0-9a-f-]+$")


# --------------------------------------------------------------------------- store


class Store:
    def __init__(self, url: str, *, auto_upgrade: bool = False):
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.auto_upgrade = auto_upgrade
        self._schema_ok = False
        self._schema_lock = threading.Lock()
        # A Store created before a fork (Celery prefork, multiprocessing) must not hand its
        # pooled connections to the child: the child starts with an empty pool.
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)

            def _after_fork_in_child() -> None:
                store = ref()
                if store is not None:
                    store.engine.dispose(close=False)
                    store._schema_lock = threading.Lock()

            os.register_at_fork(after_in_child=_after_fork_in_child)

    @classmethod
    def from_settings(cls, settings=None) -> "Store":
        if settings is None:
            from ganctl.jobs.config import get_settings

            settings = get_settings()
        Path(settings.home).expanduser().mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_database_url, auto_upgrade=not settings.database_url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    # ------------------------------------------------------------------ transactions

    def _retrying(self, fn: Callable[[], T]) -> T:
        """Retry ``fn`` on SQLite's "database is locked" (bounded, with backoff + jitter)."""
        delay = 0.02
        for attempt in range(12):
            try:
                return fn()
            except OperationalError as e:
                if not self.is_sqlite or not any(s in str(e).lower() for s in _LOCKED) or attempt == 11:
                    raise
                log.debug("sqlite busy (attempt %d), retrying in %.2fs", attempt + 1, delay)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    def _tx(self, fn: Callable[[Connection], T], *, write: bool = True, check: bool = True) -> T:
        if check:
            self._ensure_schema()

        def run() -> T:
            with self.engine.connect() as conn:
                if write:
                    conn.execution_options(ganctl_write=True)
                with conn.begin():
                    return fn(conn)

        return self._retrying(run)

    def _read(self, fn: Callable[[Connection], T]) -> T:
        return self._tx(fn, write=False)

    # ------------------------------------------------------------------ schema

    def _alembic_config(self, conn: Connection):
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(migrations_dir()))
        cfg.set_main_option(
            "sqlalchemy.url", self.engine.url.render_as_string(hide_password=False).replace("%", "%%")
        )
        cfg.attributes["connection"] = conn
        return cfg

    def _script(self):
        from alembic.script import ScriptDirectory

        return ScriptDirectory(str(migrations_dir()))

    def head_revision(self) -> str:
        head = self._script().get_current_head()
        assert head is not None
        return head

    @staticmethod
    def _current(conn: Connection) -> str | None:
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()

    def current_revision(self) -> str | None:
        return self._tx(self._current, write=False, check=False)

    def _out_of_date(self, current: str | None, head: str) -> SchemaOutOfDate:
        at = current or "empty (no tables)"
        known = current is None or self._known(current)
        hint = "run `ganctl db upgrade`" if known else "it was written by a newer ganctl: upgrade ganctl"
        return SchemaOutOfDate(f"database schema is at {at}, ganctl needs {head}: {hint}")

    def _known(self, rev: str) -> bool:
        try:
            return self._script().get_revision(rev) is not None
        except Exception:  # noqa: BLE001 - alembic raises various errors for unknown ids
            return False

    def check_schema(self) -> None:
        head = self.head_revision()
        current = self.current_revision()
        if current != head:
            raise self._out_of_date(current, head)
        self._schema_ok = True

    def upgrade(self) -> str:
        """``alembic upgrade head`` under the write lock (SQLite) / an advisory lock (PG), so
        several processes auto-upgrading a fresh database at once run the migration once."""
        from alembic import command

        head = self.head_revision()

        def run(conn: Connection) -> str:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7277001)")
            current = self._current(conn)
            if current != head:
                if current is not None and not self._known(current):
                    raise self._out_of_date(current, head)
                command.upgrade(self._alembic_config(conn), "head")
            return head

        result = self._tx(run, write=True, check=False)
        self._schema_ok = True
        return result

    def _ensure_schema(self) -> None:
        if self._schema_ok:
            return
        with self._schema_lock:
            if self._schema_ok:
                return
            head = self.head_revision()
            current = self.current_revision()
            if current == head:
                self._schema_ok = True
            elif self.auto_upgrade and (current is None or self._known(current)):
                self.upgrade()
            else:
                raise self._out_of_date(current, head)

    # ------------------------------------------------------------------ jobs

    def _get(self, conn: Connection, job_id: str) -> Job | None:
        row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        return _job(row) if row is not None else None

    def _must(self, conn: Connection, job_id: str) -> Job:
        job = self._get(conn, job_id)
        if job is None:
            raise NotFound(f"no job with id {job_id!r}")
        return job

    def create_job(
        self,
        kind: str,
        spec: dict,
        *,
        parent_id: str | None = None,
        total_epochs: int | None = None,
        max_attempts: int = 3,
        job_id: str | None = None,
    ) -> Job:
        if kind not in KINDS:
            raise StoreError(f"unknown job kind {kind!r}; expected one of {', '.join(KINDS)}")
        if max_attempts < 1:
            raise StoreError("max_attempts must be at least 1")
        job_id = str(uuid.UUID(job_id)) if job_id else str(uuid.uuid4())

        def run(conn: Connection) -> Job:
            if parent_id is not None and self._get(conn, parent_id) is None:
                raise NotFound(f"no job with id {parent_id!r} (parent)")
            conn.execute(
                jobs_table.insert().values(
                    id=job_id,
                    kind=kind,
                    spec=dict(spec),
                    status="queued",
                    attempts=0,
                    max_attempts=max_attempts,
                    parent_id=parent_id,
                    created_at=utcnow(),
                    cancel_requested=False,
                    total_epochs=total_epochs,
                )
            )
            return self._must(conn, job_id)

        try:
            return self._tx(run)
        except IntegrityError as e:
            raise StoreError(f"could not create job {job_id}: {str(e.orig).splitlines()[0]}") from None

    def get_job(self, id_or_prefix: str) -> Job:
        raw = id_or_prefix
        key = (id_or_prefix or "").strip().lower()
        if not key or not _ID_RE.match(key) or len(key) > 36:
            raise StoreError(f"invalid job id {raw!r}: expected a job id or a prefix of it (hex digits)")
        if len(key.replace("-", "")) < 4:
            raise StoreError(f"job id prefix {raw!r} is too short: give at least 4 hex digits")

        def run(conn: Connection) -> Job:
            if len(key) == 36:
                job = self._get(conn, key)
                if job is None:
                    raise NotFound(f"no job with id {key}")
                return job
            rows = conn.execute(
                select(jobs_table)
                .where(jobs_table.c.id.like(key + "%"))
                .order_by(jobs_table.c.created_at.desc())
                .limit(6)
            ).all()
            if not rows:
                raise NotFound(f"no job with id starting with {key!r}")
            if len(rows) > 1:
                shown = ", ".join(r._mapping["id"][: max(len(key) + 4, 12)] for r in rows[:5])
                more = " …" if len(rows) > 5 else ""
                raise Ambiguous(f"job id prefix {key!r} is ambiguous: matches {shown}{more}; give more digits")
            return _job(rows[0])

        return self._read(run)

    def list_jobs(
        self,
        *,
        status: str | None = None,
        arch: str | None = None,
        kind: str | None = None,
        limit: int = 50,
    ) -> list[Job]:
        if status is not None and status not in STATUSES:
            raise StoreError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
        if kind is not None and kind not in KINDS:
            raise StoreError(f"unknown job kind {kind!r}; expected one of {', '.join(KINDS)}")
        q = select(jobs_table)
        if status is not None:
            q = q.where(jobs_table.c.status == status)
        if kind is not None:
            q = q.where(jobs_table.c.kind == kind)
        if arch is not None:
            q = q.where(jobs_table.c.spec["arch"].as_string() == arch)
        q = q.order_by(jobs_table.c.created_at.desc(), jobs_table.c.id.desc())
        if limit and limit > 0:
            q = q.limit(limit)
        return self._read(lambda conn: [_job(r) for r in conn.execute(q)])

    def children(self, job_id: str) -> list[Job]:
        q = (
            select(jobs_table)
            .where(jobs_table.c.parent_id == job_id)
            .order_by(jobs_table.c.created_at, jobs_table.c.id)
        )
        return self._read(lambda conn: [_job(r) for r in conn.execute(q)])

    def delete_job(self, job_id: str) -> None:
        """Delete a job that is still queued (its message could not be published)."""

        def run(conn: Connection) -> None:
            res = conn.execute(
                delete(jobs_table).where(jobs_table.c.id == job_id, jobs_table.c.status == "queued")
            )
            if res.rowcount == 0:
                job = self._get(conn, job_id)
                if job is not None:
                    raise IllegalTransition(f"job {job_id[:8]} is {job.status}, only a queued job can be deleted")

        self._tx(run)

    # ------------------------------------------------------------------ state machine

    def set_status(self, job_id: str, from_: tuple[str, ...], to: str) -> bool:
        """Generic compare-and-set: ``status in from_ -> to``. False when the job is elsewhere."""
        if to not in STATUSES or any(s not in STATUSES for s in from_):
            raise StoreError(f"unknown status in {from_!r} -> {to!r}")
        values: dict[str, Any] = {"status": to}
        now = utcnow()
        if to in TERMINAL:
            values["finished_at"] = now
        elif to == "running":
            values["heartbeat_at"] = now
            values["started_at"] = func.coalesce(jobs_table.c.started_at, now)
        stmt = (
            update(jobs_table)
            .where(jobs_table.c.id == job_id, jobs_table.c.status.in_(tuple(from_)))
            .values(**values)
        )
        return self._tx(lambda conn: conn.execute(stmt).rowcount == 1)

    def _claimable(self, cutoff: datetime):
        c = jobs_table.c
        return or_(
            c.status == "queued",
            and_(c.status == "running", or_(c.heartbeat_at.is_(None), c.heartbeat_at < cutoff)),
        )

    def claim(self, job_id: str, *, worker: str, gpu: str | None, lease_s: float) -> Job | None:
        """Take the job: queued -> running, or steal a running job whose heartbeat is older
        than ``lease_s`` (its worker died). Returns the Job (``.attempts`` is the fencing
        token) or None when someone else has it / it is finished / out of attempts."""
        c = jobs_table.c

        def run(conn: Connection) -> Job | None:
            now = utcnow()
            cutoff = now - timedelta(seconds=lease_s)
            res = conn.execute(
                update(jobs_table)
                .where(c.id == job_id, c.attempts < c.max_attempts, self._claimable(cutoff))
                .values(
                    status="running",
                    attempts=c.attempts + 1,
                    started_at=func.coalesce(c.started_at, now),
                    heartbeat_at=now,
                    worker=worker,
                    gpu=gpu,
                    error=None,
                )
            )
            if res.rowcount == 1:
                return self._get(conn, job_id)
            job = self._get(conn, job_id)
            if job is None or job.attempts < job.max_attempts:
                return None
            conn.execute(
                update(jobs_table)
                .where(c.id == job_id, c.attempts >= c.max_attempts, self._claimable(cutoff))
                .values(
                    status="failed",
                    finished_at=now,
                    error=f"max attempts ({job.max_attempts}) reached",
                )
            )
            return None

        return self._tx(run)

    def heartbeat(self, job_id: str, attempt: int) -> bool:
        c = jobs_table.c
        stmt = (
            update(jobs_table)
            .where(c.id == job_id, c.status == "running", c.attempts == attempt)
            .values(heartbeat_at=utcnow())
        )
        return self._tx(lambda conn: conn.execute(stmt).rowcount == 1)

    def finish(
        self,
        job_id: str,
        attempt: int,
        status: str,
        *,
        error: str | None = None,
        result: dict | None = None,
    ) -> bool:
        if status not in TERMINAL:
            raise IllegalTransition(f"cannot finish a job as {status!r}; expected one of {', '.join(TERMINAL)}")
        c = jobs_table.c
        values: dict[str, Any] = {"status": status, "finished_at": utcnow(), "error": error}
        if result is not None:
            values["result"] = dict(result)
        stmt = (
            update(jobs_table)
            .where(c.id == job_id, c.status == "running", c.attempts == attempt)
            .values(**values)
        )
        return self._tx(lambda conn: conn.execute(stmt).rowcount == 1)

    def fail(self, job_id: str, error: str) -> bool:
        c = jobs_table.c
        stmt = (
            update(jobs_table)
            .where(c.id == job_id, c.status.in_(("queued", "running")))
            .values(status="failed", error=error, finished_at=utcnow())
        )
        return self._tx(lambda conn: conn.execute(stmt).rowcount == 1)

    def request_cancel(self, job_id: str) -> Job:
        """queued -> cancelled at once; running -> cancel_requested (the worker stops at the
        next epoch); finished -> IllegalTransition."""
        c = jobs_table.c

        def run(conn: Connection) -> Job:
            now = utcnow()
            res = conn.execute(
                update(jobs_table)
                .where(c.id == job_id, c.status == "queued")
                .values(status="cancelled", cancel_requested=True, finished_at=now)
            )
            if res.rowcount == 0:
                conn.execute(
                    update(jobs_table)
                    .where(c.id == job_id, c.status == "running")
                    .values(cancel_requested=True)
                )
            job = self._must(conn, job_id)
            if job.status not in ("running", "cancelled") or (job.status == "cancelled" and res.rowcount == 0):
                raise IllegalTransition(f"job {job.short_id} is already {job.status}")
            return job

        return self._tx(run)

    def is_cancel_requested(self, job_id: str) -> bool:
        def run(conn: Connection) -> bool:
            v = conn.execute(select(jobs_table.c.cancel_requested).where(jobs_table.c.id == job_id)).scalar()
            if v is None:
                raise NotFound(f"no job with id {job_id!r}")
            return bool(v)

        return self._read(run)

    def requeue_stale(self, lease_s: float) -> list[Job]:
        """Reaper: running jobs whose heartbeat is older than ``lease_s`` go back to queued
        (returned, for the caller to re-publish). Out of attempts -> failed; a stale job whose
        cancel was requested -> cancelled. Each move is a CAS on (status, attempts, heartbeat)."""
        c = jobs_table.c

        def run(conn: Connection) -> list[Job]:
            now = utcnow()
            cutoff = now - timedelta(seconds=lease_s)
            stale_cond = and_(c.status == "running", or_(c.heartbeat_at.is_(None), c.heartbeat_at < cutoff))
            stale = [_job(r) for r in conn.execute(select(jobs_table).where(stale_cond).order_by(c.created_at))]
            requeued: list[Job] = []
            for job in stale:
                cas = update(jobs_table).where(c.id == job.id, c.attempts == job.attempts, stale_cond)
                if job.cancel_requested:
                    conn.execute(cas.values(status="cancelled", finished_at=now, error="worker lost while cancelling"))
                elif job.attempts >= job.max_attempts:
                    conn.execute(
                        cas.values(status="failed", finished_at=now, error=f"max attempts ({job.max_attempts}) reached")
                    )
                elif conn.execute(cas.values(status="queued", heartbeat_at=None)).rowcount == 1:
                    requeued.append(self._must(conn, job.id))
            return requeued

        return self._tx(run)

    def release(self, job_id: str, attempt: int) -> Job | None:
        """A worker gives its running job back (warm shutdown): running -> queued, under the
        same fencing CAS as every other write. ``attempts`` stays (it is the fencing token and
        only ever grows) and ``max_attempts`` grows by one, so a graceful hand-back never uses
        up one of the job's attempts. A job whose cancel was requested is not released (the
        caller finishes it as cancelled). Returns the queued Job for re-publishing, or None."""
        c = jobs_table.c

        def run(conn: Connection) -> Job | None:
            res = conn.execute(
                update(jobs_table)
                .where(c.id == job_id, c.status == "running", c.attempts == attempt,
                       c.cancel_requested.is_(False))
                .values(status="queued", heartbeat_at=None, max_attempts=c.max_attempts + 1)
            )
            return self._get(conn, job_id) if res.rowcount == 1 else None

        return self._tx(run)

    def stale_queued(self, older_than_s: float) -> list[Job]:
        c = jobs_table.c

        def run(conn: Connection) -> list[Job]:
            cutoff = utcnow() - timedelta(seconds=older_than_s)
            q = select(jobs_table).where(c.status == "queued", c.created_at < cutoff).order_by(c.created_at)
            return [_job(r) for r in conn.execute(q)]

        return self._read(run)

    # ------------------------------------------------------------------ results

    def _upsert(self, conn: Connection, table, values: dict, keys: list[str]) -> None:
        ins = (pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert)(table)
        stmt = ins.values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={k: stmt.excluded[k] for k in values if k not in keys},
        )
        conn.execute(stmt)

    def record_epoch(
        self,
        job_id: str,
        attempt: int,
        epoch: int,
        d_loss: float,
        g_loss: float,
        seconds: float,
        images_per_s: float,
    ) -> bool:
        """Upsert one epoch's metrics (a redelivered epoch overwrites); refused (False) unless
        the job is running under ``attempt``. Also counts as a heartbeat."""
        c = jobs_table.c

        def run(conn: Connection) -> bool:
            now = utcnow()
            res = conn.execute(
                update(jobs_table)
                .where(c.id == job_id, c.status == "running", c.attempts == attempt)
                .values(heartbeat_at=now)
            )
            if res.rowcount != 1:
                return False
            self._upsert(
                conn,
                epochs_table,
                {
                    "job_id": job_id,
                    "epoch": int(epoch),
                    "d_loss": float(d_loss),
                    "g_loss": float(g_loss),
                    "seconds": float(seconds),
                    "images_per_s": float(images_per_s),
                    "recorded_at": now,
                },
                ["job_id", "epoch"],
            )
            return True

        return self._tx(run)

    def record_grid(self, job_id: str, epoch: int, png: bytes, path: str) -> None:
        def run(conn: Connection) -> None:
            self._must(conn, job_id)
            self._upsert(
                conn,
                grids_table,
                {"job_id": job_id, "epoch": int(epoch), "png": bytes(png), "path": str(path), "recorded_at": utcnow()},
                ["job_id", "epoch"],
            )

        self._tx(run)

    def record_artifacts(self, job_id: str, rows: list[ArtifactRow]) -> None:
        def run(conn: Connection) -> None:
            self._must(conn, job_id)
            now = utcnow()
            for r in rows:
                self._upsert(
                    conn,
                    artifacts_table,
                    {
                        "job_id": job_id,
                        "format": r.format,
                        "path": str(r.path),
                        "bytes": int(r.bytes),
                        "sha256": r.sha256,
                        "recorded_at": now,
                    },
                    ["job_id", "format"],
                )

        self._tx(run)

    def epochs(self, job_id: str) -> list[EpochRow]:
        c = epochs_table.c
        q = select(c.epoch, c.d_loss, c.g_loss, c.seconds, c.images_per_s).where(c.job_id == job_id).order_by(c.epoch)

        def nan(v: float | None) -> float:
            return math.nan if v is None else v

        return self._read(
            lambda conn: [
                EpochRow(r.epoch, nan(r.d_loss), nan(r.g_loss), nan(r.seconds), nan(r.images_per_s))
                for r in conn.execute(q)
            ]
        )

    def grids(self, job_id: str, with_png: bool = False) -> list[GridRow]:
        """Sample grids by epoch; ``png`` is b"" unless ``with_png``."""
        c = grids_table.c
        cols = [c.epoch, c.path] + ([c.png] if with_png else [])
        q = select(*cols).where(c.job_id == job_id).order_by(c.epoch)
        return self._read(
            lambda conn: [GridRow(r.epoch, r.path, bytes(r.png) if with_png else b"") for r in conn.execute(q)]
        )

    def artifacts(self, job_id: str) -> list[ArtifactRow]:
        c = artifacts_table.c
        q = select(c.format, c.path, c.bytes, c.sha256).where(c.job_id == job_id).order_by(c.format)
        return self._read(lambda conn: [ArtifactRow(r.format, r.path, r.bytes, r.sha256) for r in conn.execute(q)])

    # ------------------------------------------------------------------ quality metrics

    def record_metrics(self, job_id: str, attempt: int | None, epoch: int | None, n: int,
                       values: dict, collapse: bool) -> bool:
        """Upsert a job's quality figures at `epoch` (a re-run epoch overwrites); epoch None (an
        on-demand evaluation) adds a row each time. With `attempt`, fenced like record_epoch:
        refused (False) unless the job is running under it. Without, the job must exist."""
        c = jobs_table.c
        clean = _json_clean(dict(values))

        def run(conn: Connection) -> bool:
            now = utcnow()
            if attempt is not None:
                res = conn.execute(
                    update(jobs_table)
                    .where(c.id == job_id, c.status == "running", c.attempts == attempt)
                    .values(heartbeat_at=now)
                )
                if res.rowcount != 1:
                    return False
            else:
                self._must(conn, job_id)
            row = {"job_id": job_id, "epoch": None if epoch is None else int(epoch), "n": int(n),
                   "values": clean, "collapse": bool(collapse), "recorded_at": now}
            if epoch is None:
                conn.execute(metrics_table.insert().values(**row))
            else:
                self._upsert(conn, metrics_table, row, ["job_id", "epoch"])
            return True

        return self._tx(run)

    def metrics(self, job_id: str) -> list[MetricsRow]:
        """Per-epoch rows by epoch, then the on-demand evaluations (epoch None) oldest first."""
        c = metrics_table.c
        q = (select(c.epoch, c.n, c["values"], c.collapse, c.recorded_at).where(c.job_id == job_id)
             .order_by(c.epoch.is_(None), c.epoch, c.recorded_at, c.id))
        return self._read(lambda conn: [_metrics_row(r) for r in conn.execute(q)])

    def latest_metrics(self, job_id: str) -> MetricsRow | None:
        """The most recently recorded quality figures of a job, or None."""
        c = metrics_table.c
        q = (select(c.epoch, c.n, c["values"], c.collapse, c.recorded_at).where(c.job_id == job_id)
             .order_by(c.recorded_at.desc(), c.id.desc()).limit(1))

        def run(conn: Connection) -> MetricsRow | None:
            row = conn.execute(q).first()
            return _metrics_row(row) if row is not None else None

        return self._read(run)


def _metrics_row(r: Any) -> MetricsRow:
    m = r._mapping
    return MetricsRow(m["epoch"], int(m["n"]), dict(m["values"] or {}), bool(m["collapse"]), m["recorded_at"])


def _json_clean(v: Any) -> Any:
    """NaN/inf -> None (neither JSON nor PostgreSQL's json accepts them), numpy scalars -> Python."""
    if isinstance(v, dict):
        return {str(k): _json_clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_clean(x) for x in v]
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v
