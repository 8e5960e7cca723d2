"""SQLAlchemy 2.0 models for the results store (the only module tree that knows SQLAlchemy).

Every constraint and index has an explicit name (see NAMING_CONVENTION) so migrations can
drop or alter them by name on SQLite (batch mode) and PostgreSQL alike.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

KINDS = ("train", "sample", "eval")
STATUSES = ("queued", "running", "completed", "failed", "cancelled", "stopped")
# stopped: a sweep's successive halving cut the job at a rung (jobs/sweeps.py)
TERMINAL = ("completed", "failed", "cancelled", "stopped")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as
    naive UTC (which keeps its string comparison ordering) and tagged UTC again on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class NaNFloat(TypeDecorator):
    """A double that round-trips NaN.

    PostgreSQL's double precision stores 'NaN' natively. SQLite silently binds NaN as
    NULL, so on SQLite NULL is read back as NaN (these columns are never legitimately
    NULL: a diverged loss is exactly the case NaN is for).
    """

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> float | None:
        if value is None:
            return None
        value = float(value)
        if dialect.name == "sqlite" and math.isnan(value):
            return None
        return value

    def process_result_value(self, value: Any, dialect) -> float | None:
        if value is None:
            return math.nan if dialect.name == "sqlite" else None
        return float(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class JobModel(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(255))
    gpu: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    total_epochs: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict | None] = mapped_column(JSON)
    sweep_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("sweeps.id", ondelete="SET NULL"), index=True
    )

    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        Index("ix_jobs_status", "status"),
        Index("ix_jobs_created_at", "created_at"),
    )


class EpochModel(Base):
    __tablename__ = "epochs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    d_loss: Mapped[float | None] = mapped_column(NaNFloat())
    g_loss: Mapped[float | None] = mapped_column(NaNFloat())
    seconds: Mapped[float | None] = mapped_column(NaNFloat())
    images_per_s: Mapped[float | None] = mapped_column(NaNFloat())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "epoch", name="uq_epochs_job_id_epoch"),)


class GridModel(Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    png: Mapped[bytes] = mapped_column(LargeBinary)
    path: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "epoch", name="uq_grids_job_id_epoch"),)


class ArtifactModel(Base):
    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "format", name="uq_artifacts_job_id_format"),)


class MetricsModel(Base):
    """Quality figures of a training job (ganctl.jobs.quality.metrics.Quality.to_dict()): one row per
    evaluated epoch (upserted), plus one row per on-demand `ganctl eval` (epoch NULL; NULLs are
    distinct under the unique constraint, so each on-demand evaluation adds a row)."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int | None] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict] = mapped_column(JSON)
    collapse: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "epoch", name="uq_metrics_job_id_epoch"),)


class WorkerModel(Base):
    """The worker registry: one row per live `ganctl worker` Celery process (jobs/store/workers.py).
    `name` is the Celery node name, which a claimed job's `worker` column holds: a worker's
    current job is derived from the jobs table, never written here."""

    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    launcher_pid: Mapped[int | None] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(32))
    queues: Mapped[str] = mapped_column(String(64))  # comma-separated: train,sample
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    # AUTOINCREMENT on SQLite: a pruned row's id is never handed to another worker, whose row the
    # pruned process would otherwise renew.
    __table_args__ = (Index("ix_workers_heartbeat_at", "heartbeat_at"), {"sqlite_autoincrement": True})


LINK_KINDS = ("extend", "fork")


class JobLinkModel(Base):
    """A training job that carries on from another's checkpoint (jobs.parent_id): `extend` (more
    epochs, same options) or `fork` (some options changed), from `start_epoch`."""

    __tablename__ = "job_links"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    start_epoch: Mapped[int] = mapped_column(Integer)

    __table_args__ = (CheckConstraint(_in("kind", LINK_KINDS), name="kind"),)


class JobTagModel(Base):
    __tablename__ = "job_tags"

    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_job_tags_tag", "tag"),)
class SweepModel(Base):
    """A sweep (jobs/sweeps.py): its request as given (base spec, --set values, keep fraction);
    its jobs point at it with jobs.sweep_id."""

    __tablename__ = "sweeps"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    spec: Mapped[dict] = mapped_column(JSON)
    keep: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    cancelled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class RungModel(Base):
    """One successive-halving decision: a sweep job's FD at a rung (an evaluated epoch), the cut it
    was compared with and the answer. Unique per (job, epoch): a re-run epoch after a crash reads
    its decision back instead of deciding again."""

    __tablename__ = "rungs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sweep_id: Mapped[str] = mapped_column(String(36), ForeignKey("sweeps.id", ondelete="CASCADE"))
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    epoch: Mapped[int] = mapped_column(Integer)
    fd: Mapped[float | None] = mapped_column(NaNFloat())
    cutoff: Mapped[float | None] = mapped_column(NaNFloat())
    go_on: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("job_id", "epoch", name="uq_rungs_job_id_epoch"),
                      Index("ix_rungs_sweep_id_epoch", "sweep_id", "epoch"))


metadata = Base.metadata
jobs_table = JobModel.__table__
epochs_table = EpochModel.__table__
grids_table = GridModel.__table__
artifacts_table = ArtifactModel.__table__
metrics_table = MetricsModel.__table__
workers_table = WorkerModel.__table__
job_links_table = JobLinkModel.__table__
job_tags_table = JobTagModel.__table__
sweeps_table = SweepModel.__table__
rungs_table = RungModel.__table__
