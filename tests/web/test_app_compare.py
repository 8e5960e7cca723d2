"""The dashboard's compare view in-process over a real SQLite store: /compare?ids=a,b (and its
JSON and stream) shows jobs/compare's table, one curve per job and the grids of the same epochs."""
from __future__ import annotations

from compare_jobs import two_finished_jobs
from starlette.testclient import TestClient

from ganctl.jobs import service
from ganctl.jobs.config import Settings
from ganctl.web.app import Config, create_app


def test_compare_view(tmp_path):
    store = service.open_store(Settings(home=tmp_path))
    a, b = two_finished_jobs(store)
    client = TestClient(create_app(Config(store=store, artifacts=tmp_path / "artifacts", token="t", every=0.05)))
    v = client.get(f"/api/compare?ids={a},{b}").json()
    assert [r["id"] for r in v["jobs"]] == [a, b] and v["differ"] == ["lr_g"]
    assert [len(v["curves"][k]) for k in ("fd", "g_loss", "d_loss")] == [2, 2, 2]
    assert v["curves"]["fd"][0]["points"] == [[2, 50.0], [3, 100.0 / 3]]
    assert v["curves"]["fd"][1]["label"] == f"{b[:8]} lr_g=5e-05"
    assert [g["epoch"] for g in v["grids"]] == [2, 3]  # the epochs both jobs have a grid of
    page = client.get(f"/compare?ids={a},{b}")
    assert page.status_code == 200 and f'Dashboard.comparePage(["{a}", "{b}"], ["lr_g"])' in page.text
    assert client.get(f"/compare?ids={a}").status_code == 400  # one job is no comparison
    assert client.get(f"/api/compare?ids={a},{b[:8]}").status_code == 404  # prefixes are for the CLI
    with client.stream("GET", f"/events/compare?ids={a},{b}") as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                assert a in line and '"curves"' in line
                break
