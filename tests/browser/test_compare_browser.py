"""`ganctl compare --html`'s page in a real headless Chromium: the three overlaid charts are drawn
(one line per job, by the dashboard's chart code inlined), the grids load, and nothing is fetched
or fails."""
from __future__ import annotations

import json

import pytest
from compare_jobs import two_finished_jobs
from dashboard_page import Page

from ganctl.jobs import service
from ganctl.jobs.compare import compare
from ganctl.jobs.compare_page import render
from ganctl.jobs.config import Settings

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PROBE = """JSON.stringify({
  charts: ["g_loss", "d_loss", "fd"].map((k) => {
    const el = document.getElementById(k + "-chart");
    return {series: el.dataset.series, points: el.dataset.points, canvases: el.querySelectorAll("canvas").length,
            labels: [...el.querySelectorAll(".u-legend .u-label")].map((e) => e.textContent)};
  }),
  grids: [...document.querySelectorAll("img.epoch-grid")].map((i) => i.complete && i.naturalWidth > 0),
})"""


def test_compare_page_in_headless_chromium(chromium, tmp_path):
    store = service.open_store(Settings(home=tmp_path / "home"))
    a, b = two_finished_jobs(store)
    html = tmp_path / "compare.html"
    html.write_text(render(store, compare(store, [a, b])))
    url = html.resolve().as_uri()

    page = Page(chromium, ("Page", "Runtime", "Log", "Network"))
    page.goto(url)
    info, session = json.loads(page.js(PROBE)), page.s

    for chart, points in zip(info["charts"], ("3", "3", "2")):  # FD only at the evaluated epochs 2, 3
        assert chart["series"] == "2" and chart["points"] == points and chart["canvases"] == 1, chart
        assert any(label.startswith(a[:8]) for label in chart["labels"]), chart
        assert any(label.startswith(b[:8]) for label in chart["labels"]), chart
    assert info["grids"] == [True] * 4
    errors = [p for p in chromium.events_of("Runtime.consoleAPICalled", session=session) if p.get("type") == "error"]
    errors += chromium.events_of("Runtime.exceptionThrown", session=session)
    errors += [p for p in chromium.events_of("Log.entryAdded", session=session)
               if p.get("entry", {}).get("level") == "error"]  # a CSP refusal would show here
    assert not errors, json.dumps(errors)[:3000]
    requests = [p["request"]["url"] for p in chromium.events_of("Network.requestWillBeSent", session=session)]
    assert [u for u in requests if u != url and not u.startswith("data:")] == []
