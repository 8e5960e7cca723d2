"""PNG pictures of a run: sample grids, single samples, line charts (the loss chart). Pillow + numpy only.

TensorFlow is never imported here (the CLI renders pictures too). Every writer returns the PNG
bytes and, when given a path, writes them atomically (ganctl.jobs.layout.write_atomic: a unique
temporary file in the same folder, fsync, os.replace), so a reader never sees a half-written picture.

Grid geometry is deterministic. For n images of h x w pixels, `grid_shape(n)` gives (rows, cols)
and the grid PNG measures

    width  = cols * (w * scale + pad) + pad
    height = rows * (h * scale + pad) + pad

with image i at row i // cols, column i % cols, its top-left corner at
(pad + col * (w * scale + pad), pad + row * (h * scale + pad)). Empty cells and the padding are grey.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ganctl.jobs.layout import fsync_dir, write_atomic  # write_atomic: also the picture modules' writer

PAD_GREY = 128
BACKGROUND = (255, 255, 255)
AXIS = (40, 40, 40)
GRIDLINE = (225, 225, 225)
LINE_COLOURS = {"d_loss": (31, 119, 180), "g_loss": (255, 127, 14)}
# Other series, in order (matplotlib's tab10 without the two above).
SERIES_COLOURS = ((44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75), (227, 119, 194),
                  (127, 127, 127), (188, 189, 34), (23, 190, 207), (31, 119, 180), (255, 127, 14))


# --------------------------------------------------------------------------- helpers


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def font(size: int = 12) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font (FreeType when available, else the bitmap one)."""
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has no size argument
        return ImageFont.load_default()


def text_size(draw: ImageDraw.ImageDraw, text: str, fnt) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    return right - left, bottom - top


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, fnt, fill,
              align: str = "left", valign: str = "top") -> None:
    """Text placed by its bounding box: align left/center/right, valign top/middle/bottom."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=fnt)
    w, h = right - left, bottom - top
    x, y = xy
    x -= {"left": 0, "center": w / 2, "right": w}[align]
    y -= {"top": 0, "middle": h / 2, "bottom": h}[valign]
    draw.text((x - left, y - top), text, font=fnt, fill=fill)


def _as_nhwc_uint8(images: np.ndarray) -> np.ndarray:
    arr = np.asarray(images)
    if arr.ndim == 3:  # (n, h, w) grayscale
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(f"expected images shaped (n, h, w, c) with c in (1, 3), got {arr.shape}")
    if arr.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {arr.dtype} (use data.unscale first)")
    if arr.shape[0] == 0:
        raise ValueError("no images to draw")
    return arr


# --------------------------------------------------------------------------- grids


def resized(images_uint8: np.ndarray, size: int) -> np.ndarray:
    """uint8 images (n, h, w, c) as (n, size, size, c), each resized with Lanczos (box averaging
    when shrinking): Fashion-MNIST's 28x28 for a 64x64 architecture, and a 64x64 generator's images
    for the quality classifier's 28x28. The same array when it already has that size."""
    x = np.asarray(images_uint8)
    if x.shape[1:3] == (size, size):
        return x
    method = Image.Resampling.BOX if x.shape[1] > size else Image.Resampling.LANCZOS
    out = np.empty((len(x), size, size, x.shape[3]), np.uint8)
    for i, im in enumerate(x):
        img = Image.fromarray(im[..., 0] if x.shape[3] == 1 else im)
        out[i] = np.asarray(img.resize((size, size), method)).reshape(size, size, x.shape[3])
    return out


def grid_shape(n: int, cols: int | None = None) -> tuple[int, int]:
    """(rows, cols) of a near-square grid: cols = ceil(sqrt(n)), rows = ceil(n / cols).

    12 gives 3 rows x 4 columns, the seed's "4x3 subplot". `cols` given: that many columns (a
    conditional job's grid: one row per class).
    """
    if n < 1:
        raise ValueError(f"a grid needs at least one image, got {n}")
    cols = cols or math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def grid_size(n: int, h: int, w: int, *, scale: int = 4, pad: int = 2, cols: int | None = None) -> tuple[int, int]:
    """(width, height) in pixels of `grid_png` for n images of h x w."""
    rows, cols = grid_shape(n, cols)
    return cols * (w * scale + pad) + pad, rows * (h * scale + pad) + pad


