"""Schema versioning: refused when out of date, auto-upgraded only for the embedded default."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from ganctl.jobs.config import Settings
from ganctl.jobs.store import SchemaOutOfDate, Store


def test_fresh_file_refused_without_auto_upgrade(sqlite_url):
    s = Store(sqlite_url)
    head = s.head_revision()
    assert s.current_revision() is None
    with pytest.raises(SchemaOutOfDate) as ei:
        s.create_job("train", {})
    msg = str(ei.value)
    assert msg == f"database schema is at empty (no tables), ganctl needs {head}: run `ganctl db upgrade`"
    with pytest.raises(SchemaOutOfDate):
        s.check_schema()
    assert s.upgrade() == head
    assert s.current_revision() == head
    s.check_schema()
    assert s.create_job("train", {}).status == "queued"
    assert s.upgrade() == head  # idempotent
    s.close()


def test_behind_is_refused_with_clear_message(sqlite_url):
    s = Store(sqlite_url)
    s.upgrade()
    with s.engine.begin() as conn:  # pretend the db is at an older revision
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    s2 = Store(sqlite_url)
    with pytest.raises(SchemaOutOfDate, match=r"schema is at 0000, ganctl needs .*: (run `ganctl db upgrade`|it was written)"):
        s2.list_jobs()
    s.close()
    s2.close()


def test_newer_schema_is_refused_even_with_auto_upgrade(sqlite_url):
    s = Store(sqlite_url)
    s.upgrade()
    with s.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    s2 = Store(sqlite_url, auto_upgrade=True)
    with pytest.raises(SchemaOutOfDate, match="newer ganctl"):
        s2.list_jobs()
    s.close()
    s2.close()


def test_auto_upgrade_on_fresh_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'sub' / 'dir' / 'ganctl.db'}"
    s = Store(url, auto_upgrade=True)
    assert s.list_jobs() == []
    assert s.current_revision() == s.head_revision()
    s.close()


def test_from_settings_embedded(tmp_path):
    home = tmp_path / "home"
    s = Store.from_settings(Settings(home=home))
    assert home.is_dir() and s.auto_upgrade
    s.create_job("train", {})
    assert (home / "ganctl.db").is_file()
    s.close()


def test_from_settings_external_url_is_not_auto_upgraded(tmp_path):
    url = f"sqlite:///{tmp_path / 'ext.db'}"
    s = Store.from_settings(Settings(home=tmp_path / "h", database_url=url))
    assert not s.auto_upgrade
    with pytest.raises(SchemaOutOfDate):
        s.list_jobs()
    s.close()
