"""Fashion-MNIST from its IDX files: locate, read, validate, select a subset, build the input pipeline.

numpy only at import time; TensorFlow is imported inside `pipeline` (the CLI imports this module).
"""
from __future__ import annotations

import gzip
import logging
from pathlib import Path

import numpy as np

from ganctl.jobs.config import get_settings
from ganctl.jobs.datatypes import DataError, Subset  # noqa: F401 - callers catch data.DataError
from ganctl.jobs.labels import CLASS_NAMES, fashion_index

log = logging.getLogger(__name__)

SPLITS = ("train", "test", "all")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE = Path.home() / ".keras" / "datasets" / "fashion-mnist"
FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60_000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10_000),
}
HOW_TO_GET = ("Fashion-MNIST not found. Install it with `apt-get install dataset-fashion-mnist` "
              "(files in /usr/share/datasets/fashion-mnist) or set GANCTL_DATA_DIR to a folder "
              "holding train-images-idx3-ubyte.gz and the three other IDX files")


def class_items(value) -> list:
    """--classes as given (comma text or a list) to its items, blanks dropped; none: every class.
    Text with commas but no names ("," or " , ") is refused rather than read as every class."""
    if not isinstance(value, str):
        return list(value or [])
    items = [c for c in value.split(",") if c.strip()]
    if not items and value.strip():
        raise DataError(f"no class names in {value!r}; leave --classes out for every class")
    return items


def parse_classes(items: list[str | int]) -> list[int]:
    """Class names (`trouser`) or indices (`1`) to sorted unique indices."""
    out = set()
    for item in items:
        key = str(item).strip()
        if key.isdigit() and int(key) < len(CLASS_NAMES):
            out.add(int(key))
        elif (index := fashion_index(key)) is not None:
            out.add(index)
        else:
            raise DataError(f"unknown class {item!r}; use one of {', '.join(CLASS_NAMES)} or 0-9")
    return sorted(out)


def candidate_dirs(data_dir: Path | None = None) -> list[Path]:
    """Where to look, in order: `data_dir`, else GANCTL_DATA_DIR (Settings.data_dir), then the system
    and Keras folders."""
    first = data_dir or get_settings().data_dir
    return [p for p in (Path(first) if first else None, DEBIAN_DIR, KERAS_CACHE) if p is not None]


