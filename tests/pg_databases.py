"""Throwaway databases on the session's PostgreSQL server (tests/conftest.py `postgres_url`),
shared by the store tests and the fault tests."""
from __future__ import annotations

import itertools

_counter = itertools.count(1)


def fresh_pg_database(postgres_url: str, prefix: str = "t") -> str:
    """CREATE a new empty database `<prefix>_<n>` on the session server; returns its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(postgres_url)
    name = f"{prefix}_{next(_counter)}"
    with psycopg.connect(host=u.host, port=u.port, user=u.username, password=u.password,
                         dbname=u.database, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return u.set(database=name).render_as_string(hide_password=False)
