"""The dashboard's sweep page in a real headless Chromium against a real `ganctl ui`: the ranked
table (best first, the stopped job's reason) and one overlaid line per job in the FD chart, drawn
from the event stream; a job's lineage links to its sweep; the jobs
table filters by tag and sweep and shows tags and a stopped job's reason. Rows come from the store API (no training).
Screenshot to docs/ when GANCTL_TEST_SCREENSHOTS=1."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration"))
sys.path.insert(0, str(Path(__file__).parents[1] / "web"))
from ganctl_procs import free_port, ganctl_env  # noqa: E402
from sweep_rows import three_job_sweep  # noqa: E402
from test_dashboard_reconnect import start_ui  # noqa: E402

from dashboard_page import Page  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

RANKING = "[...document.querySelectorAll('#ranking tbody tr')].map(r => [...r.children].map(c => c.textContent))"
CHART = """(el => el.dataset.series ? {series: el.dataset.series, points: el.dataset.points,
  canvases: el.querySelectorAll('canvas').length,
  labels: [...el.querySelectorAll('.u-legend .u-series .u-label')].map(e => e.textContent)} : null)(
  document.getElementById('fd-chart'))"""


def test_the_sweep_page_ranks_its_jobs_and_overlays_their_curves(chromium, tmp_path):
    from ganctl.jobs import service
    from ganctl.jobs.config import Settings

    home = tmp_path / "home"
    store = service.open_store(Settings(home=home))
    sweep, ids, child = three_job_sweep(store)
    port, log = free_port(), tmp_path / "ui.log"
    ui = start_ui(ganctl_env(home), port, log)
    page = Page(chromium)
    try:
        page.goto(f"http://127.0.0.1:{port}/sweeps/{sweep}")
        rows = page.wait(f"(r => r.length ? r : null)({RANKING})", 30, "the ranking")
        assert [r[1] for r in rows] == [ids[2][:8], ids[0][:8], ids[1][:8]], rows
        assert [r[0] for r in rows] == ["1", "2", "3"] and [r[2] for r in rows] == ["0.00005", "0.0001", "0.0002"]
        assert rows[2][3] == "stopped" and rows[2][-1].startswith("rung 1 (epoch 2): FD 80.0"), rows
        assert [r[5] for r in rows] == ["20.0", "40.0", "80.0"]
        chart = page.wait(CHART, 30, "the FD chart")
        assert chart["series"] == "3" and chart["points"] == "2" and chart["canvases"] == 1, chart
        assert [label.split()[0] for label in chart["labels"][1:]] == [ids[2][:8], ids[0][:8], ids[1][:8]], chart
        assert page.js("document.getElementById('sweep-state').textContent") == "finished"
        if os.environ.get("GANCTL_TEST_SCREENSHOTS") == "1":  # as test_dashboard_browser.py
            page.screenshot(Path(__file__).parents[2] / "docs" / "dashboard-sweep.png")

        # tick two jobs in the jobs table and compare them: their rows and one curve each
        page.goto(f"http://127.0.0.1:{port}/?sweep={sweep}")
        page.wait(f"!!document.querySelector('input.pick[data-id=\"{ids[0]}\"]')", 30, "the jobs' boxes")
        for i in (ids[0], ids[2]):
            page.js(f"document.querySelector('input.pick[data-id=\"{i}\"]').click()")
        page.js("document.getElementById('compare-picked').click()")
        compared = page.wait("(r => r.length ? r : null)([...document.querySelectorAll('#compare tbody tr')]"
                             ".map(r => r.dataset.id))", 30, "the compare table")
        assert compared == [ids[0], ids[2]], compared
        chart = page.wait(CHART, 30, "the compare page's FD chart")
        assert chart["series"] == "2" and chart["canvases"] == 1, chart

        page.goto(f"http://127.0.0.1:{port}/jobs/{ids[2]}")
        sweep_link = page.wait("(a => a && a.getAttribute('href'))(document.querySelector("
                               "'#lineage tr[data-row=\"sweep\"] a'))", 30, "the lineage's sweep link")
        assert sweep_link == f"/sweeps/{sweep}"
        carried = page.js("document.querySelector('#lineage tr[data-row=\"carried on\"]').textContent")
        assert carried == f"carried onextend {child[:8]} from epoch 4 (queued)", carried

        page.goto(f"http://127.0.0.1:{port}/?tag=best")  # the jobs table's filters and tags column
        tagged = page.wait("(r => r.length ? r : null)([...document.querySelectorAll('#jobs tbody tr')]"
                           ".map(r => [r.dataset.id, r.children[10].textContent]))", 30, "the tagged job")
        assert tagged == [[child, "best, lr"]], tagged
        page.goto(f"http://127.0.0.1:{port}/?status=stopped&sweep={sweep[:8]}")
        state = page.wait("(r => r && r.children[2].textContent)(document.querySelector('#jobs tbody tr'))",
                          30, "the stopped job")
        assert state == "stopped: rung 1 (epoch 2): FD 80.0, cut at 65.0"
        assert page.js("document.querySelectorAll('#jobs tbody tr').length") == 1
    finally:
        ui.terminate()
        ui.wait(timeout=20)
