"""Scoring a generator: its images against real test images of the job's classes, in the quality
classifier's feature space (Fashion-MNIST jobs only). The training loop scores its live generator
every eval_every epochs (`score_generator`); `ganctl eval` scores a job's exported generator, loaded
only after its sha256 matches (`score_export`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ganctl.jobs import data, sample
from ganctl.jobs.noise import fixed_noise
from ganctl.jobs.quality import classifier, metrics
from ganctl.jobs.spec import TrainSpec

PER_CLASS_MIN = 50  # images per class at least, for a per-class accuracy and FD


def real_reference(classes, n: int, seed: int = 0, data_dir: Path | None = None) -> np.ndarray:
    """n uint8 images (n, 28, 28, 1) of the real TEST split of `classes` (a tuple, or anything
    with a `.classes`, such as a TrainSpec), a fixed-seed sample without replacement; all of
    them when the subset holds fewer than n (e.g. 1,000 per class in the test split)."""
    classes = tuple(getattr(classes, "classes", classes) or ())
    subset = data.select("test", classes, data_dir=data_dir)
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(subset.images))[: min(n, len(subset.images))]
    return subset.images[np.sort(idx)]


def score_generator(spec: TrainSpec, generator, classifier, real: np.ndarray, grid_images: np.ndarray | None,
                    seed: int | None) -> dict:
    """metrics.evaluate on spec.eval_n images of `generator` (noise from `seed`) against `real`
    (uint8 test images of the job's classes), as Quality.to_dict()."""
    return _score(spec, generator, spec.eval_n, seed, classifier, real, grid_images)


def score_export(spec: TrainSpec, export_dir: Path, n: int, seed: int | None,
                 expected_sha256: str | None = None) -> dict:
    """metrics.Quality.to_dict() of n generated images (noise from `seed`); the collapse alarm also
    looks at the job's fixed-seed grid."""
    if spec.folder is not None:
        raise ValueError(f"quality metrics are for Fashion-MNIST jobs; this job trained on {spec.dataset}")
    return score_with(spec, sample.load_generator(spec, Path(export_dir), "h5", expected_sha256), n, seed)


def score_with(spec: TrainSpec, gen, n: int, seed: int | None) -> dict:
    """score_export's figures of a generator callable (a checkpoint's: `ganctl eval --epoch N`)."""
    from ganctl.jobs import conditional

    if conditional.has_codes(spec):  # the epoch grids' inputs (conditional.grid_inputs)
        z, y, _ = conditional.grid_inputs(spec, fixed_noise(spec))
        grid = sample.from_noise(spec, gen, z, labels=y)
    else:
        grid = data.unscale(np.asarray(gen(fixed_noise(spec))), spec.info.output)
    return _score(spec, gen, n, seed, classifier.get_classifier(), real_reference(spec.classes, 2 * n, seed=0), grid)


def _score(spec: TrainSpec, generator, n: int, seed: int | None, clf, real: np.ndarray,
           grid_images: np.ndarray | None) -> dict:
    fake = sample.generate(spec, generator, n, seed)  # a conditional job's: uniformly drawn classes
    q = metrics.evaluate(fake, real, clf, classes=tuple(spec.classes), grid_images=grid_images).to_dict()
    if spec.conditional:
        q |= per_class(spec, generator, n, seed, clf)
    return q


def per_class(spec: TrainSpec, generator, n: int, seed: int | None, clf) -> dict:
    """metrics.class_figures of a conditional job: max(n // K, PER_CLASS_MIN) images asked for each
    of its classes (the same noise for every class), against the real test images of that class."""
    from ganctl.jobs import conditional
    from ganctl.jobs.noise import latent

    classes = conditional.classes_of(spec)
    m = max(n // len(classes), PER_CLASS_MIN)
    z = latent(spec, m, None if seed is None else seed + 1)
    test = data.select("test", classes)
    fakes = {c: sample.from_noise(spec, generator, z, labels=np.full(m, k, np.int32))
             for k, c in enumerate(classes)}
    return metrics.class_figures(fakes, {c: test.images[test.labels == c] for c in classes}, clf)
