"""The generator's latent noise and the seeds it is drawn from, in one place (numpy only).

A job's grid, its evaluated images and its epochs' shuffles each have their own seed derived from
the job's seed, so every epoch shows the same latent points and a resumed run replays the same
order; `ganctl eval` and the training loop score the same noise (eval_seed).
"""
from __future__ import annotations

import numpy as np

from ganctl.jobs.spec import TrainSpec


def latent(spec: TrainSpec, n: int, seed: int | None, truncation: float | None = None) -> np.ndarray:
    """n latent vectors (n, noise_dim) float32 from `seed` (None: fresh entropy); with
    `truncation` psi, every entry with |z| > psi is redrawn until none is (BigGAN's truncation
    trick: fewer, more typical images for a smaller psi)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, spec.info.noise_dim))
    if truncation is not None:
        if not truncation > 0:
            raise ValueError(f"truncation must be > 0, got {truncation}")
        out = np.abs(z) > truncation
        while out.any():  # only the entries outside are redrawn: cheap even for a tiny psi
            z[out] = rng.standard_normal(int(out.sum()))
            out = np.abs(z) > truncation
    return z.astype(np.float32)


def walk(spec: TrainSpec, n: int, k: int, steps: int, seed: int | None,
         truncation: float | None = None) -> np.ndarray:
    """(k * steps, n, noise_dim) float32: n closed latent walks through k random points each,
    `steps` frames from one point to the next, spherically interpolated (Gaussian noise lives
    near a sphere; a straight line would pass through atypical, short vectors)."""
    points = latent(spec, k * n, seed, truncation).reshape(k, n, -1).astype(np.float64)
    frames = []
    for i in range(k):
        a, b = points[i], points[(i + 1) % k]
        cos = np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        omega = np.arccos(np.clip(cos, -1.0, 1.0))[:, None]
        for t in np.arange(steps) / steps:
            small = omega < 1e-6  # (nearly) the same direction: plain linear interpolation
            sin = np.where(small, 1.0, np.sin(omega))
            mix = np.where(small, (1 - t) * a + t * b,
                           (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / sin)
            frames.append(mix)
    return np.stack(frames).astype(np.float32)


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
