"""The generator's latent noise and the seeds it is drawn from, in one place (numpy only).

A job's grid, its evaluated images and its epochs' shuffles each have their own seed derived from
the job's seed, so every epoch shows the same latent points and a resumed run replays the same
order; `ganctl eval` and the training loop score the same noise (eval_seed).
"""
from __future__ import annotations

import numpy as np

from ganctl.jobs.spec import TrainSpec


def latent(spec: TrainSpec, n: int, seed: int | None) -> np.ndarray:
    """n latent vectors (n, noise_dim) float32 from `seed` (None: fresh entropy)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, spec.info.noise_dim)).astype(np.float32)


def fixed_noise(spec: TrainSpec) -> np.ndarray:
    """The grid's noise: one draw per job, so every epoch's grid shows the same latent points."""
    rng = np.random.default_rng([spec.seed, 0x6A1D])
    return rng.standard_normal((spec.grid_size, spec.info.noise_dim)).astype(np.float32)


def epoch_seed(spec: TrainSpec, epoch: int) -> int:
    """The input pipeline's shuffle seed for `epoch`."""
    return (spec.seed * 1_000_003 + epoch) % (2**31 - 1)


def eval_seed(spec: TrainSpec) -> int:
    """The noise seed of the images scored every eval_every epochs: the same latent points each time."""
    return (spec.seed * 1_000_003 + 0xE7A1) % (2**31 - 1)
