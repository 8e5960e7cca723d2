"""The dashboard's sweeps list and sweep page in a real headless Chromium against a real `ganctl ui`:
a running sweep cancelled from its page with the token; the ranked
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
    running, queued = store.create_sweep({"base": {"arch": "dcgan", "epochs": 2}, "sets": {"seed": ["1", "2"]}}, 0.5,
                                         [({"arch": "dcgan", "epochs": 2, "seed": s}, 2) for s in (1, 2)])
    port, log = free_port(), tmp_path / "ui.log"
    ui = start_ui(ganctl_env(home, GANCTL_UI_TOKEN="sweep-token-0123"), port, log)
    page = Page(chromium)
    try:
        # the sweeps list, newest first; a running sweep cancelled from its page with the token
        page.goto(f"http://127.0.0.1:{port}/sweeps?token=sweep-token-0123")
        listed = page.wait("(r => r.length ? r : null)([...document.querySelectorAll('#sweeps tbody tr')]"
                           ".map(r => [...r.children].map(c => c.textContent)))", 30, "the sweeps list")
        assert [r[0] for r in listed] == [running.id[:8], sweep[:8]], listed
        assert listed[0][2:] == ["running", "dcgan", "2", "seed=1,2", "2: 2 queued", "-"], listed
        assert listed[1][2:] == ["finished", "dcgan", "4", "lr_g=1e-4,2e-4,5e-5", "3: 2 completed, 1 stopped",
                                 f"20.0 ({ids[2][:8]}, epoch 4)"], listed
        if os.environ.get("GANCTL_TEST_SCREENSHOTS") == "1":
            page.screenshot(Path(__file__).parents[2] / "docs" / "dashboard-sweeps.png")
        href = page.js(f"document.querySelector('#sweeps tr[data-id=\"{running.id}\"] a').getAttribute('href')")
        assert href == f"/sweeps/{running.id}"
        page.goto(f"http://127.0.0.1:{port}{href}")
        page.wait("!document.getElementById('cancel').disabled", 30, "the sweep's cancel button")
        page.js("document.getElementById('cancel').click()")
        said = page.wait("(t => t.includes('cancelled') ? t : null)(document.getElementById('action-result').textContent)",
                         30, "the cancel's result")
        assert said == f"sweep {running.id[:8]}: 2 jobs cancelled, 0 stopping at their next batch", said
        page.wait("document.getElementById('sweep-state').textContent === 'cancelled'", 30, "the cancelled state")
        assert page.js("document.getElementById('cancel').disabled") is True
        assert [store.get_job(j.id).status for j in queued] == ["cancelled", "cancelled"]

        page.goto(f"http://127.0.0.1:{port}/sweeps/{sweep}")
        rows = page.wait(f"(r => r.length ? r : null)({RANKING})", 30, "the ranking")
        assert [r[1] for r in rows] == [ids[2][:8], ids[0][:8], ids[1][:8]], rows
        assert [r[0] for r in rows] == ["1", "2", "3"] and [r[2] for r in rows] == ["5e-05", "0.0001", "0.0002"]
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
        # its extension is in the lineage, not among its samples and evals; when it ran is said
        assert page.js("document.getElementById('children').textContent") == "none yet (sample or eval above)"
        assert page.js("document.getElementById('started-at').textContent").startswith("20")
        assert page.js("document.getElementById('finished-at').textContent").startswith("20")

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
