"""TensorBoard event files written with TensorFlow alone (no `tensorboard` package needed)."""
from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from ganctl.jobs import pictures
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.tensorboard import EpochWriter, event_files, read_images, read_scalars
from ganctl.jobs.train import EpochReport

pytest.importorskip("tensorflow")


def _grid(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return pictures.grid_png(rng.integers(0, 256, (4, 8, 8, 1), dtype=np.uint8), scale=2)


JOB = "00000000-0000-4000-8000-000000000001"


def test_logdir_layout(tmp_path):
    assert JobFolder.of(tmp_path, JOB).tensorboard == tmp_path / JOB / "tensorboard"


def test_three_epochs_round_trip(tmp_path):
    logdir = JobFolder.of(tmp_path, JOB).tensorboard
    grids = {1: _grid(1), 3: _grid(3)}
    with EpochWriter(logdir) as w:
        for epoch in (1, 2, 3):
            png = grids.get(epoch)
            w.write(EpochReport(epoch, 3, 0.5 + epoch, 1.0 / epoch, 2.0 * epoch, 100.0 + epoch,
                                None, png))
        w.write_metrics(3, {"fid": 12.5, "note": "not a number"})
    assert event_files(logdir)

    scalars = read_scalars(logdir)
    assert scalars["d_loss"] == [(1, 1.5), (2, 2.5), (3, 3.5)]
    assert [s for s, _ in scalars["g_loss"]] == [1, 2, 3]
    assert all(math.isclose(v, 1.0 / s, rel_tol=1e-6) for s, v in scalars["g_loss"])
    assert [s for s, _ in scalars["images_per_s"]] == [1, 2, 3]
    assert scalars["seconds"] == [(1, 2.0), (2, 4.0), (3, 6.0)]
    assert scalars["quality/fid"] == [(3, 12.5)]
    assert "quality/note" not in scalars

    images = read_images(logdir)
    assert [s for s, _ in images["grid"]] == [1, 3]
    for step, png in images["grid"]:
        assert png == grids[step]
        with Image.open(io.BytesIO(png)) as im:
            assert im.size == Image.open(io.BytesIO(grids[step])).size


def test_closed_writer_refuses(tmp_path):
    w = EpochWriter(tmp_path / "tb")
    w.close()
    w.close()  # idempotent
    with pytest.raises(RuntimeError):
        w.write_metrics(1, {"fid": 1.0})
