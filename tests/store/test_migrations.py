"""pytest-alembic's standard checks, on SQLite and (integration) PostgreSQL.

The ``alembic_engine`` fixture (tests/store/conftest.py) is parametrized over both backends.
"""
from pytest_alembic.tests import (  # noqa: F401 - collected as tests
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
