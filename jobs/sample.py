"""Sampling from an exported generator, verified by sha256 before anything is loaded.

The default (h5) path builds the generator from code and loads weights only: no model config
from disk is ever deserialised. The SavedModel path runs only a file whose hash matches.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganctl.jobs import artifacts, conditional, data, pictures
from ganctl.jobs.noise import latent, walk
from ganctl.jobs.spec import TrainSpec
from ganctl.jobs.layout import JobFolder

_warm: dict[tuple, object] = {}  # (format, path, sha256, precision) -> generator; a worker reuses it


@dataclass(frozen=True)
class SampleResult:
    grid: Path
    files: list[Path]
    walk: Path | None = None  # the --interpolate GIF

WALK_STEPS = 12       # frames from one latent point to the next
WALK_FRAME_MS = 80


def untrained_generator(spec: TrainSpec, precision: str = "fp32"):
    """The job's generator built from code, computing in `precision` (its weights stay float32)."""
    import keras

    from ganctl.jobs import device

    keras.utils.set_random_seed(spec.seed)
    with device.precision_scope(precision):
        return conditional.build_generator(spec)  # as it trained


def load_generator(spec: TrainSpec, export_dir: Path, fmt: str = "h5", expected_sha256: str | None = None):
    """A callable noise -> images (noise, labels -> images for a conditional job), for the verified
    artifact; cached per (path, hash, precision)."""
    key = f"{fmt}-generator"
    path = artifacts.verified_path(export_dir, key, expected_sha256)
    cache_key = (key, str(path), artifacts.read_manifest(export_dir)[key]["sha256"], spec.precision)
    if cache_key not in _warm:
        if fmt == "h5":
            # The job's own precision (auto: bfloat16 where the CPU or GPU has it), as it trained
            # and as its SavedModel computes: 2x faster on AMX, pixels within a grey level or two.
            model = untrained_generator(spec, spec.precision)
            model.load_weights(path)
            _warm[cache_key] = tf_function(conditional.caller(model, conditional.has_codes(spec)))
        elif fmt == "savedmodel":
            import tensorflow as tf

            loaded = tf.saved_model.load(str(path))
            # Bind the loaded object itself: `serve` alone lets its variables be collected.
            if conditional.has_codes(spec):
                _warm[cache_key] = lambda z, y, m=loaded: m.serve([z, y])
            else:
                _warm[cache_key] = lambda z, m=loaded: m.serve(z)
        else:
            raise ValueError(f"unknown format {fmt!r}; use h5 or savedmodel")
    return _warm[cache_key]


def tf_function(fn):
    """fn compiled once per input shape: a worker's repeated samples skip Keras' eager call path."""
    import tensorflow as tf

    return tf.function(fn, reduce_retracing=True)


def generate(spec: TrainSpec, generator, n: int, seed: int | None = None, batch: int = 1024,
             truncation: float | None = None, labels: np.ndarray | None = None) -> np.ndarray:
    """n uint8 images (n, h, w, c) from a generator callable; a conditional job's of classes
    `labels` (0..K-1), drawn uniformly from `seed` when None."""
    if conditional.has_codes(spec) and labels is None:
        labels = conditional.uniform_labels(spec, n, seed)
    return from_noise(spec, generator, latent(spec, n, seed, truncation), batch, labels)


def from_noise(spec: TrainSpec, generator, z: np.ndarray, batch: int = 1024,
               labels: np.ndarray | None = None) -> np.ndarray:
    if labels is None:
        out = [np.asarray(generator(z[i:i + batch]), dtype=np.float32) for i in range(0, len(z), batch)]
    else:
        y = np.asarray(labels, np.int32)
        out = [np.asarray(generator(z[i:i + batch], y[i:i + batch]), dtype=np.float32)
               for i in range(0, len(z), batch)]
    return data.unscale(np.concatenate(out), spec.info.output)


