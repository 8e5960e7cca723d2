"""The results store (SQLAlchemy 2.0; SQLite embedded default, PostgreSQL by URL).

Only this package imports SQLAlchemy; callers get plain frozen dataclasses.
"""
from ganctl.jobs.store.repo import (
    Ambiguous,
    ArtifactRow,
    EpochRow,
    GridRow,
    IllegalTransition,
    Job,
    MetricsRow,
    SCHEMA_HEAD,
    NotFound,
    SchemaOutOfDate,
    Store,
    StoreError,
    make_engine,
    migrations_dir,
    normalize_url,
)

__all__ = [
    "Ambiguous",
    "ArtifactRow",
    "EpochRow",
    "GridRow",
    "IllegalTransition",
    "Job",
    "MetricsRow",
    "NotFound",
    "SCHEMA_HEAD",
    "SchemaOutOfDate",
    "Store",
    "StoreError",
    "make_engine",
    "migrations_dir",
    "normalize_url",
]
