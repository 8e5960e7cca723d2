"""A dashboard tab left open survives a restart of `ganctl ui`: EventSource reconnects by itself
and the new server sends the whole state on connect, so a job created meanwhile shows up."""
from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from ganctl_procs import free_port, ganctl_argv, ganctl_env  # noqa: E402

from dashboard_page import Page  # noqa: E402

pytestmark = pytest.mark.slow


def start_ui(env: dict, port: int, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([*ganctl_argv(), "ui", "--port", str(port)], env=env, stdout=open(log, "ab"),
                            stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs", timeout=5).read()
            return proc
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)


def test_the_jobs_page_reconnects_after_a_restart(chromium, tmp_path):
    from ganctl.jobs import service
    from ganctl.jobs.config import Settings

    home = tmp_path / "home"
    env = ganctl_env(home)
    store = service.open_store(Settings(home=home))
    first = store.create_job("train", {"arch": "dcgan", "epochs": 2}, total_epochs=2)
    port, log = free_port(), tmp_path / "ui.log"
    ui = start_ui(env, port, log)
    page = Page(chromium)
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        page.js("window.noReload = 1")
        page.wait(f"!!document.querySelector('tr[data-id=\"{first.id}\"]')", 30, "the first job")
        ui.terminate()
        ui.wait(timeout=20)
        page.wait("document.getElementById('live').textContent.startsWith('reconnecting')", 30, "the lost stream")
        second = store.create_job("train", {"arch": "upsample", "epochs": 1}, total_epochs=1)
        ui = start_ui(env, port, log)
        row = page.wait(f"(r => r && r.children[3].textContent)(document.querySelector('tr[data-id=\"{second.id}\"]'))",
                        30, "the job created while the server was down")
        assert row == "upsample"
        assert page.js("window.noReload") == 1 and page.js("document.getElementById('live').textContent") == "live"
    finally:
        ui.terminate()
        ui.wait(timeout=20)