def _file_in(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    return None


def find_data_dir(data_dir: Path | None = None) -> Path:
    for folder in candidate_dirs(data_dir):
        if all(_file_in(folder, s) for imgs, lbls, _ in FILES.values() for s in (imgs, lbls)):
            return folder
    return _download_or_fail()


def _download_or_fail() -> Path:
    # Only where a network exists: keras downloads into its cache, which we then read ourselves.
    try:
        import socket

        socket.create_connection(("storage.googleapis.com", 443), timeout=3).close()
    except OSError:
        raise DataError(HOW_TO_GET) from None
    from keras.datasets import fashion_mnist

    fashion_mnist.load_data()
    return KERAS_CACHE


def _read_idx(path: Path, magic: int, count: int, shape: tuple[int, ...]) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"corrupt data file {path}: {exc}") from None
    header = 8 + 4 * len(shape)
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        raise DataError(f"corrupt data file {path}: not an IDX file of the expected kind")
    dims = tuple(int.from_bytes(raw[8 + 4 * i: 12 + 4 * i], "big") for i in range(len(shape)))
    n = int.from_bytes(raw[4:8], "big")
    if n != count or dims != shape or len(raw) != header + n * int(np.prod(shape, dtype=int)):
        raise DataError(f"corrupt or truncated data file {path}: expected {count} records of {shape}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape((n, *shape))


def load_split(split: str, data_dir: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (n, 28, 28) and labels (n,) of `train`, `test` or `all` (train then test)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
    if split == "all":
        parts = [load_split(s, data_dir) for s in ("train", "test")]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    folder = find_data_dir(data_dir)
    imgs, lbls, count = FILES[split]
    images = _read_idx(_file_in(folder, imgs), 2051, count, (28, 28))
    labels = _read_idx(_file_in(folder, lbls), 2049, count, ())
    if labels.max() >= len(CLASS_NAMES):
        raise DataError(f"corrupt data file {_file_in(folder, lbls)}: label out of range")
    return images, labels


def select(split: str = "train", classes: tuple[int, ...] | list = (), limit: int | None = None,
           data_dir: Path | None = None) -> Subset:
    if limit is not None and limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    classes = tuple(parse_classes(list(classes)))
    images, labels = load_split(split, data_dir)
    if classes:
        keep = np.isin(labels, classes)
        images, labels = images[keep], labels[keep]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if len(images) == 0:
        raise DataError(f"the subset is empty ({split}, classes {list(classes)}, limit {limit})")
    return Subset(images[..., None], labels, split, classes)


def load_for(spec, data_dir: Path | None = None) -> Subset:
    """The training images of a TrainSpec: its Fashion-MNIST subset (resized to the job's image
    size where the arch makes no 28x28 images) or its image folder.

    For a folder this runs on the worker: a folder missing here is a DataError saying that workers
    need the same path (a shared mount); unreadable files are skipped and counted (Subset.skipped).
    """
    if spec.folder is not None:
        from ganctl.jobs import folder

        subset = folder.load(spec.folder, spec.effective_image_size, spec.effective_channels,
                             spec.resize, tuple(spec.classes), spec.limit)
    else:
        subset = select(spec.split, spec.classes, spec.limit, data_dir)
        if spec.effective_image_size != subset.images.shape[1]:  # a 64x64 arch (dcgan64) on 28x28 images
            from dataclasses import replace

            from ganctl.jobs.pictures import resized

            subset = replace(subset, images=resized(subset.images, spec.effective_image_size))
    log.info("training data: %s", subset.describe())
    return subset


def scale(images: np.ndarray, output: str) -> np.ndarray:
    """uint8 pixels to float32 in [0, 1] for sigmoid generators, [-1, 1] for tanh ones."""
    x = images.astype(np.float32) / 255.0
    return x if output == "sigmoid" else x * 2.0 - 1.0


def unscale(images: np.ndarray, output: str) -> np.ndarray:
    """Generator output back to uint8 pixels."""
    x = np.asarray(images, dtype=np.float32)
    x = x if output == "sigmoid" else (x + 1.0) / 2.0
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def pipeline(images: np.ndarray, batch_size: int, seed: int, output: str, labels: np.ndarray | None = None):
    """A cached, shuffled, batched, prefetched tf.data.Dataset of scaled float32 images; with
    `labels` (conditional jobs: int32 0..K-1), of (images, labels) batches shuffled together.

    uint8 pixels stay in memory (4x smaller) and are scaled per batch in the graph. The last partial
    batch is kept. The shuffle order depends only on `seed`, so a resumed run sees the same batches.
    """
    import tensorflow as tf

    lo, span = (0.0, 1.0) if output == "sigmoid" else (-1.0, 2.0)
    if labels is None:
        ds = tf.data.Dataset.from_tensor_slices(images).cache()
        scale_batch = lambda x: tf.cast(x, tf.float32) * (span / 255.0) + lo  # noqa: E731
    else:
        ds = tf.data.Dataset.from_tensor_slices((images, np.asarray(labels, np.int32))).cache()
        scale_batch = lambda x, y: (tf.cast(x, tf.float32) * (span / 255.0) + lo, y)  # noqa: E731
    ds = ds.shuffle(min(len(images), 60_000), seed=seed, reshuffle_each_iteration=False)
    # Fixed parallelism and no autotuning (without_autotune). Scaling a batch is cheap: two batches
    # ahead is enough to keep the step fed.
    ds = ds.batch(batch_size).map(scale_batch, num_parallel_calls=1)
    return without_autotune(ds.prefetch(2))


def without_autotune(ds):
    """ds with tf.data's autotuning off: with it on, an epoch's iterator on a busy 2-core machine
    often waited in its destructor until ~20 or ~41 s after it was made, which timed one epoch in
    two or three as that long (docs/BENCHMARKS.md, "Epochs that stalled")."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)
