"""CLI test fixtures: a fresh GANCTL_HOME per test (embedded SQLite store and broker inside it)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ganctl.jobs.config import get_settings

from cli_helpers import GANCTL_VARS


def _reset_caches() -> None:
    get_settings.cache_clear()
    tasks = sys.modules.get("ganctl.worker.tasks")
    if tasks is not None:
        tasks.store.cache_clear()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """GANCTL_HOME in a temp dir; the other GANCTL_* variables unset; settings cache cleared."""
    h = tmp_path / "ganctl-home"
    monkeypatch.setenv("GANCTL_HOME", str(h))
    for var in GANCTL_VARS:
        monkeypatch.delenv(var, raising=False)
    _reset_caches()
    yield h
    _reset_caches()


@pytest.fixture
def cli(home):
    """cli('status', 'abcd') -> click Result (exit_code, stdout, stderr), run in-process."""
    from ganctl.cli.main import app

    runner = CliRunner()

    def run(*args: str, **kw):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False, **kw)

    return run


@pytest.fixture
def store(home):
    from ganctl.jobs.store.repo import Store

    s = Store.from_settings()
    yield s
    s.close()


@pytest.fixture
def tasks(home, monkeypatch):
    """The worker's task module, on this test's store, with no GPU set-up (none here)."""
    from ganctl.jobs import device
    from ganctl.worker import tasks as mod

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(device, "configure", lambda: None)
    mod.store.cache_clear()
    yield mod
    mod.store.cache_clear()
