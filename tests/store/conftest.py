"""Store fixtures: a fresh SQLite file per test, and (integration) a fresh PostgreSQL database."""
from __future__ import annotations

from pathlib import Path

import pytest

from ganctl.jobs.store import Store, make_engine, migrations_dir
from pg_databases import fresh_pg_database

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'ganctl.db'}"


@pytest.fixture(scope="session")
def pg_store_url(postgres_url) -> str:
    """One upgraded PostgreSQL database for the session's store tests (emptied per test)."""
    url = fresh_pg_database(postgres_url, prefix="store")
    s = Store(url)
    s.upgrade()
    s.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def store_url(request, tmp_path) -> str:
    """A URL to an empty, upgraded database: SQLite file, or (integration) PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ganctl.db'}"
        s = Store(url)
        s.upgrade()
    else:
        url = request.getfixturevalue("pg_store_url")
        s = Store(url)
        with s.engine.begin() as conn:
            conn.exec_driver_sql("TRUNCATE jobs, epochs, grids, artifacts, metrics, workers, job_links, job_tags, sweeps, rungs CASCADE")
    s.close()
    return url


@pytest.fixture
def store(store_url):
    s = Store(store_url)
    yield s
    s.close()


# --- pytest-alembic: the standard tests run against both backends.


@pytest.fixture
def alembic_config():
    return {"file": str(REPO_ROOT / "alembic.ini"), "script_location": str(migrations_dir())}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def alembic_engine(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'migrations.db'}"
    else:
        url = fresh_pg_database(request.getfixturevalue("postgres_url"), prefix="mig")
    engine = make_engine(url)
    yield engine
    engine.dispose()
