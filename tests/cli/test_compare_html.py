"""`ganctl compare A B --html FILE`: the comparison as a self-contained page (table, overlaid
curves drawn by the dashboard's chart code, grids of the same epochs side by side)."""
from __future__ import annotations

import re

from compare_jobs import two_finished_jobs


def test_compare_html_page(cli, store, tmp_path):
    a, b = two_finished_jobs(store)
    out = tmp_path / "pages" / "compare.html"
    res = cli("compare", a[:8], b[:8], "--html", out)
    assert res.exit_code == 0, res.stderr
    assert f"page    {out}" in res.stdout and "lr_g" in res.stdout  # the table still prints
    page = out.read_text()
    rows = re.findall(r'<tr data-job="([0-9a-f-]+)">(.*?)</tr>', page)
    assert [r[0] for r in rows] == [a, b]
    assert "0.0002" in rows[0][1] and "5e-05" in rows[1][1] and "(epoch 3)" in rows[0][1]
    for chart in ("g_loss", "d_loss", "fd"):
        assert f'GanctlCharts.overlay(document.getElementById("{chart}-chart")' in page
    # grids: only epochs both jobs have (2 and 3), each with one picture per job
    assert re.findall(r'<div class="grids" data-epoch="(\d+)">', page) == ["2", "3"]
    assert page.count('class="epoch-grid"') == 4
    assert "<b>x</b>" not in page  # user text stays text (and note is not an option that differs)


def test_compare_html_refuses_another_format(cli, store, tmp_path):
    a, b = two_finished_jobs(store)
    out = tmp_path / "c.pdf"
    res = cli("compare", a[:8], b[:8], "--html", out)
    assert res.exit_code == 2 and res.stderr.strip() == f"error: --html {out}: this writes HTML; give a name ending in .html"
    assert not out.exists()


def test_compare_html_refuses_one_job(cli, store, tmp_path):
    a, _ = two_finished_jobs(store)
    res = cli("compare", a[:8], "--html", tmp_path / "c.html")
    assert res.exit_code == 2 and "at least two jobs" in res.stderr
    assert not (tmp_path / "c.html").exists()
