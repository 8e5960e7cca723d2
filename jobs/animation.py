"""An animated GIF of a run: one frame per recorded epoch grid (the TF DCGAN tutorial's
``image_at_epoch`` GIF). Pillow only; TensorFlow is never imported here."""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageDraw

from ganctl.jobs.pictures import draw_text, font, text_size, write_atomic

__all__ = ["grids_gif", "LABEL_HEIGHT"]

LABEL_HEIGHT = 18  # pixels added under each frame when labels are drawn


def _frame(png: bytes, size: tuple[int, int], label: str | None) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    image = image.convert("RGB")
    if image.size != size:  # every frame must have the first frame's size
        canvas = Image.new("RGB", size, (128, 128, 128))
        canvas.paste(image.crop((0, 0, min(size[0], image.width), min(size[1], image.height))), (0, 0))
        image = canvas
    if label is None:
        return image
    out = Image.new("RGB", (size[0], size[1] + LABEL_HEIGHT), (255, 255, 255))
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    fnt = font(12)
    text = label
    while len(text) > 1 and text_size(draw, text, fnt)[0] > size[0] - 4:
        text = text[:-1]
    draw_text(draw, (size[0] / 2, size[1] + LABEL_HEIGHT / 2), text, fnt, (20, 20, 20), "center", "middle")
    return out


def grids_gif(pngs: Sequence[bytes], path: Path | str | None = None, duration_ms: int = 400, *,
              labels: Sequence[str] | None = None) -> bytes:
    """One GIF frame per PNG (in the order given), looping forever, `duration_ms` per frame.

    All frames take the first PNG's size (a differently sized grid is cropped or padded grey).
    With `labels` (one per PNG, e.g. ``[f"epoch {n}" for n in epochs]``) each frame gets a
    white strip of LABEL_HEIGHT pixels underneath with its label. Returns the GIF bytes and,
    given a path, writes them atomically."""
    pngs = list(pngs)
    if not pngs:
        raise ValueError("no grids to animate")
    if labels is not None and len(labels) != len(pngs):
        raise ValueError(f"{len(labels)} labels for {len(pngs)} grids")
    if duration_ms < 10:
        raise ValueError(f"duration_ms must be at least 10, got {duration_ms}")
    with Image.open(io.BytesIO(pngs[0])) as first:
        size = first.size
    frames = [_frame(p, size, None if labels is None else str(labels[i])) for i, p in enumerate(pngs)]
    # One shared adaptive palette would need a quantisation pass per frame anyway; Pillow's
    # per-frame quantisation is exact for grayscale grids (<= 256 levels).
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(duration_ms),
                   loop=0, disposal=1, optimize=False)
    data = buf.getvalue()
    if path is not None:
        write_atomic(path, data)
    return data
