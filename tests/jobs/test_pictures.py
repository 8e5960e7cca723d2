"""jobs/pictures.py: grid geometry, modes, atomic writes, the loss chart. No TensorFlow needed."""
from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ganctl.jobs import pictures

NAN = float("nan")


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "PNG"
    return img


def grey_images(n, h=28, w=28, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 1), dtype=np.uint8)


def test_module_does_not_import_tensorflow():
    code = ("import sys; import ganctl.jobs.pictures; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules; "
            "assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n, expected", [(1, (1, 1)), (2, (1, 2)), (4, (2, 2)), (5, (2, 3)),
                                         (9, (3, 3)), (10, (3, 4)), (12, (3, 4)), (16, (4, 4)),
                                         (17, (4, 5))])
def test_grid_shape(n, expected):
    rows, cols = pictures.grid_shape(n)
    assert (rows, cols) == expected
    assert rows * cols >= n > (rows - 1) * cols


def test_grid_shape_rejects_zero():
    with pytest.raises(ValueError):
        pictures.grid_shape(0)


def test_twelve_images_make_four_columns_by_three_rows():
    imgs = np.zeros((12, 28, 28, 1), np.uint8)
    for i in range(12):
        imgs[i] = 10 * (i + 1)  # each image one flat shade
    img = decode(pictures.grid_png(imgs, scale=4, pad=2))
    assert img.mode == "L"
    assert img.size == (4 * (28 * 4 + 2) + 2, 3 * (28 * 4 + 2) + 2) == (458, 344)
    px = np.asarray(img)
    cell = 28 * 4 + 2
    for i in range(12):
        r, c = divmod(i, 4)
        y, x = 2 + r * cell, 2 + c * cell
        block = px[y:y + 112, x:x + 112]
        assert (block == 10 * (i + 1)).all(), i
    # padding is grey: the outer frame and a gutter between cells
    assert (px[0, :] == pictures.PAD_GREY).all() and (px[:, 0] == pictures.PAD_GREY).all()
    assert (px[:, 114:116] == pictures.PAD_GREY).all()


@pytest.mark.parametrize("n, scale, pad", [(1, 1, 0), (5, 2, 3), (12, 4, 2), (30, 3, 1)])
def test_grid_size_formula(n, scale, pad):
    h, w = 20, 28
    img = decode(pictures.grid_png(grey_images(n, h, w), scale=scale, pad=pad))
    rows, cols = pictures.grid_shape(n)
    assert img.size == (cols * (w * scale + pad) + pad, rows * (h * scale + pad) + pad)
    assert img.size == pictures.grid_size(n, h, w, scale=scale, pad=pad)


def test_nearest_neighbour_upscale_keeps_pixels():
    imgs = grey_images(1, 5, 7)
    px = np.asarray(decode(pictures.grid_png(imgs, scale=3, pad=0)))
    assert px.shape == (15, 21)
    assert (px[::3, ::3] == imgs[0, ..., 0]).all()
    assert (px[2::3, 2::3] == imgs[0, ..., 0]).all()


def test_three_dim_input_is_grayscale():
    img = decode(pictures.grid_png(grey_images(4)[..., 0], scale=1, pad=1))
    assert img.mode == "L" and img.size == (2 * 29 + 1, 2 * 29 + 1)


def test_colour_grid_is_rgb():
    imgs = np.zeros((3, 8, 8, 3), np.uint8)
    imgs[..., 0] = 255  # red
    img = decode(pictures.grid_png(imgs, scale=2, pad=2))
    assert img.mode == "RGB"
    px = np.asarray(img)
    assert tuple(px[2, 2]) == (255, 0, 0)
    assert tuple(px[0, 0]) == (128, 128, 128)
    # 3 images: 2x2 grid, last cell empty and grey
    assert tuple(px[-3, -3]) == (128, 128, 128)


@pytest.mark.parametrize("bad", [np.zeros((2, 8, 8, 2), np.uint8), np.zeros((2, 8, 8, 1), np.float32),
                                 np.zeros((0, 8, 8, 1), np.uint8), np.zeros((8, 8), np.uint8)])
