"""`ganctl ui` end to end in a real headless Chromium: a real `ganctl ui` process, a real
`ganctl worker --cpu` on the embedded broker, real training on 256 Fashion-MNIST trousers.

What a user sees: the jobs page lists the job; the job page's loss chart gains points and its grid
moves on to newer epochs while it trains, with no reload; sampling shows the sample grid; cancel
(with the token) ends in `cancelled`; without the token an action is refused; `../` is a 404.
Screenshots go to docs/ when GANCTL_TEST_SCREENSHOTS=1."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
from ganctl_procs import WorkerProcess, free_port, ganctl, ganctl_argv, ganctl_env  # noqa: E402

from dashboard_page import Page  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TOKEN = "test-token-0123456789"
DOCS = Path(__file__).parents[2] / "docs"
TRAIN = ("submit", "--arch", "dcgan", "--classes", "trouser", "--limit", "256", "--batch-size", "64")


def raw_get(port: int, path: str) -> int:
    """The status code of GET `path` sent verbatim (no client-side `..` normalisation)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        return int(s.recv(64).split()[1])


@pytest.fixture
def served(tmp_path):
    """(env, port, worker): a ready worker and a `ganctl ui` answering on `port`."""
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_UI_TOKEN=TOKEN)
    worker = WorkerProcess(env, tmp_path / "worker.log", ("--cpu", "--reap-every", "5"))
    port = free_port()
    ui_log = open(tmp_path / "ui.log", "wb")
    ui = subprocess.Popen([*ganctl_argv(), "ui", "--port", str(port)], env=env, stdout=ui_log,
                          stderr=subprocess.STDOUT, start_new_session=True)
    try:
        worker.wait_ready()
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/jobs", timeout=5).read()
                break
            except OSError:
                assert ui.poll() is None and time.monotonic() < deadline, (tmp_path / "ui.log").read_text()
                time.sleep(0.3)
        assert f"http://127.0.0.1:{port}/?token={TOKEN}" in (tmp_path / "ui.log").read_text()
        yield env, port, worker
    finally:
        ui.terminate()
        ui.wait(timeout=20)
        worker.stop()