def grid_png(images_uint8: np.ndarray, *, scale: int = 4, pad: int = 2,
             path: Path | str | None = None, cols: int | None = None) -> bytes:
    """All images in one PNG, no axes: nearest-neighbour upscaled by `scale`, `pad` grey pixels
    between and around them. One channel stays mode 'L', three give 'RGB'. Size: see module doc."""
    if scale < 1 or pad < 0:
        raise ValueError(f"scale must be >= 1 and pad >= 0, got scale={scale} pad={pad}")
    arr = _as_nhwc_uint8(images_uint8)
    n, h, w, c = arr.shape
    rows, cols = grid_shape(n, cols)
    big = arr.repeat(scale, axis=1).repeat(scale, axis=2)
    ch, cw = h * scale, w * scale
    canvas = np.full((rows * (ch + pad) + pad, cols * (cw + pad) + pad, c), PAD_GREY, np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = pad + r * (ch + pad), pad + col * (cw + pad)
        canvas[y:y + ch, x:x + cw] = big[i]
    image = Image.fromarray(canvas[..., 0], "L") if c == 1 else Image.fromarray(canvas, "RGB")
    data = png_bytes(image)
    if path is not None:
        write_atomic(path, data)
    return data


def save_images(images_uint8: np.ndarray, folder: Path | str, prefix: str = "sample", *,
                scale: int = 1) -> list[Path]:
    """One PNG per image, `{prefix}_0000.png`, `{prefix}_0001.png`, ... (`0000.png` when prefix
    is empty), at `scale` times the original size. Returns the paths in image order."""
    arr = _as_nhwc_uint8(images_uint8)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(arr):
        if scale > 1:
            img = img.repeat(scale, axis=0).repeat(scale, axis=1)
        pil = Image.fromarray(img[..., 0], "L") if img.shape[-1] == 1 else Image.fromarray(img, "RGB")
        name = f"{prefix}_{i:04d}.png" if prefix else f"{i:04d}.png"
        paths.append(write_atomic(folder / name, png_bytes(pil), sync_dir=False))
    fsync_dir(folder)  # once for all the files, not once per file
    return paths


def real_grid(subset_images_uint8: np.ndarray, n: int = 12,
              path: Path | str | None = None) -> bytes:
    """A grid of the first n training images (what the generator should learn to draw)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return grid_png(_as_nhwc_uint8(subset_images_uint8)[:n], path=path)


# --------------------------------------------------------------------------- loss chart


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round-numbered ticks (1, 2, 2.5 or 5 times a power of ten) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"bad tick range {lo}..{hi}")
    raw = (hi - lo) / max(target - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks, k = [], 0
    while start + k * step <= hi + step * 1e-9:
        ticks.append(round(start + k * step, 12))
        k += 1
    return ticks


def _tick_label(v: float, step: float) -> str:
    if step >= 1 and float(v).is_integer():
        return f"{int(v)}"
    exponent = math.floor(math.log10(step))
    mantissa = step / 10 ** exponent
    decimals = max(0, -exponent + (0 if float(round(mantissa, 9)).is_integer() else 1))
    return f"{v:.{decimals}f}"


def loss_plot_png(epochs: Sequence[int], d_loss: Sequence[float], g_loss: Sequence[float],
                  path: Path | str | None = None, size: tuple[int, int] = (640, 400), *,
                  title: str = "GAN losses per epoch") -> bytes:
    """A line chart of discriminator and generator loss per epoch (see line_chart_png)."""
    if not (len(epochs) == len(d_loss) == len(g_loss)):
        raise ValueError(f"epochs, d_loss and g_loss differ in length: "
                         f"{len(epochs)}, {len(d_loss)}, {len(g_loss)}")
    return line_chart_png({"d_loss": (epochs, d_loss), "g_loss": (epochs, g_loss)}, path, size,
                          title=title, x_label="epoch", y_label="loss", integer_x=True)


def line_chart_png(series: dict[str, tuple[Sequence[float], Sequence[float]]],
                   path: Path | str | None = None, size: tuple[int, int] = (640, 400), *,
                   title: str, x_label: str, y_label: str, integer_x: bool = False) -> bytes:
    """A line chart drawn with ImageDraw: axes, numbered ticks, light grid, one coloured line with
    point markers per series (name -> (xs, ys)), legend, title. NaN/inf points are skipped (the
    line breaks there); a single point draws as a marker. Colours: LINE_COLOURS by name, else
    SERIES_COLOURS in order."""
    series = {name: ([float(x) for x in xs], [float(y) for y in ys]) for name, (xs, ys) in series.items()}
    for name, (xs, ys) in series.items():
        if len(xs) != len(ys):
            raise ValueError(f"series {name}: {len(xs)} x values but {len(ys)} y values")
    colours = {name: LINE_COLOURS.get(name, SERIES_COLOURS[i % len(SERIES_COLOURS)])
               for i, name in enumerate(series)}
    width, height = size
    if width < 200 or height < 150:
        raise ValueError(f"plot size {size} too small (at least 200x150)")

    image = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    f_small, f_title = font(11), font(14)
    left, right, bottom = 64, width - 20, height - 46
    # legend rows above the plot area (as many as the names need), so it never hides data
    rows: list[list[str]] = [[]]
    used = 0
    for name in series:
        need = text_size(draw, name, f_small)[0] + 40
        if rows[-1] and used + need > right - left:
            rows.append([])
            used = 0
        rows[-1].append(name)
        used += need
    top = 36 + 14 * len(rows)
    inset = 10  # keeps the first and last points off the axes

    finite = [y for xs, ys in series.values() for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
    y_lo, y_hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if y_hi - y_lo < 1e-12:
        margin = max(abs(y_lo) * 0.1, 0.5)
        y_lo, y_hi = y_lo - margin, y_hi + margin
    else:
        margin = (y_hi - y_lo) * 0.05
        y_lo, y_hi = y_lo - margin, y_hi + margin
    y_ticks = nice_ticks(y_lo, y_hi)
    y_step = y_ticks[1] - y_ticks[0] if len(y_ticks) > 1 else 1.0
    y_lo, y_hi = min(y_lo, y_ticks[0]), max(y_hi, y_ticks[-1])

    x_fin = [x for xs, _ in series.values() for x in xs if math.isfinite(x)]
    x_lo, x_hi = (min(x_fin), max(x_fin)) if x_fin else (0.0, 1.0)
    if x_hi - x_lo < 1e-12:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    x_ticks = nice_ticks(x_lo, x_hi, target=8)
    if integer_x:
        x_ticks = [t for t in x_ticks if float(t).is_integer()] or [x_lo, x_hi]
    x_step = x_ticks[1] - x_ticks[0] if len(x_ticks) > 1 else 1.0

    def px(x: float) -> float:
        return left + inset + (x - x_lo) / (x_hi - x_lo) * (right - left - 2 * inset)

    def py(y: float) -> float:
        return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top)

    # grid, ticks and labels
    for t in y_ticks:
        y = py(t)
        draw.line([(left, y), (right, y)], fill=GRIDLINE)
        draw.line([(left - 5, y), (left, y)], fill=AXIS)
        draw_text(draw, (left - 8, y), _tick_label(t, y_step), f_small, AXIS, "right", "middle")
    for t in x_ticks:
        x = px(t)
        draw.line([(x, top), (x, bottom)], fill=GRIDLINE)
        draw.line([(x, bottom), (x, bottom + 5)], fill=AXIS)
        draw_text(draw, (x, bottom + 8), f"{int(t)}" if integer_x else _tick_label(t, x_step), f_small, AXIS,
                  "center", "top")
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=AXIS, width=1)
    draw_text(draw, ((left + right) / 2, height - 6), x_label, f_small, AXIS, "center", "bottom")
    draw_text(draw, (8, (top + bottom) / 2), y_label, f_small, AXIS, "left", "middle")
    draw_text(draw, (width / 2, 8), title, f_title, AXIS, "center", "top")

    # lines: break at non-finite points, mark every finite point
    for name, (xs, ys) in series.items():
        colour = colours[name]
        segment: list[tuple[float, float]] = []
        segments = []
        for x, v in zip(xs, ys):
            if math.isfinite(x) and math.isfinite(v):
                segment.append((px(x), py(v)))
            elif segment:
                segments.append(segment)
                segment = []
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                draw.line(seg, fill=colour, width=2, joint="curve")
            for x, y in seg:
                draw.ellipse([x - 2.5, y - 2.5, x + 2.5, y + 2.5], fill=colour)

    for i, row in enumerate(rows):  # right-aligned, the last row just above the plot
        x, y = right, top - 12 - 14 * (len(rows) - 1 - i)
        for name in reversed(row):
            x -= text_size(draw, name, f_small)[0]
            draw_text(draw, (x, y), name, f_small, AXIS, "left", "middle")
            draw.line([(x - 26, y), (x - 6, y)], fill=colours[name], width=3)
            x -= 40

    data = png_bytes(image)
    if path is not None:
        write_atomic(path, data)
    return data
