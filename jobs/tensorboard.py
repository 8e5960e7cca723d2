"""TensorBoard event files per training job, written with TensorFlow alone.

The ``tensorboard`` package is NOT needed to write or read these files: in TF 2.x,
``tf.summary.scalar`` / ``tf.summary.image`` are thin wrappers that import ``tensorboard`` (and
raise ``TBNotInstalledError`` without it), so this module does what those wrappers do with TF's
own low-level op, ``tf.summary.write``, and the same plugin metadata ("scalars": a float32
scalar tensor; "images": a string tensor ``[width, height, png...]``). The files are exactly
what TensorBoard's scalar and image dashboards read.

One logdir per job, ``<artifacts_root>/<job_id>/tensorboard`` (ganctl.jobs.layout.JobFolder), so
``tensorboard --logdir <artifacts_root>`` shows every job as its own run. TensorBoard itself is
the optional extra ``ganctl[tensorboard]``.

TensorFlow is imported lazily (inside `EpochWriter.__init__` and the readers): importing this
module costs nothing, so the CLI can import it without TensorFlow installed.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterator

from PIL import Image

__all__ = ["EpochWriter", "read_scalars", "read_images", "event_files", "IMAGE_TAG", "QUALITY_PREFIX"]

IMAGE_TAG = "grid"
QUALITY_PREFIX = "quality/"
_SCALARS_PLUGIN = "scalars"
_IMAGES_PLUGIN = "images"


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, decoding it with Pillow (so a corrupt grid fails here, loudly)."""
    with Image.open(io.BytesIO(png)) as im:
        if im.format != "PNG":
            raise ValueError(f"expected PNG bytes, got {im.format}")
        im.load()
        return im.size


class EpochWriter:
    """Writes one job's per-epoch scalars, grid images and quality metrics to `logdir`.

    ``write(report)`` writes d_loss, g_loss, images_per_s and seconds at step=report.epoch and,
    when the report carries a grid, the grid PNG as image "grid" at the same step;
    ``write_metrics(epoch, {"fid": ...})`` writes "quality/fid". Each call flushes, so a running
    TensorBoard sees the epoch at once. Non-finite values are written as they are (TensorBoard
    shows NaN points). Usable as a context manager; ``close()`` is idempotent."""

    def __init__(self, logdir: Path | str):
        import tensorflow as tf

        self._tf = tf
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._writer = tf.summary.create_file_writer(str(self.logdir))
        self._closed = False
        self._scalar_md = self._metadata(_SCALARS_PLUGIN)
        self._image_md = self._metadata(_IMAGES_PLUGIN)

    def _metadata(self, plugin: str):
        # Plugin content is the plugin's own data proto at version 0, which serialises to b"".
        md = self._tf.compat.v1.SummaryMetadata()
        md.plugin_data.plugin_name = plugin
        md.plugin_data.content = b""
        return md

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"EpochWriter for {self.logdir} is closed")

    def _scalar(self, tag: str, value: float, step: int) -> None:
        tf = self._tf
        tf.summary.write(tag, tf.constant(float(value), dtype=tf.float32), step=int(step),
                         metadata=self._scalar_md)

    def _image(self, tag: str, png: bytes, step: int) -> None:
        tf = self._tf
        width, height = _png_size(png)
        tensor = tf.constant([str(width).encode(), str(height).encode(), bytes(png)], dtype=tf.string)
        tf.summary.write(tag, tensor, step=int(step), metadata=self._image_md)

    def write(self, report) -> None:
        """report: a ganctl.jobs.train.EpochReport (not imported: train imports this module)."""
        self._check_open()
        step = int(report.epoch)
        with self._writer.as_default():
            self._scalar("d_loss", report.d_loss, step)
            self._scalar("g_loss", report.g_loss, step)
            self._scalar("images_per_s", report.images_per_s, step)
            self._scalar("seconds", report.seconds, step)
            if report.grid_png:
                self._image(IMAGE_TAG, report.grid_png, step)
        self._writer.flush()

    def write_metrics(self, epoch: int, metrics: dict) -> None:
        """Numeric entries of `metrics` as scalars "quality/<name>" at step=epoch; others skipped."""
        self._check_open()
        with self._writer.as_default():
            for name, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
                self._scalar(f"{QUALITY_PREFIX}{name}", value, epoch)
        self._writer.flush()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.flush()
            self._writer.close()

    def __enter__(self) -> "EpochWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- reading


def event_files(logdir: Path | str) -> list[Path]:
    """The event files directly in `logdir`, oldest first (their names carry a timestamp)."""
    logdir = Path(logdir)
    if not logdir.is_dir():
        return []
    files = [p for p in logdir.iterdir() if p.is_file() and ".tfevents." in p.name]
    return sorted(files, key=lambda p: (p.name.split(".tfevents.", 1)[1], p.name))


def _values(logdir: Path | str) -> Iterator[tuple[int, object]]:
    import tensorflow as tf

    for path in event_files(logdir):
        for raw in tf.data.TFRecordDataset(str(path)):
            event = tf.compat.v1.Event.FromString(raw.numpy())
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                yield int(event.step), value


def read_scalars(logdir: Path | str) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the job's event files: {tag: [(step, value), ...]} sorted by step.

    Reads TF2 tensor summaries (rank-0 numeric tensors) and TF1 ``simple_value``s. A step
    written twice (a resumed job re-runs an epoch) keeps its last value. Imports TensorFlow."""
    import tensorflow as tf

    out: dict[str, dict[int, float]] = {}
    for step, value in _values(logdir):
        kind = value.WhichOneof("value")
        if kind == "simple_value":
            v = float(value.simple_value)
        elif kind == "tensor":
            arr = tf.make_ndarray(value.tensor)
            if arr.ndim != 0 or arr.dtype.kind not in "fiu":
                continue
            v = float(arr)
        else:
            continue
        out.setdefault(value.tag, {})[step] = v
    return {tag: sorted(points.items()) for tag, points in out.items()}


def read_images(logdir: Path | str) -> dict[str, list[tuple[int, bytes]]]:
    """Every image summary: {tag: [(step, png_bytes), ...]} sorted by step (first image of each
    summary; last write of a step wins). Imports TensorFlow."""
    import tensorflow as tf

    out: dict[str, dict[int, bytes]] = {}
    for step, value in _values(logdir):
        if value.WhichOneof("value") == "image":  # TF1 style
            out.setdefault(value.tag, {})[step] = bytes(value.image.encoded_image_string)
        elif value.WhichOneof("value") == "tensor":
            arr = tf.make_ndarray(value.tensor)
            if arr.ndim == 1 and arr.dtype == object and len(arr) >= 3:
                out.setdefault(value.tag, {})[step] = bytes(arr[2])
    return {tag: sorted(points.items()) for tag, points in out.items()}
