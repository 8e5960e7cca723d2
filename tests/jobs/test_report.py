"""The self-contained HTML report (plain data in, one page out)."""
from __future__ import annotations

import base64
import hashlib
import html as htmllib
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import numpy as np
import pytest

from ganctl.jobs import pictures
from ganctl.jobs.report import human_bytes, render_html, write_report
from ganctl.jobs.store.repo import ArtifactRow, EpochRow, GridRow, Job

EVIL = "<script>alert(1)</script>"


def make_job(**over) -> Job:
    t0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    fields = dict(
        id="0123456789abcdef0123456789abcdef", kind="train",
        spec={"arch": "upsample", "epochs": 4, "seed": 7, "classes": [0, 3], "note": EVIL},
        status="failed", attempts=2, max_attempts=3, worker="w1@host", gpu="0", parent_id=None,
        created_at=t0, started_at=t0 + timedelta(seconds=5), finished_at=t0 + timedelta(seconds=125),
        heartbeat_at=None, error='boom <b>"bad"</b> & more', cancel_requested=False, total_epochs=4,
        result=None)
    fields.update(over)
    return Job(**fields)


def make_grid(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return pictures.grid_png(rng.integers(0, 256, (4, 6, 6, 1), dtype=np.uint8), scale=2)


def sample_data():
    """A job, 4 epochs (one with a NaN loss), grids at epochs 1, 2, 4 (given out of order),
    two artifacts, metrics, a final grid."""
    epochs = [EpochRow(1, 0.9, 1.8, 3.0, 200.0), EpochRow(2, 0.8, float("nan"), 2.9, 210.0),
              EpochRow(3, 0.7, 1.5, 2.8, 220.5), EpochRow(4, 0.65, 1.4, 2.7, 230.25)]
    grids = [GridRow(e, f"/a/grids/epoch_{e:04d}.png", make_grid(e)) for e in (4, 1, 2)]
    artifacts = [ArtifactRow("keras", f"/a/export/{EVIL}.keras", 1536, "ab" * 32),
                 ArtifactRow("savedmodel", "/a/export/gen", 3 * 1024 * 1024, "cd" * 32)]
    metrics = [{"epoch": 4, "fid": 42.125, "kid": 0.0125}]
    return make_job(), epochs, grids, artifacts, metrics, make_grid(99)


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> _Collector:
    c = _Collector()
    c.feed(page)
    c.close()
    return c


@pytest.fixture(scope="module")
def page() -> str:
    job, epochs, grids, artifacts, metrics, final = sample_data()
    return render_html(job, epochs, grids, artifacts, metrics=metrics, sample_grid_png=final)


def test_one_grid_per_epoch_in_order(page):
    job, _, grids, *_ = sample_data()
    imgs = [a for t, a in parse(page).tags if t == "img" and "epoch-grid" in a.get("class", "").split()]
    assert [a["data-epoch"] for a in imgs] == ["1", "2", "4"]
    by_epoch = {g.epoch: g.png for g in grids}
    for a in imgs:
        n = int(a["data-epoch"])
        assert a["alt"] == f"epoch {n} grid"
        assert a["src"].startswith("data:image/png;base64,")
        assert base64.b64decode(a["src"].split(",", 1)[1]) == by_epoch[n]
    assert page.count("<figcaption>epoch ") == 3


def _inline_scripts(page: str) -> list[str]:
    return re.findall(r"<script>(.*?)</script>", page, re.S)


def test_self_contained(page):
    # (uPlot's own text names URLs, its licence and the SVG namespace; the browser test shows
    # the page fetches nothing)
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "http://" not in markup and "https://" not in markup
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!data:)""", markup, re.I)
    assert "<link" not in page and "@import" not in page and "url(" not in markup
    assert "<script src" not in page and page.count("<script") == 3  # uPlot, charts.js, the calls
    # only those three may run: each by its own hash, no 'unsafe-inline' for scripts
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    script_src = [p for p in csp.split("; ") if p.startswith("script-src")][0]
    assert "unsafe-inline" not in script_src
    for text in _inline_scripts(page):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in script_src


def test_user_strings_escaped(page):
    assert EVIL not in page
    assert htmllib.escape(EVIL) in page
    assert "<b>" not in page
    assert "boom &lt;b&gt;" in page


def test_charts_drawn_by_the_dashboards_code(page):
    """The report inlines jobs/charts (the files `ganctl ui` serves) and calls it with the job's
    numbers; a NaN loss becomes a gap (null), never "NaN", which is no JSON."""
    from ganctl.jobs.charts import ASSETS

    scripts = _inline_scripts(page)
    assert scripts[:2] == [(ASSETS / "uplot" / "uPlot.iife.min.js").read_text(), (ASSETS / "charts.js").read_text()]
    calls = scripts[2]
    assert 'GanctlCharts.loss(document.getElementById("loss-chart")' in calls
    assert '"g_loss": null' in calls and "nan" not in calls.lower()
    assert 'GanctlCharts.quality(document.getElementById("quality-chart"), [{"epoch": 4' in calls
    assert '<div id="loss-chart"' in page and '<div id="quality-chart"' in page


def test_contents(page):
    text = " ".join(parse(page).text)
    ids = {a.get("id") for _, a in parse(page).tags}
    assert {"loss-chart", "epochs", "metrics", "grids", "sample-grid", "artifacts", "spec", "error"} <= ids
    assert "0123456789abcdef0123456789abcdef" in text and "upsample" in text
    assert "failed" in text and "2 of 3" in text and "w1@host" in text
    assert "2024-05-01 12:02:05+00:00" in text
    assert "2m 00s" in text
    assert "1.5 KiB" in text and "3.0 MiB" in text and "ab" * 32 in text
    assert "42.1250" in text and "230.2" in text
    assert "t-shirt,dress" in text and "[0, 3]" not in text  # classes by name


def _spec_cells(page: str) -> dict[str, str]:
    table = re.search(r'<table id="spec">(.*?)</table>', page, re.S).group(1)
    return {htmllib.unescape(k): htmllib.unescape(v)
            for k, v in re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", table)}


def test_spec_table_reads_as_the_user_typed_it():
    """What `ganctl submit --arch dcgan --classes trouser,bag --lr-g 1e-4` stores (every unset
    option as null, classes as indices) reads back as names, defaults and no null."""
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec.submitted(arch="dcgan", classes="trouser,bag", lr_g=1e-4).model_dump(mode="json")
    assert spec["classes"] == [1, 8] and spec["batch_size"] is None and spec["limit"] is None
    page = render_html(make_job(spec=spec), [], [], [])
    cells = _spec_cells(page)
    assert cells["classes"] == "trouser,bag"
    assert cells["batch_size"] == "default (32)"  # the default recipe's (dcgan's own: 128)
    assert cells["lr_g"] == "0.0001" and cells["lr_d"] == "default (0.0002)"
    assert "limit" not in cells  # unset and no default to show: left out
    assert "null" not in " ".join(cells.values()) and "[1, 8]" not in page
    everything = render_html(make_job(spec={**spec, "classes": []}), [], [], [])
    assert _spec_cells(everything)["classes"] == "all"


def test_minimal_job_and_write(tmp_path):
    job = make_job(status="queued", started_at=None, finished_at=None, error=None, spec={})
    out = render_html(job, [], [], [])
    assert "loss-chart" not in out and 'id="metrics"' not in out and 'id="sample-grid"' not in out
    path = write_report(tmp_path / "r" / "report.html", out)
    assert path.read_text(encoding="utf-8") == out


def test_single_and_all_nan_epochs():
    job = make_job()
    one = render_html(job, [EpochRow(1, 0.5, 0.5, 1.0, 1.0)], [], [])
    assert '[{"epoch": 1, "d_loss": 0.5, "g_loss": 0.5}]' in one and "quality-chart" not in one
    nan = float("nan")
    allnan = render_html(job, [EpochRow(1, nan, nan, nan, nan)], [], [])
    assert '[{"epoch": 1, "d_loss": null, "g_loss": null}]' in allnan


def test_human_bytes():
    assert human_bytes(0) == "0 B" and human_bytes(1023) == "1023 B"
    assert human_bytes(1024) == "1.0 KiB" and human_bytes(5 * 1024 ** 3) == "5.0 GiB"


def test_no_tensorflow_or_sqlalchemy_import():
    code = ("import sys, ganctl.jobs.report, ganctl.jobs.animation, ganctl.jobs.tensorboard; "
            "bad = [m for m in ('tensorflow', 'sqlalchemy', 'keras') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
