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


def test_every_page_of_a_long_visit_goes_live(chromium, tmp_path):
    """A browser keeps at most six connections to one server: a left page's stream must close (a
    page in the back/forward cache kept its own, and the seventh page of a visit never loaded)."""
    port, log = free_port(), tmp_path / "ui.log"
    ui = start_ui(ganctl_env(tmp_path / "home"), port, log)
    page = Page(chromium)
    try:
        for i, path in enumerate(["/", "/workers", "/sweeps", "/", "/workers", "/sweeps", "/", "/workers", "/sweeps"]):
            page.goto(f"http://127.0.0.1:{port}{path}")
            page.wait("document.getElementById('live').textContent === 'live'", 20, f"page {i + 1} ({path}) live")
        page.js("history.back()")  # back to a page the browser may have cached: it reloads, live again
        deadline, live = time.monotonic() + 20, None
        while time.monotonic() < deadline and not live:
            try:  # the page may be between two loads at any poll
                live = page.js("(e => location.pathname === '/workers' && !!e && e.textContent === 'live')"
                               "(document.getElementById('live'))")
            except Exception:  # noqa: BLE001 - "Inspected target navigated", or the element not there yet
                pass
            time.sleep(0.2)
        assert live, "the page before was not live again within 20 s"
    finally:
        ui.terminate()
        ui.wait(timeout=20)