def write_walk(spec: TrainSpec, generator, n: int, k: int, seed: int | None, truncation: float | None,
               path: Path, labels: np.ndarray | None = None) -> np.ndarray:
    """An animated GIF of n tiles, each walking a loop through k random latent points (a
    conditional job's tile i keeps class labels[i]); returns the first frame's images."""
    from ganctl.jobs.animation import grids_gif

    frames = walk(spec, n, k, WALK_STEPS, seed, truncation)
    every = None if labels is None else np.tile(np.asarray(labels, np.int32), len(frames))
    shots = from_noise(spec, generator, frames.reshape(-1, frames.shape[-1]), labels=every)
    shots = shots.reshape(len(frames), n, *shots.shape[1:])
    grids_gif([pictures.grid_png(f) for f in shots], path, duration_ms=WALK_FRAME_MS)
    return shots[0]


def write(images: np.ndarray, outdir: Path, cols: int | None = None) -> SampleResult:
    folder = JobFolder(Path(outdir))
    grid = folder.sample_grid
    pictures.grid_png(images, path=grid, cols=cols)
    files = pictures.save_images(images, folder.sample_images)
    return SampleResult(grid, files)


def sample_to(spec: TrainSpec, train_workdir: Path, outdir: Path, n: int, seed: int | None,
              fmt: str = "h5", expected_sha256: dict[str, str] | None = None, **options) -> SampleResult:
    key = f"{fmt}-generator"
    gen = load_generator(spec, JobFolder(Path(train_workdir)).export, fmt, (expected_sha256 or {}).get(key))
    return sample_from(spec, gen, outdir, n, seed, **options)


def sample_from(spec: TrainSpec, gen, outdir: Path, n: int, seed: int | None, *,
                truncation: float | None = None, interpolate: int | None = None,
                label: int | None = None, all_classes: bool = False) -> SampleResult:
    """Images (and, with `interpolate`, the latent walk GIF) from a loaded generator callable.
    Conditional jobs: n images of class `label` (0..K-1), or with `all_classes` a grid of one row
    per class, n columns, the same noise in each column; neither: uniformly drawn classes."""
    k = conditional.count(spec)
    if (label is not None or all_classes) and not k:
        raise ValueError("--class: this job is not class-conditional")
    if label is not None and not 0 <= label < k:
        raise ValueError(f"--class: label {label} out of range 0..{k - 1}")
    labels = None if label is None else np.full(n, label, np.int32)
    if all_classes:
        z, labels = conditional.rows(latent(spec, n, seed, truncation), k)
        return write(from_noise(spec, gen, z, labels=labels), outdir, cols=n)
    if interpolate is None:
        return write(generate(spec, gen, n, seed, truncation=truncation, labels=labels), outdir)
    if k and labels is None:
        labels = conditional.uniform_labels(spec, n, seed)
    gif = JobFolder(Path(outdir)).sample_walk
    res = write(write_walk(spec, gen, n, interpolate, seed, truncation, gif, labels), outdir)
    return SampleResult(res.grid, res.files, gif)


def checkpoint_generator(spec: TrainSpec, path: Path, expected_sha256: str | None):
    """A callable noise -> images from a training checkpoint (the EMA generator where the recipe
    has one), loaded only after its sha256 matches the store's."""
    actual = artifacts.digest(Path(path))[1]
    if expected_sha256 is None or actual != expected_sha256:
        raise artifacts.ArtifactError(f"checkpoint {path} fails its sha256 check against the store: expected "
                                      f"{(expected_sha256 or 'none')[:12]}…, found {actual[:12]}…")
    cache_key = ("checkpoint", str(path), actual, spec.precision)
    if cache_key not in _warm:
        import keras

        from ganctl.jobs import device
        from ganctl.jobs.checkpoints import Checkpoints
        from ganctl.jobs.gan import GAN

        keras.utils.set_random_seed(spec.seed)  # as train.build (which imports scoring, which imports this)
        with device.precision_scope(spec.precision) as resolved:
            gan = GAN(spec, resolved)
        epoch = int(Path(path).stem.rsplit("-", 1)[1])
        Checkpoints(Path(path).parent).restore(gan.state_variables(), epoch)
        _warm[cache_key] = tf_function(conditional.caller(gan.sampler, conditional.has_codes(spec)))
    return _warm[cache_key]
