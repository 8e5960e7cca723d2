"""The dashboard's extend and fork actions in-process over a real SQLite store and the embedded
broker: with the token, a finished job with a checkpoint gets a linked queued job whose spec and
lineage are what `ganctl extend` / `ganctl fork` would give; refusals are one line, nothing queued."""
from __future__ import annotations

import pytest
from finished_jobs import finished_job
from starlette.testclient import TestClient

from ganctl.jobs import service
from ganctl.jobs.config import get_settings
from ganctl.web.app import Config, create_app

TOKEN = "s3cret-token"
HEADERS = {"X-Ganctl-Token": TOKEN, "Origin": "http://testserver"}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("GANCTL_HOME", str(tmp_path))
    get_settings.cache_clear()
    store = service.open_store()
    job = finished_job(store, {"arch": "dcgan", "epochs": 2, "classes": [1]})
    client = TestClient(create_app(Config(store=store, artifacts=get_settings().resolved_artifacts_dir,
                                          token=TOKEN, every=0.05)))
    yield client, store, job
    get_settings.cache_clear()


def test_extend_and_fork_from_the_page(env):
    client, store, job = env
    assert client.post(f"/api/jobs/{job.id}/extend", json={"epochs": 3}).status_code == 403  # no token
    r = client.post(f"/api/jobs/{job.id}/extend", headers=HEADERS, json={"epochs": 3})
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["status"] == "queued" and ext["spec"]["epochs"] == 5 and ext["parent_id"] == job.id
    assert (store.link_of(ext["id"]).kind, store.link_of(ext["id"]).start_epoch) == ("extend", 2)

    r = client.post(f"/api/jobs/{job.id}/fork", headers=HEADERS, json={"epoch": 1, "lr_g": 1e-4})
    assert r.status_code == 201, r.text
    fork = r.json()
    assert fork["spec"]["lr_g"] == 1e-4 and fork["spec"]["epochs"] == 2
    assert (store.link_of(fork["id"]).kind, store.link_of(fork["id"]).start_epoch) == ("fork", 1)
    shown = client.get(f"/api/jobs/{fork['id']}").json()
    assert shown["lineage"]["parent"]["id"] == job.id


def test_refusals_are_one_line_and_queue_nothing(env):
    client, store, job = env
    count = len(store.list_jobs(limit=0))
    for what, body, says in (("fork", {"arch": "upsample"}, "--arch"), ("fork", {"epoch": 7}, "epoch 7"),
                             ("fork", {"class_dims": 10}, "--class-dims"),  # the checkpoint's G fixes it
                             ("extend", {"epochs": 0}, "at least 1"), ("extend", {"epochs": "x"}, ""),
                             ("extend", {"epochs": None}, "epochs: give a whole number, not None"),
                             ("sample", {"n": None}, "n: give a whole number"), ("sample", {"n": [1]}, "n: give"),
                             ("sample", {"n": "abc"}, "n: give a whole number, not 'abc'"),
                             ("fork", {"epoch": 1, "lr_g": "abc"}, "lr_g: Input should be a valid number"),
                             ("fork", {"epoch": "best"}, "has no evaluated epoch"),
                             ("fork", {"epochs": 2.5}, "epochs: give a whole number, not 2.5")):
        r = client.post(f"/api/jobs/{job.id}/{what}", headers=HEADERS, json=body)
        assert r.status_code == 400 and says in r.json()["error"], (what, body, r.text)
        assert "\n" not in r.json()["error"]
    assert len(store.list_jobs(limit=0)) == count


@pytest.mark.parametrize("parent_recipe, fork_recipe, batch", [
    ("ema-augment-batch32", "ema-augment-dcgan-adam", 32), ("ema-augment-dcgan-adam", "ema-augment-batch32", 128)])
def test_a_fork_to_another_recipe_keeps_the_parents_batch(env, parent_recipe, fork_recipe, batch):
    """A recipe may set the batch; forking to another recipe changes what the fork names, not the
    batch the checkpoint was trained with (the job's own --batch-size would be kept anyway)."""
    client, store, _ = env
    parent = finished_job(store, {"arch": "dcgan", "epochs": 2, "classes": [1], "recipe": parent_recipe})
    r = client.post(f"/api/jobs/{parent.id}/fork", headers=HEADERS, json={"epoch": 1, "recipe": fork_recipe})
    assert r.status_code == 201, r.text
    assert r.json()["spec"]["recipe"] == fork_recipe and r.json()["spec"]["batch_size"] == batch
