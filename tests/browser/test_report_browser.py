"""The HTML report in a real headless Chromium: it loads with no console error and no network
request, shows one picture per recorded epoch and the loss chart (drawn by the dashboard's chart
code, inlined); a screenshot is taken."""
from __future__ import annotations

import base64
import io
import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from PIL import Image

from ganctl.jobs import pictures
from ganctl.jobs.report import render_html, write_report
from ganctl.jobs.store.repo import ArtifactRow, EpochRow, GridRow, Job

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

GRID_EPOCHS = (1, 2, 3, 5)


def _report_html() -> str:
    t0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    job = Job(id="fedcba98-7654-3210-fedc-ba9876543210", kind="train",
              spec={"arch": "dcgan", "epochs": 5, "note": "<script>console.error('pwned')</script>",
                    "img": '<img src="https://example.com/x.png">'},
              status="completed", attempts=1, max_attempts=3, worker="w@h", gpu="0", parent_id=None,
              created_at=t0, started_at=t0 + timedelta(seconds=2), finished_at=t0 + timedelta(seconds=95),
              heartbeat_at=None, error=None, cancel_requested=False, total_epochs=5, result={"ok": True})
    rng = np.random.default_rng(0)
    epochs = [EpochRow(e, 1.0 / e, 2.0 - 0.1 * e, 3.0, 100.0 * e) for e in range(1, 6)]
    grids = [GridRow(e, f"grids/epoch_{e:04d}.png",
                     pictures.grid_png(rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)))
             for e in GRID_EPOCHS]
    artifacts = [ArtifactRow("keras", "export/generator.keras", 123456, "0" * 64)]
    final = pictures.grid_png(rng.integers(0, 256, (16, 28, 28, 1), dtype=np.uint8))
    return render_html(job, epochs, grids, artifacts, metrics=[{"epoch": 5, "fid": 80.5}],
                       sample_grid_png=final)


PROBE = """
(() => {
  const box = (el) => {
    if (!el) return null;
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return {w: r.width, h: r.height, display: s.display, visibility: s.visibility,
            opacity: s.opacity};
  };
  const imgs = [...document.querySelectorAll('img.epoch-grid')].map((img) => ({
    epoch: img.dataset.epoch, alt: img.alt, complete: img.complete,
    naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, box: box(img)}));
  return JSON.stringify({
    title: document.title, imgs, chart: box(document.getElementById('loss-chart')),
    canvases: document.querySelectorAll('#loss-chart canvas').length,
    points: (document.getElementById('loss-chart') || {dataset: {}}).dataset.points,
    legend: [...document.querySelectorAll('#loss-chart .u-legend .u-label')].map((e) => e.textContent),
    sample: box(document.getElementById('sample-grid')),
    scripts: document.scripts.length,
    resources: performance.getEntriesByType('resource').map((e) => e.name),
  });
})()
"""


def _visible(box) -> bool:
    return (box is not None and box["w"] > 0 and box["h"] > 0 and box["display"] != "none"
            and box["visibility"] == "visible" and float(box["opacity"]) > 0)


def test_report_in_headless_chromium(chromium, tmp_path):
    page = write_report(tmp_path / "report.html", _report_html())
    url = page.resolve().as_uri()

    target = chromium.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = chromium.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        chromium.send(f"{domain}.enable", session=session)
    mark = len(chromium.events)
    chromium.send("Page.navigate", {"url": url}, session=session)
    chromium.wait_event("Page.loadEventFired", session=session, start=mark, timeout=60)

    result = chromium.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True,
                                                "awaitPromise": True}, session=session)
    assert "exceptionDetails" not in result, result
    info = json.loads(result["result"]["value"])

    # one visible, decoded picture per recorded epoch, in epoch order
    assert [i["epoch"] for i in info["imgs"]] == [str(e) for e in GRID_EPOCHS], info["imgs"]
    for img in info["imgs"]:
        assert img["complete"] and img["naturalWidth"] > 0 and img["naturalHeight"] > 0, img
        assert _visible(img["box"]), img
        assert img["alt"] == f"epoch {img['epoch']} grid"
    assert _visible(info["chart"]), info["chart"]
    assert info["chart"]["w"] > 100 and info["chart"]["h"] > 100
    # drawn by the dashboard's chart code (uPlot), inlined: one point per epoch, both losses
    assert info["canvases"] == 1 and info["points"] == "5", info
    assert {"d_loss", "g_loss"} <= set(info["legend"]), info["legend"]
    assert _visible(info["sample"]), info["sample"]
    assert info["scripts"] == 3  # uPlot, charts.js and the calls; the spec's <script> stayed text
    assert "fedcba98" in info["title"] and "dcgan" in info["title"]

    # screenshot: decodes, has the viewport's size, is not blank
    shot = chromium.send("Page.captureScreenshot", {"format": "png"}, session=session)
    png = base64.b64decode(shot["data"])
    (tmp_path / "report.png").write_bytes(png)
    with Image.open(io.BytesIO(png)) as im:
        im.load()
        assert im.width >= 800 and im.height >= 600
        pixels = np.asarray(im.convert("L"), dtype=np.float32)
    assert pixels.std() > 5, "screenshot is blank"
    assert (pixels < 128).mean() > 0.001  # some dark ink (text, axes, pictures)

    # no console errors, no exceptions, no network other than the page itself (and data: URIs)
    errors = [p for p in chromium.events_of("Runtime.consoleAPICalled", session=session)
              if p.get("type") in ("error", "assert")]
    errors += chromium.events_of("Runtime.exceptionThrown", session=session)
    errors += [p for p in chromium.events_of("Log.entryAdded", session=session)
               if p.get("entry", {}).get("level") == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]

    requests = [p["request"]["url"] for p in chromium.events_of("Network.requestWillBeSent", session=session)]
    assert url in requests, requests
    outside = [u for u in requests if u != url and not u.startswith("data:")]
    assert not outside, outside
    assert all(r.startswith("data:") for r in info["resources"]), info["resources"]
    failed = chromium.events_of("Network.loadingFailed", session=session)
    assert not failed, failed
