"""Per-layer summary of a Keras model: a table of rows, its text form, and a PNG diagram.

`layer_table` is the only function that touches Keras (and it needs a built model, not the
keras module: nothing here imports TensorFlow). The rows are plain data, so the text table and
the diagram can be drawn anywhere, e.g. from a summary stored with a job.

Each row notes the layer's output shape without the batch axis, its number of neurons (units:
the product of that shape, e.g. 7*7*256 = 12544 for a (7, 7, 256) feature map) and its number
of weights (all parameters, trainable or not, as Keras counts them).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Sequence

from PIL import Image, ImageDraw

from ganctl.jobs.pictures import draw_text, font, png_bytes, write_atomic


@dataclass(frozen=True)
class LayerRow:
    name: str
    kind: str  # the Keras class name: Dense, Conv2DTranspose, ...
    output_shape: tuple  # without the batch axis
    units: int  # neurons: product of output_shape
    weights: int  # parameters, trainable and not
    trainable: int | None = None  # trainable parameters where known

    def to_dict(self) -> dict:
        d = asdict(self)
        d["output_shape"] = list(self.output_shape)
        return d


def _shape_of(layer) -> tuple:
    try:
        out = layer.output
    except (AttributeError, ValueError):
        out = None
    if out is not None:
        if isinstance(out, (list, tuple)):  # several outputs: describe the first
            out = out[0]
        shape = tuple(out.shape)
    else:
        shape = tuple(layer.compute_output_shape(layer.input.shape))
    return tuple(int(d) if d is not None else None for d in shape[1:])


def _units(shape: tuple) -> int:
    return math.prod(d for d in shape if d is not None) if shape else 0


def _count(weights) -> int:
    return sum(math.prod(tuple(w.shape)) for w in weights)


def layer_table(model) -> list[LayerRow]:
    """One row per layer of a built Keras model (Input layers have no row; they have no weights).

    The weights column sums to model.count_params()."""
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        shape = _shape_of(layer)
        rows.append(LayerRow(
            name=layer.name,
            kind=type(layer).__name__,
            output_shape=shape,
            units=_units(shape),
            weights=int(layer.count_params()),
            trainable=int(_count(layer.trainable_weights)),
        ))
    return rows


def model_input_shape(model) -> tuple:
    """The model's input shape without the batch axis, e.g. (100,) or (28, 28, 1)."""
    inputs = model.inputs[0] if isinstance(model.inputs, (list, tuple)) else model.inputs
    return tuple(int(d) if d is not None else None for d in tuple(inputs.shape)[1:])


def _fmt_shape(shape: tuple) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def totals(rows: Iterable[LayerRow]) -> dict:
    rows = list(rows)
    known = [r.trainable for r in rows if r.trainable is not None]
    weights = sum(r.weights for r in rows)
    out = {"layers": len(rows), "units": sum(r.units for r in rows), "weights": weights}
    if len(known) == len(rows):
        out["trainable"] = sum(known)
        out["non_trainable"] = weights - out["trainable"]
    return out


