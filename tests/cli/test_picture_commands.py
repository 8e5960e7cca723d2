"""The picture commands (`report`, `plot`, `grids`, `data show`, status's TensorBoard line) on a
realistic job written straight into the store: no worker, no TensorFlow."""
from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from cli_helpers import assert_one_line_error, subprocess_env

EPOCHS = 3
LOSSES = [(0.69, 0.71), (0.62, 0.93), (float("nan"), 1.05)]  # a NaN d_loss must not break pictures


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.size


@pytest.fixture
def job(home, store):
    """A completed 3-epoch dcgan job on trousers: epochs, grid PNGs (files and store), an artifact,
    quality figures in its result, and a completed sample job with a 'sample-grid' artifact."""
    from ganctl.jobs.config import get_settings
    from ganctl.jobs.pictures import grid_png
    from ganctl.jobs.spec import TrainSpec
    from ganctl.jobs.store.repo import ArtifactRow

    spec = TrainSpec.submitted(arch="dcgan", epochs=EPOCHS, classes=["trouser"])
    j = store.create_job("train", spec.model_dump(mode="json"), total_epochs=EPOCHS)
    claimed = store.claim(j.id, worker="test@host", gpu="cpu", lease_s=120)
    assert claimed is not None
    root = get_settings().resolved_artifacts_dir
    rng = np.random.default_rng(0)
    for epoch, (d, g) in enumerate(LOSSES, 1):
        assert store.record_epoch(j.id, claimed.attempts, epoch, d, g, 2.5, 2800.0)
        path = root / j.id / "grids" / f"epoch_{epoch:04d}.png"
        png = grid_png(rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8), path=path)
        store.record_grid(j.id, claimed.attempts, epoch, png, str(path))
    h5 = root / j.id / "export" / "generator.h5"
    h5.parent.mkdir(parents=True)
    h5.write_bytes(b"not really hdf5")
    store.record_artifacts(j.id, claimed.attempts, [ArtifactRow("h5-generator", str(h5), h5.stat().st_size,
                                              hashlib.sha256(h5.read_bytes()).hexdigest())])
    assert store.finish(j.id, claimed.attempts, "completed", result={
        "epochs_done": EPOCHS, "quality": {"fd": 12.5, "coverage": 0.8, "classes": [0, 12]}})

    s = store.create_job("sample", {"n": 12, "seed": 1, "format": "h5"}, parent_id=j.id)
    sc = store.claim(s.id, worker="test@host", gpu="cpu", lease_s=120)
    sample_png = grid_png(rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8), path=root / s.id / "grid.png")
    store.record_artifacts(s.id, sc.attempts, [ArtifactRow("sample-grid", str(root / s.id / "grid.png"), len(sample_png),
                                              hashlib.sha256(sample_png).hexdigest())])
    assert store.finish(s.id, sc.attempts, "completed", result={"grid": str(root / s.id / "grid.png")})
    return store.get_job(j.id)


def _artifacts(home):
    return home / "artifacts"


def test_report_is_one_self_contained_page(cli, home, job, tmp_path):
    r = cli("report", job.id[:8])
    assert r.exit_code == 0, r.stderr
    path = _artifacts(home) / job.id / "report.html"
    assert r.stdout.strip() == str(path)
    page = path.read_text()
    assert len(re.findall(r'<img class="epoch-grid"', page)) == EPOCHS
    assert re.findall(r'data-epoch="(\d+)"', page) == ["1", "2", "3"]
    assert 'id="sample-grid"' in page and 'id="loss-chart"' in page
    assert 'id="metrics"' in page and "coverage" in page
    assert not re.search(r'(src|href)="(?!data:)', page)  # nothing to fetch

    out = tmp_path / "r" / "page.html"
    r = cli("report", job.id, "--out", out, "--json")
    assert r.exit_code == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["path"] == str(out) and out.is_file() and d["grids"] == EPOCHS and d["sample_grid"]


def test_plot_writes_the_requested_size(cli, home, job, tmp_path):
    r = cli("plot", job.id)
    assert r.exit_code == 0, r.stderr
    path = _artifacts(home) / job.id / "losses.png"
    assert r.stdout.strip() == str(path)
    assert _png_size(path.read_bytes()) == (640, 400)
    out = tmp_path / "losses.png"
    r = cli("plot", job.id[:6], "--width", 500, "--height", 300, "--out", out)
    assert r.exit_code == 0, r.stderr
    assert _png_size(out.read_bytes()) == (500, 300)


