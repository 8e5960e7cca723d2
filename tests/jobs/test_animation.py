"""The per-epoch grid GIF."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from ganctl.jobs import pictures
from ganctl.jobs.animation import LABEL_HEIGHT, grids_gif


def _grids(n: int, channels: int = 1) -> list[bytes]:
    rng = np.random.default_rng(0)
    return [pictures.grid_png(rng.integers(0, 256, (6, 7, 7, channels), dtype=np.uint8), scale=2)
            for _ in range(n)]


@pytest.mark.parametrize("channels", [1, 3])
def test_gif_frames_and_size(tmp_path, channels):
    pngs = _grids(5, channels)
    size = Image.open(io.BytesIO(pngs[0])).size
    path = tmp_path / "out" / "epochs.gif"
    data = grids_gif(pngs, path=path, duration_ms=250)
    assert path.read_bytes() == data
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "GIF"
        assert im.n_frames == 5
        assert im.is_animated
        assert im.size == size
        assert im.info.get("loop") == 0
        assert im.info.get("duration") == 250
        frames = [np.asarray(f.convert("L")) for f in ImageSequence.Iterator(im)]
    # frames are the grids themselves (grayscale grids survive the palette exactly)
    if channels == 1:
        first = np.asarray(Image.open(io.BytesIO(pngs[0])).convert("L"))
        assert np.array_equal(frames[0], first)
    assert not np.array_equal(frames[0], frames[1])


def test_labels_add_a_strip():
    pngs = _grids(3)
    w, h = Image.open(io.BytesIO(pngs[0])).size
    data = grids_gif(pngs, labels=[f"epoch {n}" for n in (1, 2, 3)])
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == 3
        assert im.size == (w, h + LABEL_HEIGHT)
        strip = np.asarray(im.convert("L"))[h:]
        assert strip.min() < 128  # some dark text in the white strip


def test_bad_input():
    with pytest.raises(ValueError):
        grids_gif([])
    with pytest.raises(ValueError):
        grids_gif(_grids(2), labels=["epoch 1"])