def format_table(rows: Sequence[LayerRow], title: str | None = None) -> str:
    """An aligned plain-text table, one line per layer, then a total line."""
    header = ("#", "layer", "type", "output shape", "units", "weights")
    body = [(str(i), r.name, r.kind, _fmt_shape(r.output_shape), f"{r.units:,}", f"{r.weights:,}")
            for i, r in enumerate(rows, 1)]
    t = totals(rows)
    total = ("", "total", f"{t['layers']} layers", "", f"{t['units']:,}", f"{t['weights']:,}")
    widths = [max(len(line[c]) for line in (header, *body, total)) for c in range(len(header))]
    right = {0, 4, 5}

    def fmt(cells) -> str:
        return "  ".join(cell.rjust(w) if c in right else cell.ljust(w)
                         for c, (cell, w) in enumerate(zip(cells, widths))).rstrip()

    rule = "-" * len(fmt(tuple("x" * w for w in widths)))
    lines = [title] if title else []
    lines += [fmt(header), rule, *map(fmt, body), rule, fmt(total)]
    if "trainable" in t:
        lines.append(f"trainable weights: {t['trainable']:,}   non-trainable: {t['non_trainable']:,}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- diagram

KIND_COLOURS = {
    "Dense": (214, 230, 250),
    "Conv2D": (214, 240, 214),
    "Conv2DTranspose": (200, 235, 225),
    "UpSampling2D": (235, 225, 250),
    "BatchNormalization": (250, 240, 205),
    "LeakyReLU": (245, 245, 245),
    "ReLU": (245, 245, 245),
    "Activation": (245, 245, 245),
    "Dropout": (250, 225, 225),
    "Reshape": (235, 235, 235),
    "Flatten": (235, 235, 235),
}
OTHER_COLOUR = (240, 240, 240)
INK = (30, 30, 30)
WIDTH, BOX_W, BOX_H, GAP, HEAD, FOOT = 560, 440, 52, 24, 44, 64


def diagram_height(n_boxes: int) -> int:
    """Pixel height of a diagram with n boxes (layers, plus one for the input when drawn)."""
    return HEAD + n_boxes * BOX_H + max(n_boxes - 1, 0) * GAP + FOOT


def diagram_png(rows: Sequence[LayerRow], title: str, path: Path | str | None = None, *,
                input_shape: tuple | None = None) -> bytes:
    """A vertical diagram: one box per layer (name, type, output shape, units, weights), arrows
    between boxes, the totals at the bottom. With input_shape, an input box comes first.
    Width is fixed (560 px); height is `diagram_height(len(rows) + (input_shape is not None))`."""
    boxes: list[tuple[str, str, str, tuple]] = []
    if input_shape is not None:
        shape = tuple(input_shape)
        boxes.append(("input", f"output {_fmt_shape(shape)}",
                      f"units {_units(shape):,}   weights 0", (255, 255, 255)))
    for r in rows:
        boxes.append((f"{r.name}  [{r.kind}]", f"output {_fmt_shape(r.output_shape)}",
                      f"units {r.units:,}   weights {r.weights:,}",
                      KIND_COLOURS.get(r.kind, OTHER_COLOUR)))

    height = diagram_height(len(boxes))
    image = Image.new("RGB", (WIDTH, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    f_title, f_name, f_small = font(15), font(13), font(11)
    draw_text(draw, (WIDTH / 2, 12), title, f_title, INK, "center", "top")

    x0 = (WIDTH - BOX_W) // 2
    cx = WIDTH / 2
    for i, (line1, line2, line3, fill) in enumerate(boxes):
        y0 = HEAD + i * (BOX_H + GAP)
        draw.rounded_rectangle([x0, y0, x0 + BOX_W, y0 + BOX_H], radius=6, fill=fill, outline=INK)
        draw_text(draw, (x0 + 10, y0 + 7), line1, f_name, INK)
        draw_text(draw, (x0 + 10, y0 + 29), line2, f_small, INK)
        draw_text(draw, (x0 + BOX_W - 10, y0 + 29), line3, f_small, INK, "right")
        if i + 1 < len(boxes):  # arrow to the next box
            a, b = y0 + BOX_H, y0 + BOX_H + GAP
            draw.line([(cx, a + 2), (cx, b - 2)], fill=INK, width=2)
            draw.polygon([(cx - 5, b - 9), (cx + 5, b - 9), (cx, b - 2)], fill=INK)

    t = totals(rows)
    y = height - FOOT + 14
    draw_text(draw, (cx, y), f"{t['layers']} layers   {t['units']:,} units   "
                             f"{t['weights']:,} weights", f_name, INK, "center")
    if "trainable" in t:
        draw_text(draw, (cx, y + 22), f"trainable {t['trainable']:,}   "
                                      f"non-trainable {t['non_trainable']:,}", f_small, INK, "center")

    data = png_bytes(image)
    if path is not None:
        write_atomic(path, data)
    return data


__all__ = ["LayerRow", "layer_table", "model_input_shape", "totals", "format_table",
           "diagram_png", "diagram_height"]
