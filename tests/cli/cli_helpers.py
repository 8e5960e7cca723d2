"""Helpers for the CLI tests (plain functions; the fixtures are in conftest.py)."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

GANCTL_VARS = ("GANCTL_BROKER_URL", "GANCTL_DATABASE_URL", "GANCTL_ARTIFACTS_DIR", "GANCTL_DEBUG")


def job_rows(home: Path) -> list[tuple]:
    """(id, kind, status) of every job in the store file, read with plain sqlite3; [] if none."""
    db = home / "ganctl.db"
    if not db.exists():
        return []
    con = sqlite3.connect(db)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='jobs'").fetchone():
            return []
        return con.execute("SELECT id, kind, status FROM jobs ORDER BY created_at").fetchall()
    finally:
        con.close()


def broker_messages(home: Path) -> int:
    """Messages in the embedded (kombu SQLAlchemy/SQLite) broker; 0 if it does not exist yet."""
    db = home / "broker.db"
    if not db.exists():
        return 0
    con = sqlite3.connect(db)
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name='kombu_message'").fetchone():
            return 0
        return con.execute("SELECT count(*) FROM kombu_message").fetchone()[0]
    finally:
        con.close()


def subprocess_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in GANCTL_VARS}
    env.update(GANCTL_HOME=str(home), **extra)
    return env


def assert_one_line_error(result, *needles: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr starting with 'error: '."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    err = result.stderr
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    assert result.stdout == "", result.stdout
    return lines[0]
