"""A small Fashion-MNIST CNN whose 128-d `features` layer is the feature space of ganctl.jobs.quality.metrics.

Its weights ship with the package (shipped/fmnist-cnn-v1.npz, recorded with recipe, data, accuracy
and sha256 in shipped/fmnist-cnn-v1.json), trained once by `_train` below: as FID ships fixed
Inception weights, every machine then computes the same FD for the same images, and the first
evaluation starts at once. The sha256 is checked before the weights are loaded.
Only when RECIPE differs from the shipped record's is a classifier trained here, once, and cached
under `$GANCTL_CACHE_DIR/classifier-<hash>.weights.h5` (default `<home>/cache`), the hash covering the recipe and the data files' sizes, so a changed recipe trains afresh.
Training runs under mixed bfloat16 where the CPU/GPU has it (about 4x faster on AMX CPUs);
inference always runs a float32 copy of the network, so features are not rounded to bf16.
Keras is imported inside functions: importing this module stays light.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganctl.jobs import data, device
from ganctl.jobs.layout import remove_stale_temps, write_atomic, write_atomic_with

log = logging.getLogger(__name__)

RECIPE = {
    "version": 1,
    "layers": [
        "Conv2D(32,3,same,relu)x2", "MaxPooling2D(2)", "Conv2D(64,3,same,relu)x2", "MaxPooling2D(2)",
        "Flatten", "Dropout(0.3)", "Dense(128,relu,name=features)", "Dropout(0.2)",
        "Dense(10,softmax,float32)",
    ],
    "pixels": "uint8/255",
    "epochs": 4,
    "batch_size": 256,
    "seed": 1234,
    "optimizer": "adam(1e-3)",
    "precision": "auto",  # device.resolve_precision: bf16 on AMX/AVX512-BF16 CPUs and Ampere+ GPUs
}
FEATURE_LAYER = "features"
MIN_ACCURACY = 0.90

SHIPPED_DIR = Path(__file__).with_name("shipped")
SHIPPED = "fmnist-cnn-v1"  # the version name quality figures are stored with

_warm: dict[str, "Classifier"] = {}  # cache path -> loaded classifier, kept for the process


def _build(keras):
    from keras import layers

    return keras.Sequential(
        [
            layers.Input((28, 28, 1)),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(0.3),
            layers.Dense(128, activation="relu", name=FEATURE_LAYER),
            layers.Dropout(0.2),
            layers.Dense(10, activation="softmax", dtype="float32", name="classes"),
        ],
        name="fmnist_classifier",
    )


def recipe_hash(data_dir: Path | None = None) -> str:
    folder = data.find_data_dir(data_dir)
    sizes = {}
    for imgs, lbls, _ in data.FILES.values():
        for stem in (imgs, lbls):
            path = data._file_in(folder, stem)
            sizes[path.name] = path.stat().st_size
    blob = json.dumps({"recipe": RECIPE, "data": sizes}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class Classifier:
    model: object            # the float32 Keras model (softmax output)
    feature_model: object    # the same network up to the `features` layer
    test_accuracy: float
    path: Path
    trained: bool            # True when this process trained it, False when loaded from the cache
    train_seconds: float | None = None
    version: str = ""        # SHIPPED, or "local-<recipe hash>" for one trained into the cache

    def _run(self, model, images: np.ndarray, batch: int = 2048) -> np.ndarray:
        x = np.asarray(images)
        if x.dtype != np.uint8:
            raise ValueError(f"images must be uint8 pixels, got {x.dtype}")
        x = x.reshape(len(x), 28, 28, 1)
        out = [np.asarray(model(x[i:i + batch].astype(np.float32) / 255.0, training=False))
               for i in range(0, len(x), batch)]
        return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]))

    def features(self, images_uint8: np.ndarray) -> np.ndarray:
        """(n, 128) float64 activations of the `features` layer for uint8 images (n, 28, 28, 1)."""
        return self._run(self.feature_model, images_uint8).astype(np.float64)

    def predict_classes(self, images_uint8: np.ndarray) -> np.ndarray:
        return self._run(self.model, images_uint8).argmax(axis=1).astype(np.int64)


def _paths(settings, data_dir) -> tuple[Path, Path]:
    cache = Path(settings.resolved_cache_dir)
    h = recipe_hash(data_dir)
    return cache / f"classifier-{h}.weights.h5", cache / f"classifier-{h}.json"


def _wrap(model, accuracy: float, path: Path, trained: bool, seconds: float | None) -> Classifier:
    import keras

    features = keras.Model(model.inputs[0], model.get_layer(FEATURE_LAYER).output)
    return Classifier(model, features, accuracy, path, trained, seconds)


def _train(weights: Path, data_dir) -> float:
    """Train and save the weights atomically; returns the training seconds."""
    import keras

    keras.utils.set_random_seed(RECIPE["seed"])
    with device.precision_scope(RECIPE["precision"]):
        model = _build(keras)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = data.load_split("train", data_dir)
    t0 = time.perf_counter()
    model.fit(x[..., None].astype(np.float32) / 255.0, y.astype(np.int64), epochs=RECIPE["epochs"],
              batch_size=RECIPE["batch_size"], shuffle=True, verbose=0)
    seconds = time.perf_counter() - t0
    remove_stale_temps(weights.parent)
    write_atomic_with(weights, model.save_weights)
    return seconds


def _accuracy(clf: Classifier, data_dir) -> float:
    x, y = data.load_split("test", data_dir)
    return float((clf.predict_classes(x[..., None]) == y).mean())


def shipped_record() -> dict | None:
    """The shipped weights' record when it was trained with this RECIPE, else None."""
    info = SHIPPED_DIR / f"{SHIPPED}.json"
    if not info.is_file():
        return None
    record = json.loads(info.read_text())
    return record if record.get("recipe") == RECIPE else None


