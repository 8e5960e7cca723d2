"""pytest-alembic's standard checks, on SQLite and (integration) PostgreSQL.

The ``alembic_engine`` fixture (tests/store/conftest.py) is parametrized over both backends.
"""
from pytest_alembic.tests import (  # noqa: F401 - collected as tests
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)


def test_schema_head_constant_is_alembics_head():
    """The store knows its head revision without Alembic (a fast CLI); it must be the scripts' head."""
    from alembic.script import ScriptDirectory

    from ganctl.jobs.store import SCHEMA_HEAD, migrations_dir

    assert ScriptDirectory(str(migrations_dir())).get_current_head() == SCHEMA_HEAD