def test_grids_list_and_gif(cli, home, job, tmp_path):
    from ganctl.jobs.animation import LABEL_HEIGHT
    from ganctl.jobs.pictures import grid_size

    r = cli("grids", job.id)
    assert r.exit_code == 0, r.stderr
    paths = r.stdout.split()
    assert [p.rsplit("/", 1)[1] for p in paths] == [f"epoch_{e:04d}.png" for e in (1, 2, 3)]
    r = cli("grids", job.id, "--json")
    assert [g["epoch"] for g in json.loads(r.stdout)] == [1, 2, 3]

    r = cli("grids", job.id, "--gif")
    assert r.exit_code == 0, r.stderr
    path = _artifacts(home) / job.id / "grids.gif"
    assert r.stdout.strip() == str(path)
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == EPOCHS
        w, h = grid_size(12, 28, 28)
        assert gif.size == (w, h + LABEL_HEIGHT) and gif.info["duration"] == 400
    out = tmp_path / "anim.gif"
    r = cli("grids", job.id, "--gif", "--out", out, "--frame-ms", 100, "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["frames"] == EPOCHS and out.is_file()
    with Image.open(out) as gif:
        assert gif.info["duration"] == 100
    assert_one_line_error(cli("grids", job.id, "--frame-ms", 100), "--frame-ms goes with --gif")


def test_data_show_draws_real_trousers(cli, home, tmp_path):
    from ganctl.jobs import data

    try:
        data.find_data_dir()
    except data.DataError:
        pytest.skip("Fashion-MNIST is not installed")
    out = tmp_path / "real.png"
    r = cli("data", "show", "--classes", "trouser", "--split", "train", "--n", 12, "--out", out)
    assert r.exit_code == 0, r.stderr
    assert "(6000, 28, 28, 1)" in r.stdout and r.stdout.strip().splitlines()[-1] == str(out)
    with Image.open(out) as im:
        assert im.size == (458, 344) and im.mode == "L"  # 4x3 cells of 28*4 px, 2 px padding
        pixels = np.asarray(im)
    trousers = data.select("train", [1]).images[:12, :, :, 0]
    for i, real in enumerate(trousers):  # each cell is that real trouser, upscaled 4x
        row, col = divmod(i, 4)
        y, x = 2 + row * 114, 2 + col * 114
        assert np.array_equal(pixels[y:y + 112:4, x:x + 112:4], real)
    r = cli("data", "show", "--classes", "trouser")
    assert r.exit_code == 0 and (home / "data" / "real_train_trouser_12.png").is_file()
    r = cli("data", "show", "--classes", "trouser", "--split", "test", "--n", 1001)
    assert r.exit_code == 0 and "showing all 1000 images (--n 1001 asked for more)" in r.stdout


def _executable(folder, name):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("#!/bin/sh\n")
    (folder / name).chmod(0o755)
    return folder / name


def test_status_shows_tensorboard_only_when_the_folder_exists(cli, home, job, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_executable(tmp_path / "bin", "tensorboard").parent))
    r = cli("status", job.id)
    assert r.exit_code == 0 and not any(ln.startswith("tensorboard") for ln in r.stdout.splitlines())
    logdir = _artifacts(home) / job.id / "tensorboard"
    logdir.mkdir()
    r = cli("status", job.id)
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("tensorboard"))
    assert line == f"tensorboard  {logdir}  (tensorboard --logdir {_artifacts(home)})"
    assert json.loads(cli("status", job.id, "--json").stdout)["tensorboard"] == str(logdir)


def test_status_says_how_to_get_tensorboard(cli, home, job, tmp_path, monkeypatch):
    """TF 2.21 no longer brings TensorBoard: without it, status says how to install it; with it
    beside ganctl's Python but not on PATH (.venv/bin/ganctl), status names that script."""
    (_artifacts(home) / job.id / "tensorboard").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    venv_bin = tmp_path / "venv" / "bin"
    monkeypatch.setattr(sys, "executable", str(_executable(venv_bin, "python")))

    def line():
        r = cli("status", job.id)
        assert r.exit_code == 0
        return next(ln for ln in r.stdout.splitlines() if ln.startswith("tensorboard"))

    assert line().endswith(f"(TensorBoard is not installed: scripts/install tensorboard (or pip install "
                           f"tensorboard), then tensorboard --logdir {_artifacts(home)})")
    script = _executable(venv_bin, "tensorboard")
    assert line().endswith(f"({script} --logdir {_artifacts(home)})")


def test_watch_json_streams_one_line_per_epoch(cli, job):
    r = cli("watch", job.id, "--json")
    events = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [1, 2, 3]
    assert events[-1]["event"] == "end" and r.exit_code == 0


@pytest.mark.parametrize("args", [["report"], ["plot"], ["grids"], ["grids", "--gif"]])
def test_bad_ids_and_jobs_without_epochs_are_one_line_errors(cli, store, job, args):
    assert_one_line_error(cli(*args, "ffff0000"), "no job")
    queued = store.create_job("train", dict(job.spec), total_epochs=3)
    assert_one_line_error(cli(*args, queued.id), "no epochs")
    sample = store.children(job.id)[0]
    assert_one_line_error(cli(*args, sample.id), "sample job", job.id[:8])


def test_other_errors(cli, job, tmp_path):
    assert_one_line_error(cli("grids", job.id, "--out", tmp_path / "x.gif"), "--gif")
    assert_one_line_error(cli("plot", job.id, "--width", 10), "--width")
    jpg = tmp_path / "p.jpg"  # PNG bytes under another format's name would mislead a viewer
    assert_one_line_error(cli("plot", job.id, "--out", jpg), f"--out {jpg}: this writes PNG; give a name ending in .png")
    assert_one_line_error(cli("grids", job.id, "--gif", "--out", tmp_path / "a.png"), "this writes GIF")
    assert_one_line_error(cli("report", job.id, "--out", tmp_path / "r.txt"), "this writes HTML")
    assert not jpg.exists()
    assert_one_line_error(cli("data", "show", "--classes", "nope"), "unknown class")
    assert_one_line_error(cli("data", "show", "--split", "nope"), "unknown split")


def test_picture_commands_leave_tensorflow_unloaded(home, job, tmp_path):
    code = textwrap.dedent(
        f"""
        import json, sys
        from typer.testing import CliRunner
        from ganctl.cli.main import app
        r = CliRunner()
        for args in (["report", "{job.id}"], ["plot", "{job.id}"], ["grids", "{job.id}", "--gif"],
                     ["grids", "{job.id}"], ["status", "{job.id}"], ["data", "show", "--classes", "trouser",
                     "--out", "{tmp_path / 'real.png'}"], ["report", "ffff0000"]):
            out = r.invoke(app, args)
            assert out.exit_code in (0, 2), (args, out.output)
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], env=subprocess_env(home), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