def test_dashboard_live_in_chromium(chromium, served):
    env, port, worker = served
    base = f"http://127.0.0.1:{port}"
    job_id = ganctl(env, *TRAIN, "--epochs", "4").stdout.split()[0]
    page = Page(chromium)
    shots = os.environ.get("GANCTL_TEST_SCREENSHOTS") == "1"

    # the job page, opened once with the token; a marker proves later checks saw no reload
    page.goto(f"{base}/jobs/{job_id}?token={TOKEN}")
    page.js("window.noReload = 1")
    assert page.js("location.search") == ""  # the token left the address bar
    seen = set()
    deadline = time.monotonic() + 400
    while page.js("document.getElementById('status').textContent") != "completed":
        assert time.monotonic() < deadline, worker.output()[-3000:]
        points = int(page.js("document.getElementById('loss-chart').dataset.points || 0"))
        grid = page.js("document.getElementById('grid').dataset.epoch || ''")
        seen.add((points, grid))
        time.sleep(0.2)
    assert page.js("window.noReload") == 1
    points_seen = sorted({p for p, _ in seen})
    assert len([p for p in points_seen if 0 < p < 4]) >= 2, seen  # the chart grew while it trained
    assert len({g for _, g in seen if g}) >= 2, seen  # and the grid moved on
    page.wait("document.getElementById('loss-chart').dataset.points === '4' && "
              "document.getElementById('grid').dataset.epoch === '4' && document.getElementById('grid').naturalWidth > 0",
              30, "4 points and the epoch-4 grid")
    page.wait("document.querySelectorAll('#artifacts tbody tr').length >= 2", 30, "the artifacts table")
    assert page.js("document.querySelector('#artifacts code').textContent.length") == 64  # a sha256
    href = page.js("document.querySelector('#artifacts a').href")
    assert urllib.request.urlopen(href, timeout=10).status == 200

    # sample 9 images: its grid appears on the page when the sampling job ends
    page.js("document.getElementById('sample-n').value = 9; document.getElementById('sample').click()")
    page.wait("[...document.querySelectorAll('#children figure')].some(f => f.dataset.status === 'completed' "
              "&& f.querySelector('img.child-grid') && f.querySelector('img.child-grid').naturalWidth > 0)",
              180, "the sample grid")
    if shots:
        page.screenshot(DOCS / "dashboard-job.png")
    page.js("document.getElementById('grid-slider').value = 0; "
            "document.getElementById('grid-slider').dispatchEvent(new Event('input'))")
    assert page.js("document.getElementById('grid').dataset.epoch") == "1"

    # extend it by one epoch from the page: the new linked job trains epoch 5 and its page says so
    page.js("document.getElementById('extend-epochs').value = 1; document.getElementById('extend').click()")
    page.wait("!!document.getElementById('new-job')", 30, "the extension's link")
    page.goto(page.js("document.getElementById('new-job').href"))
    page.wait("document.getElementById('status').textContent === 'completed' && "
              "document.getElementById('epochs-done').textContent === '5'", 180, "the extension completed")
    assert job_id[:8] in page.js("document.getElementById('lineage').textContent")

    # the jobs page lists it, with its state and epochs
    page.goto(f"{base}/")
    row = page.wait(f"(r => r && [r.children[2].textContent, r.children[4].textContent])"
                    f"(document.querySelector('tr[data-id=\"{job_id}\"]'))", 30, "the job's row")
    assert row == ["completed", "4/4"]

    # a long job: cancel from its page (the token is remembered), the page shows `cancelled`
    long_id = ganctl(env, *TRAIN, "--epochs", "300").stdout.split()[0]
    page.wait(f"!!document.querySelector('tr[data-id=\"{long_id}\"]')", 30, "the new job's row, live")
    if shots:
        page.wait(f"document.querySelector('tr[data-id=\"{long_id}\"]').dataset.status === 'running'", 120, "running")
        page.screenshot(DOCS / "dashboard-jobs.png")
    page.goto(f"{base}/jobs/{long_id}")
    page.wait("document.getElementById('status').textContent === 'running'", 120, "running")
    page.js("document.getElementById('cancel').click()")
    page.wait("document.getElementById('status').textContent === 'cancelled'", 120, "cancelled")

    # a value the option cannot take is refused by name, not sent as null (the parent's lr)
    page.goto(f"{base}/jobs/{job_id}")
    page.js("document.getElementById('fork-epoch').value = '2'; document.getElementById('fork-lr-g').value = 'abc';"
            "document.getElementById('fork').click()")
    text = page.wait("(t => t.startsWith('refused') && t)(document.getElementById('action-result').textContent)",
                     30, "the fork's refusal")
    assert text.startswith("refused: lr_g: Input should be a valid number"), text

    # a token kept from before a restart of `ganctl ui` is stale: refused, forgotten, and the page says so
    page.js("localStorage.setItem('ganctl-token', 'from-an-earlier-start')")
    page.goto(f"{base}/jobs/{job_id}")
    page.js("document.getElementById('sample').click()")
    page.wait("document.getElementById('token-state').textContent.startsWith('token refused')", 30, "the stale token")
    assert page.js("localStorage.getItem('ganctl-token')") is None

    # without the token: refused, on the page and from a script
    page.js("localStorage.clear()")
    page.goto(f"{base}/jobs/{job_id}")
    page.js("document.getElementById('sample').click()")
    text = page.wait("(t => t.startsWith('refused') && t)(document.getElementById('action-result').textContent)",
                     30, "the refusal")
    assert "needs the token" in text
    req = urllib.request.Request(f"{base}/api/jobs/{job_id}/sample", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 403
    assert page.js(f"fetch('/api/jobs/{job_id}/cancel', {{method: 'POST', headers: {{'X-Ganctl-Token': 'wrong'}}}})"
                   ".then(r => r.status)") == 403

    # artifacts: only from under the job's folder
    assert raw_get(port, f"/artifacts/{job_id}/../ganctl.db") == 404
    assert raw_get(port, f"/artifacts/{job_id}/%2e%2e/%2e%2e/ganctl.db") == 404
    assert raw_get(port, "/artifacts/../ganctl.db") == 404
    assert raw_get(port, f"/jobs/{job_id[:8]}") == 404  # a prefix is not a canonical job id
