"""The dashboard's lineage, tag / sweep filters and sweep page in-process (Starlette's TestClient)
over a real SQLite store whose rows are made through the store API."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from sweep_rows import three_job_sweep

from ganctl.jobs import service
from ganctl.jobs.config import Settings
from ganctl.web.app import Config, create_app


@pytest.fixture
def env(tmp_path):
    store = service.open_store(Settings(home=tmp_path))
    sweep, ids, child = three_job_sweep(store)
    loner = store.create_job("train", {"arch": "upsample", "epochs": 1}, total_epochs=1)
    client = TestClient(create_app(Config(store=store, artifacts=tmp_path / "artifacts", token="t", every=0.05)))
    client.app_store = store
    return client, sweep, ids, child, loner.id


def test_jobs_filter_by_tag_and_sweep_and_show_tags_and_the_stop_reason(env):
    client, sweep, ids, child, loner = env
    every = client.get("/api/jobs").json()
    assert len(every) == 5 and {r["id"]: r["tags"] for r in every}[ids[0]] == []
    tagged = client.get("/api/jobs?tag=best").json()
    assert [r["id"] for r in tagged] == [child] and tagged[0]["tags"] == ["best", "lr"]
    assert client.get("/api/jobs?tag=nothing").json() == []
    rows = client.get(f"/api/jobs?sweep={sweep}").json()
    assert {r["id"] for r in rows} == set(ids)
    assert {r["id"] for r in client.get(f"/api/jobs?sweep={sweep[:8]}&status=completed").json()} == {ids[0], ids[2]}
    stopped = client.get("/api/jobs?status=stopped").json()
    assert [r["id"] for r in stopped] == [ids[1]] and stopped[0]["error"] == "rung 1 (epoch 2): FD 80.0, cut at 65.0"
    r = client.get("/api/jobs?sweep=00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404 and "no sweep" in r.json()["error"]
    page = client.get(f"/?tag=best&sweep={sweep[:8]}").text
    assert 'name="tag" value="best"' in page and f'name="sweep" value="{sweep[:8]}"' in page
    assert '<option value="stopped"' in page and "<th>tags</th>" in page


def test_a_job_shows_its_lineage_sweep_tags_and_best_epoch(env):
    client, sweep, ids, child, loner = env
    parent = client.get(f"/api/jobs/{ids[2]}").json()["lineage"]
    assert parent == {"parent": None, "carried_on": [{"id": child, "kind": "extend", "start_epoch": 4,
                                                      "status": "queued"}],
                      "sweep_id": sweep, "tags": [], "best_epoch": {"epoch": 4, "fd": 20.0}}
    mine = client.get(f"/api/jobs/{child}").json()["lineage"]
    assert mine["parent"] == {"id": ids[2], "kind": "extend", "start_epoch": 4}
    assert mine["tags"] == ["best", "lr"] and mine["carried_on"] == [] and mine["best_epoch"] is None
    assert client.get(f"/api/jobs/{loner}").json()["lineage"]["sweep_id"] is None
    assert 'id="lineage"' in client.get(f"/jobs/{child}").text


def test_the_sweep_api_ranks_its_jobs_with_their_curves(env):
    client, sweep, ids, child, loner = env
    d = client.get(f"/api/sweeps/{sweep}").json()
    assert d["state"] == "finished" and [r["job"] for r in d["jobs"]] == [ids[2], ids[0], ids[1]]
    assert [r["rank"] for r in d["jobs"]] == [1, 2, 3] and [r["best_fd"] for r in d["jobs"]] == [20.0, 40.0, 80.0]
    assert d["jobs"][2]["state"] == "stopped" and d["jobs"][2]["reason"].startswith("rung 1 (epoch 2)")
    fd = d["curves"]["fd"]
    assert [run["label"] for run in fd] == [f"{i[:8]} lr_g=" + str(lr) for i, lr in
                                            ((ids[2], 5e-5), (ids[0], 1e-4), (ids[1], 2e-4))]
    assert [run["points"] for run in fd] == [[[2, 30.0], [4, 20.0]], [[2, 50.0], [4, 40.0]], [[2, 80.0]]]
    assert [len(run["points"]) for run in d["curves"]["g_loss"]] == [4, 4, 2]
    page = client.get(f"/sweeps/{sweep}").text
    assert "<th>lr_g</th>" in page and 'id="fd-chart"' in page and f'href="/?sweep={sweep}"' in page
    for bad in (f"/api/sweeps/{sweep[:8]}", f"/sweeps/{sweep.upper()}", "/api/sweeps/00000000-0000-0000-0000-000000000000"):
        assert client.get(bad).status_code == 404, bad


def test_the_sweeps_list_and_cancelling_a_sweep_with_the_token(env):
    client, sweep, ids, child, loner = env
    store = client.app_store
    rows = client.get("/api/sweeps").json()
    assert [(r["id"], r["state"], r["states"], r["best"]) for r in rows] == [
        (sweep, "finished", [["completed", 2], ["stopped", 1]], {"job": ids[2], "fd": 20.0, "epoch": 4})]
    assert rows[0]["sets"] == {"lr_g": ["1e-4", "2e-4", "5e-5"]} and rows[0]["arch"] == "dcgan"
    assert 'id="sweeps"' in client.get("/sweeps").text and 'href="/sweeps"' in client.get("/").text
    running, jobs = store.create_sweep({"base": {"arch": "dcgan", "epochs": 2}, "sets": {"seed": ["1", "2"]}}, 0.5,
                                       [({"arch": "dcgan", "epochs": 2, "seed": s}, 2) for s in (1, 2)])
    store.claim(jobs[0].id, worker="w@h", gpu=None, lease_s=60)
    assert [r["id"] for r in client.get("/api/sweeps?limit=1").json()] == [running.id]
    url = f"/api/sweeps/{running.id}/cancel"
    assert client.post(url).status_code == 403 and store.get_job(jobs[1].id).status == "queued"
    assert client.post(url, headers={"X-Ganctl-Token": "t", "Origin": "http://evil.example"}).status_code == 403
    assert store.get_job(jobs[1].id).status == "queued" and not store.get_job(jobs[0].id).cancel_requested
    r = client.post(url, headers={"X-Ganctl-Token": "t"})
    assert r.status_code == 200 and [j["status"] for j in r.json()["jobs"]] == ["running", "cancelled"]
    assert r.json()["text"] == f"sweep {running.id[:8]}: 1 job cancelled, 1 stopping at its next batch"
    assert store.get_job(jobs[0].id).cancel_requested
    again = client.post(url, headers={"X-Ganctl-Token": "t"})  # one job still stopping: nothing new done
    assert again.status_code == 200 and again.json()["text"].endswith(": 0 jobs cancelled, 0 stopping at their next batch")
    assert client.get("/api/sweeps?limit=1").json()[0]["state"] == "cancelling"
    r = client.post(f"/api/sweeps/{sweep}/cancel", headers={"X-Ganctl-Token": "t"})
    assert r.status_code == 400 and r.json()["error"] == f"sweep {sweep[:8]} is finished: nothing to cancel"
    assert client.post("/api/sweeps/nope/cancel", headers={"X-Ganctl-Token": "t"}).status_code == 404


def test_the_sweep_event_stream_sends_the_ranking_on_connect(env):
    client, sweep, ids, child, loner = env
    with client.stream("GET", f"/events/sweeps/{sweep}") as r:
        data = next(line for line in r.iter_lines() if line.startswith("data:"))
    assert '"rank": 1' in data and ids[2] in data


def test_status_prints_the_same_lineage(env, tmp_path):
    from ganctl.jobs.experiments import lineage_rows

    client, sweep, ids, child, loner = env
    store = service.open_store(Settings(home=tmp_path))
    assert lineage_rows(store, store.get_job(ids[2])) == [("carried on", f"extend {child[:8]} from epoch 4 (queued)"),
                                                          ("best epoch", "4 (FD 20.00)")]
    assert lineage_rows(store, store.get_job(child)) == [
        ("lineage", f"extends {ids[2][:8]} at epoch 4 (epochs 5.. are this job's)"), ("tags", "best, lr")]
