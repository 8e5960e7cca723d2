"""`ganctl eval`: the quality figures of a training job's exported generator, loaded only after its
sha256 matches, against real test images of the job's classes (Fashion-MNIST jobs only)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .spec import TrainSpec


def score_export(spec: TrainSpec, export_dir: Path, n: int, seed: int | None,
                 expected_sha256: str | None = None) -> dict:
    """metrics.Quality.to_dict() of n generated images (noise from `seed`); the collapse alarm also
    looks at the job's fixed-seed grid."""
    from . import data, metrics, sample, train
    from .classifier import get_classifier

    if spec.folder is not None:
        raise ValueError(f"quality metrics are for Fashion-MNIST jobs; this job trained on {spec.dataset}")
    gen = sample.load_generator(spec, Path(export_dir), "h5", expected_sha256)
    grid = data.unscale(np.asarray(gen(train.fixed_noise(spec))), spec.info.output)
    fake = sample.generate(spec, gen, n, seed)
    real = metrics.real_reference(spec.classes, 2 * n, seed=0)
    return metrics.evaluate(fake, real, get_classifier(), classes=tuple(spec.classes),
                            grid_images=grid).to_dict()
