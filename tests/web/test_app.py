"""The dashboard's routes in-process (Starlette's TestClient) over a real SQLite store: the token,
the Origin check, canonical job ids, artifacts confined to the job's folder, escaped user text."""
from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from ganctl.jobs import service
from ganctl.jobs.config import Settings
from ganctl.web.app import Config, create_app

TOKEN = "s3cret-token"
ID0 = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def env(tmp_path):
    store = service.open_store(Settings(home=tmp_path))
    root = tmp_path / "artifacts"
    job = store.create_job("train", {"arch": "dcgan", "epochs": 3, "note": "<script>alert(1)</script>"},
                           total_epochs=3)
    folder = root / job.id / "grids"
    folder.mkdir(parents=True)
    (folder / "epoch_0001.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "secret.txt").write_text("not yours")
    client = TestClient(create_app(Config(store=store, artifacts=root, token=TOKEN, every=0.05)))
    return client, store, job


def test_api_lists_and_shows_jobs(env):
    client, _, job = env
    rows = client.get("/api/jobs").json()
    assert [r["id"] for r in rows] == [job.id] and rows[0]["status"] == "queued" and rows[0]["epochs_done"] == 0
    assert client.get("/api/jobs?status=running").json() == []
    assert client.get("/api/jobs?arch=dcgan").json()[0]["id"] == job.id
    assert client.get("/api/jobs?status=bogus").status_code == 400
    d = client.get(f"/api/jobs/{job.id}").json()
    assert d["spec"]["arch"] == "dcgan" and d["epochs"] == [] and d["children"] == []
    assert client.get(f"/api/jobs/{ID0}").status_code == 404
    assert client.get(f"/api/jobs/{job.id[:8]}").status_code == 404  # prefixes are for the CLI only
    assert client.get(f"/api/jobs/{job.id.upper()}").status_code == 404  # not canonical


def test_a_bad_filter_is_said_on_the_jobs_page(env):
    client, _, _ = env
    for query, says in (("status=bogus", "unknown status &#39;bogus&#39;"), ("arch=nosuch", "unknown arch &#39;nosuch&#39;"),
                        ("limit=abc", "limit must be a whole number")):
        r = client.get(f"/?{query}")
        assert r.status_code == 400 and f'<p id="error">{says}' in r.text, (query, r.text[-400:])
        assert "Dashboard.jobsPage()" not in r.text  # no stream that could only fail
    assert "Dashboard.jobsPage()" in client.get("/?status=queued").text


def test_a_folder_artifact_shows_its_path_not_a_broken_link(env, tmp_path):
    client, store, job = env
    from ganctl.jobs.store.repo import ArtifactRow

    job = store.claim(job.id, worker="w@h", gpu=None, lease_s=60)
    base = tmp_path / "artifacts" / job.id / "export"  # the env's artifacts root
    store.record_artifacts(job.id, job.attempts, [ArtifactRow("h5-generator", f"{base}/generator.h5", 10, "a" * 64),
                                                  ArtifactRow("savedmodel-generator", f"{base}/generator_savedmodel",
                                                              20, "b" * 64)])
    urls = {a["format"]: a["url"] for a in client.get(f"/api/jobs/{job.id}").json()["artifacts"]}
    assert urls == {"h5-generator": f"/artifacts/{job.id}/export/generator.h5", "savedmodel-generator": None}


def test_the_job_page_shows_what_an_unset_option_trains_with(env):
    client, store, _ = env
    job = store.create_job("train", {"arch": "dcgan", "epochs": 2, "recipe": "ema-augment-batch32", "lr_g": None,
                                     "batch_size": None}, total_epochs=2)
    page = " ".join(client.get(f"/jobs/{job.id}").text.split())
    assert '<th>lr_g</th><td>0.0002 <span class="muted">(default)</span>' in page
    assert '<th>batch_size</th><td>32 <span class="muted">(default)</span>' in page  # the recipe's, not dcgan's 128


def test_user_text_is_escaped(env):
    client, _, job = env
    page = client.get(f"/jobs/{job.id}").text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_actions_need_the_token_and_the_same_origin(env):
    client, store, job = env
    url = f"/api/jobs/{job.id}/cancel"
    r = client.post(url)
    assert r.status_code == 403 and "needs the token" in r.json()["error"]
    assert client.post(url, headers={"X-Ganctl-Token": "wrong"}).status_code == 403
    evil = client.post(url, headers={"X-Ganctl-Token": TOKEN, "Origin": "http://evil.example"})
    assert evil.status_code == 403 and "cross-origin" in evil.json()["error"]
    assert store.get_job(job.id).status == "queued"
    ok = client.post(url, headers={"X-Ganctl-Token": TOKEN, "Origin": "http://testserver"})
    assert ok.status_code == 200 and ok.json()["status"] == "cancelled"
    # a sample of a job that did not complete: the service's one-line refusal
    r = client.post(f"/api/jobs/{job.id}/sample", headers={"X-Ganctl-Token": TOKEN}, json={"n": 4})
    assert r.status_code == 400 and "completed train job" in r.json()["error"]


def test_artifacts_only_from_under_the_job_folder(env):
    client, _, job = env
    r = client.get(f"/artifacts/{job.id}/grids/epoch_0001.png")
    assert r.status_code == 200 and r.content == b"\x89PNG fake"
    for path in (f"/artifacts/{job.id}/../../secret.txt", f"/artifacts/{job.id}/%2e%2e/%2e%2e/secret.txt",
                 f"/artifacts/{job.id}/grids/../../../secret.txt", f"/artifacts/{ID0}/grids/epoch_0001.png",
                 "/artifacts/not-a-uuid/x", f"/artifacts/{job.id}/grids"):
        assert client.get(path).status_code == 404, path


def test_event_stream_sends_the_state_on_connect(env):
    client, store, job = env
    with client.stream("GET", f"/events/jobs/{job.id}") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = []
        for line in r.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert "event: state" in lines and f'"id": "{job.id}"' in lines[-1]
