"""Schema checks and upgrades of the store: a mixin of Store (uses its engine and _tx).

The head revision is a constant (tests/store/test_migrations.py checks it against alembic's
scripts) and the current one is read with one SELECT, so a read-only CLI command never imports
Alembic; Alembic is loaded only to upgrade or to explain an unknown revision.
"""
from __future__ import annotations

import threading
from typing import Callable, TypeVar

from sqlalchemy import Connection, inspect, text

from ganctl.jobs.store.engine import migrations_dir
from ganctl.jobs.store.rows import SchemaOutOfDate, StoreError

T = TypeVar("T")

SCHEMA_HEAD = "0005"  # the newest file in alembic/versions/


class SchemaMixin:
    engine: object
    auto_upgrade: bool
    _schema_ok: bool
    _schema_lock: threading.Lock
    _tx: Callable[..., T]

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
        return SCHEMA_HEAD

    @staticmethod
    def _current(conn: Connection) -> str | None:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(versions) > 1:
            raise StoreError(f"database has several schema heads ({', '.join(versions)}): repair it with alembic")
        return versions[0] if versions else None

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
