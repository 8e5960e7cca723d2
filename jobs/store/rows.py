"""What the store returns: plain frozen dataclasses (never ORM rows) and its one-line errors."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ganctl.jobs.store.models import TERMINAL


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
    sweep_id: str | None = None

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
    """Quality figures (ganctl.jobs.quality.metrics.Quality.to_dict()) of a training job at an epoch,
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


def job_from_row(row: Any) -> Job:
    m = row._mapping
    return Job(**{f: m[f] for f in _JOB_FIELDS})


def metrics_from_row(r: Any) -> MetricsRow:
    m = r._mapping
    return MetricsRow(m["epoch"], int(m["n"]), dict(m["values"] or {}), bool(m["collapse"]), m["recorded_at"])