def _load_shipped(record: dict) -> Classifier:
    import keras

    path = SHIPPED_DIR / record["weights"]
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != record["sha256"]:
        raise ValueError(f"quality classifier {path.name}: sha256 {digest[:12]}... does not match "
                         f"its record {record['sha256'][:12]}... (reinstall ganctl)")
    with device.precision_scope("fp32"):
        model = _build(keras)
    with np.load(path) as arrays:
        model.set_weights([arrays[k] for k in sorted(arrays.files)])
    clf = _wrap(model, float(record["test_accuracy"]), path, False, record.get("train_seconds"))
    clf.version = record["version"]
    return clf


def get_classifier(settings=None) -> Classifier:
    """The shipped classifier; for a changed RECIPE, the cached one, trained first if not cached yet."""
    record = shipped_record()
    if record is not None:
        key = f"shipped:{record['version']}"
        if key not in _warm:
            _warm[key] = _load_shipped(record)
        return _warm[key]
    if settings is None:
        from ganctl.jobs.config import get_settings

        settings = get_settings()
    data_dir = settings.data_dir
    weights, info = _paths(settings, data_dir)
    key = str(weights)
    if key in _warm and weights.is_file():
        return _warm[key]
    import keras

    trained, seconds = False, None
    if not weights.is_file():
        log.info("training the quality classifier (%s epochs) into %s", RECIPE["epochs"], weights)
        seconds = _train(weights, data_dir)
        trained = True
    with device.precision_scope("fp32"):
        model = _build(keras)  # float32 for inference, whatever the training precision was
    model.load_weights(weights)
    meta = {}
    if info.is_file() and not trained:
        try:
            meta = json.loads(info.read_text())
        except (OSError, ValueError):
            meta = {}
    clf = _wrap(model, float("nan"), weights, trained, seconds)
    if "test_accuracy" not in meta:
        meta = {"test_accuracy": _accuracy(clf, data_dir), "train_seconds": seconds,
                "recipe": RECIPE, "recipe_hash": recipe_hash(data_dir)}
        write_atomic(info, json.dumps(meta, indent=2).encode())
    clf.test_accuracy = float(meta["test_accuracy"])
    clf.train_seconds = meta.get("train_seconds") if seconds is None else seconds
    clf.version = f"local-{recipe_hash(data_dir)}"
    if clf.test_accuracy < MIN_ACCURACY:
        log.warning("quality classifier test accuracy %.4f < %.2f", clf.test_accuracy, MIN_ACCURACY)
    _warm[key] = clf
    return clf
