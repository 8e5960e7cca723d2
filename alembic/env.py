"""Alembic environment for ganctl's results store.

Used three ways: `alembic ...` from the repository root (alembic.ini), ganctl's own
`Store.upgrade()` (passes an open Connection in ``config.attributes['connection']``), and
pytest-alembic (passes an Engine there).
"""
from __future__ import annotations

import logging.config

from alembic import context
from sqlalchemy.engine import Connection, Engine

from ganctl.jobs.store.models import metadata
from ganctl.jobs.store.repo import make_engine, normalize_url

config = context.config
target_metadata = config.attributes.get("target_metadata") or metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from ganctl.jobs.config import get_settings

        url = get_settings().resolved_database_url
    return normalize_url(url)


def _configure(**kw) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        **kw,
    )


def run_migrations_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if isinstance(connectable, Connection):
        _run(connectable)
        return
    if connectable is None:
        if config.config_file_name:
            logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
        connectable = make_engine(_url())
    assert isinstance(connectable, Engine)
    with connectable.connect() as connection:
        _run(connection)
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
