"""The results store: jobs and their state machine (this file), schema checks (schema.py), what
jobs produced (results.py), engines (engine.py), returned rows and errors (rows.py).

Every state change is ONE conditional UPDATE (compare-and-set), so two workers, a worker
and the reaper, or a worker and the CLI can race freely: exactly one wins, the loser gets
``False``/``None``. A job's ``attempts`` is its fencing token: a worker that lost its job
(its lease expired and another worker claimed it) finds its writes refused.

Returns plain frozen dataclasses, never ORM rows, so callers never see SQLAlchemy.
"""
from __future__ import annotations

import logging
import os
import random
import re
import threading
import time
import uuid
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable, TypeVar

from sqlalchemy import Connection, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from ganctl.jobs.store.engine import make_engine, migrations_dir, normalize_url
from ganctl.jobs.store.lineage import Link, LineageMixin
from ganctl.jobs.store.models import KINDS, STATUSES, TERMINAL, jobs_table, utcnow
from ganctl.jobs.store.results import ResultsMixin
from ganctl.jobs.store.rows import (
    Ambiguous,
    ArtifactRow,
    EpochRow,
    GridRow,
    IllegalTransition,
    Job,
    MetricsRow,
    NotFound,
    SchemaOutOfDate,
    StoreError,
    job_from_row,
)
from ganctl.jobs.store.schema import SCHEMA_HEAD, SchemaMixin
from ganctl.jobs.store.sweeps import RungRow, SweepRow, SweepsMixin
from ganctl.jobs.store.workers import WorkerRow, WorkersMixin

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
    "WorkerRow",
    "Link",
    "SweepRow",
    "RungRow",
    "Store",
    "SCHEMA_HEAD",
    "normalize_url",
    "make_engine",
    "migrations_dir",
]

_LOCKED = ("database is locked", "database table is locked", "database is busy")
_ID_RE = re.compile(r"^[0-9a-f-]+$")


class Store(SchemaMixin, ResultsMixin, WorkersMixin, LineageMixin, SweepsMixin):
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

    # ------------------------------------------------------------------ jobs

    def _get(self, conn: Connection, job_id: str) -> Job | None:
        row = conn.execute(select(jobs_table).where(jobs_table.c.id == job_id)).first()
        return job_from_row(row) if row is not None else None

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
            return job_from_row(rows[0])

        return self._read(run)

    def list_jobs(
        self,
        *,
        status: str | None = None,
        arch: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        sweep_id: str | None = None,
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
        if sweep_id is not None:
            q = q.where(jobs_table.c.sweep_id == sweep_id)
        if arch is not None:
            q = q.where(jobs_table.c.spec["arch"].as_string() == arch)
        q = q.order_by(jobs_table.c.created_at.desc(), jobs_table.c.id.desc())
        if limit and limit > 0:
            q = q.limit(limit)
        return self._read(lambda conn: [job_from_row(r) for r in conn.execute(q)])

    def children(self, job_id: str) -> list[Job]:
        q = (
            select(jobs_table)
            .where(jobs_table.c.parent_id == job_id)
            .order_by(jobs_table.c.created_at, jobs_table.c.id)
        )
        return self._read(lambda conn: [job_from_row(r) for r in conn.execute(q)])

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
            query = select(jobs_table).where(stale_cond).order_by(c.created_at)
            stale = [job_from_row(r) for r in conn.execute(query)]
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
            return [job_from_row(r) for r in conn.execute(q)]

        return self._read(run)
