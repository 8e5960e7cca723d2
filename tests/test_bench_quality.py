"""bench.quality's saved folder: what a reader of docs/quality-*/ opens matches quality.json."""
import json

from bench.quality import Run, load_runs, save_runs

CONFIG = {"epochs": 1, "n": 10, "limit": 10, "classes": [], "precision": "auto"}


def test_a_relabelled_run_keeps_its_pictures_under_the_new_name_only(tmp_path):
    run = Run("dcgan", "ema-augment-batch32", 0, "bf16", [1], [1.0], [{"fd": 1.0}], [], {1: b"png-bytes"})
    save_runs(tmp_path, CONFIG, [run])
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["dcgan-ema-augment-batch32-0-1.png"]

    # the label named what it trained only later: rename it in quality.json, as done for the
    # conditional runs on 2026-12-07, and save again
    saved = json.loads((tmp_path / "quality.json").read_text())
    saved["runs"][0]["label"] = "ema-augment-batch32 class_loss=0"
    (tmp_path / "quality.json").write_text(json.dumps(saved))
    save_runs(tmp_path, CONFIG, load_runs(tmp_path, CONFIG))

    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == \
        ["dcgan-ema-augment-batch32_class_loss-0-0-1.png"]
    named = json.loads((tmp_path / "quality.json").read_text())["runs"][0]["grids"]
    assert named == {"1": "grids/dcgan-ema-augment-batch32_class_loss-0-0-1.png"}
    assert (tmp_path / named["1"]).read_bytes() == b"png-bytes"