def test_grid_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        pictures.grid_png(bad)


def test_grid_writes_atomically(tmp_path):
    target = tmp_path / "sub" / "grid.png"
    data = pictures.grid_png(grey_images(12), path=target)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["grid.png"]  # no temp file left


def test_grid_is_deterministic():
    imgs = grey_images(7)
    assert pictures.grid_png(imgs) == pictures.grid_png(imgs)


def test_save_images(tmp_path):
    imgs = grey_images(3, 6, 6)
    paths = pictures.save_images(imgs, tmp_path / "out")
    assert [p.name for p in paths] == ["sample_0000.png", "sample_0001.png", "sample_0002.png"]
    for p, original in zip(paths, imgs):
        img = Image.open(p)
        assert img.mode == "L" and img.size == (6, 6)
        assert (np.asarray(img) == original[..., 0]).all()
    bare = pictures.save_images(imgs[:1], tmp_path / "bare", prefix="", scale=2)
    assert bare[0].name == "0000.png" and Image.open(bare[0]).size == (12, 12)


def test_real_grid_takes_first_n():
    imgs = grey_images(40)
    assert pictures.real_grid(imgs) == pictures.grid_png(imgs[:12])
    assert decode(pictures.real_grid(imgs, n=12)).size == (458, 344)
    assert decode(pictures.real_grid(imgs[:5])).size == pictures.grid_size(5, 28, 28)


def test_loss_plot_basic(tmp_path):
    epochs = list(range(1, 21))
    d = [0.7 - 0.01 * e for e in epochs]
    g = [1.0 + 0.05 * e for e in epochs]
    data = pictures.loss_plot_png(epochs, d, g, path=tmp_path / "loss.png")
    img = decode(data)
    assert img.size == (640, 400) and img.mode == "RGB"
    assert (tmp_path / "loss.png").read_bytes() == data
    colours = {c for _, c in img.getcolors(640 * 400)}
    assert pictures.LINE_COLOURS["d_loss"] in colours
    assert pictures.LINE_COLOURS["g_loss"] in colours


def _colour_pixels(img, colour):
    return int((np.asarray(img) == np.array(colour, np.uint8)).all(axis=-1).sum())


def test_loss_plot_skips_nan_and_custom_size():
    data = pictures.loss_plot_png([1, 2, 3, 4], [0.5, NAN, 0.4, 0.3], [NAN, NAN, 1.0, float("inf")],
                                  size=(800, 300))
    img = decode(data)
    assert img.size == (800, 300)
    assert _colour_pixels(img, pictures.LINE_COLOURS["g_loss"]) > 0


def test_loss_plot_one_epoch_and_all_nan():
    one = decode(pictures.loss_plot_png([1], [0.69], [0.69]))
    assert one.size == (640, 400)
    assert _colour_pixels(one, pictures.LINE_COLOURS["d_loss"]) > 0
    empty = decode(pictures.loss_plot_png([1, 2], [NAN, NAN], [NAN, NAN]))
    assert empty.size == (640, 400)
    assert decode(pictures.loss_plot_png([], [], [])).size == (640, 400)


def test_loss_plot_more_points_draw_more_line():
    few = decode(pictures.loss_plot_png([1, 2], [0.5, 0.6], [1.0, 1.1]))
    many = decode(pictures.loss_plot_png(list(range(1, 11)), [0.5, 0.9] * 5, [1.0, 2.0] * 5))
    colour = pictures.LINE_COLOURS["d_loss"]
    assert _colour_pixels(many, colour) > _colour_pixels(few, colour)


def test_loss_plot_rejects_mismatched_lengths():
    with pytest.raises(ValueError):
        pictures.loss_plot_png([1, 2], [0.5], [1.0, 1.1])


def test_nice_ticks():
    assert pictures.nice_ticks(0.4, 2.2) == [0.5, 1.0, 1.5, 2.0]
    assert pictures.nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    ticks = pictures.nice_ticks(-3.3, 7.1)
    assert ticks[0] >= -3.3 and ticks[-1] <= 7.1 and len(ticks) >= 3
