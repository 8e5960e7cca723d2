"""Self-conditioning (`ganctl submit --clusters K`): an unconditional job's own pseudo-classes.

An unconditional generator draws some kinds of image far more often than others (dcgan's default
read 1.4-2.7x off uniform in the quality classifier, shirts fewest and pullovers most). Training it
as a conditional job on K clusters of its training images' pixels, with the clusters' codes drawn
uniformly, ties each share of the noise to a share of the data (Liu et al. 2020, "Diverse Image
Generation via Self-Conditioned GANs", cluster discriminator features; pixels here, so the
clusters are fixed before training and need no labels). The clusters are balanced (equal sizes),
so a uniform draw of codes, which the conditional path already makes, matches the data's shares.
`pixel_centres` gives the clusters' mean images: without cluster layers (`--no-cluster-layers`)
they, not a layer of D, judge which cluster a fake belongs to (jobs/conditional.py).

numpy only; float64 throughout, so that a resumed job (another process, another worker) recomputes
the same clusters from the same images and seed.
"""
from __future__ import annotations

import numpy as np

ITERATIONS = 15  # Lloyd steps; the assignment settles well before on Fashion-MNIST (60,000 images: ~15 s)
SIDE = 32        # larger images are block-averaged to about this side first (memory: n x side^2 x c)


def balanced_kmeans(images: np.ndarray, k: int, seed: int, iterations: int = ITERATIONS) -> np.ndarray:
    """Cluster labels 0..k-1 (int32) of `images` (n, ...), every cluster of size n // k or n // k + 1:
    k-means++ seeding, then Lloyd steps whose assignment takes (image, centre) pairs nearest first
    while the centre has room."""
    x = _pixels(images)
    n = len(x)
    if not 2 <= k <= n:
        raise ValueError(f"cannot make {k} clusters of {n} images")
    rng = np.random.default_rng([seed, 0xC1D5])
    centres = [x[rng.integers(n)]]
    nearest = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        centres.append(x[rng.choice(n, p=nearest / nearest.sum())])
        nearest = np.minimum(nearest, ((x - centres[-1]) ** 2).sum(1))
    centres = np.stack(centres)
    x_sq = (x ** 2).sum(1)[:, None]
    labels = np.zeros(n, np.int32)
    for _ in range(iterations):
        dist = x_sq - 2.0 * x @ centres.T + (centres ** 2).sum(1)[None]
        labels = _assign(dist, k)
        centres = np.stack([x[labels == j].mean(0) for j in range(k)])
    return labels


def _pixels(images: np.ndarray) -> np.ndarray:
    """(n, features) float64 in [0, 1]: images (n, h, w[, c]) block-averaged by h // SIDE."""
    x = np.asarray(images)
    f = max(1, x.shape[1] // SIDE)
    if f > 1:
        h, w = x.shape[1] // f * f, x.shape[2] // f * f
        x = x[:, :h, :w].reshape(len(x), h // f, f, w // f, f, -1).mean(axis=(2, 4))
    return x.reshape(len(x), -1).astype(np.float64) / 255.0


def _assign(dist: np.ndarray, k: int) -> np.ndarray:
    n = len(dist)
    room = np.full(k, n // k) + (np.arange(k) < n % k)
    labels = np.full(n, -1, np.int32)
    left = n
    for flat in np.argsort(dist, axis=None, kind="stable"):
        i, j = divmod(int(flat), k)
        if labels[i] < 0 and room[j]:
            labels[i], room[j], left = j, room[j] - 1, left - 1
            if not left:
                break
    return labels


CHUNK = 4096          # images at a time: 60,000 dcgan64 images would be 2 GB as one float64 array
TEMPERATURE_SAMPLE = 10_000


def pixel_centres(images: np.ndarray, labels: np.ndarray, k: int, lo: float, span: float,
                  seed: int) -> tuple[np.ndarray, float]:
    """The K clusters' mean images in the generator's output scale (lo + span * pixel / 255), as
    (k, h*w*c) float32, and the nearest-centre softmax's temperature: half the median gap, over up
    to TEMPERATURE_SAMPLE of the images, between their nearest and second-nearest centre's squared
    distance, so that real images score a moderate cross-entropy (about 0.4 at K = 20 on
    Fashion-MNIST) whatever the image size or pixel range."""
    n = len(images)
    sums = np.zeros((k, int(np.prod(images.shape[1:]))))
    for i in range(0, n, CHUNK):
        onehot = np.eye(k)[labels[i:i + CHUNK]]
        sums += onehot.T @ _scaled(images[i:i + CHUNK], lo, span)
    centres = sums / np.bincount(labels, minlength=k)[:, None]
    pick = np.sort(np.random.default_rng([seed, 0x7E3]).permutation(n)[:TEMPERATURE_SAMPLE])
    gaps = []
    for i in range(0, len(pick), CHUNK):
        x = _scaled(images[pick[i:i + CHUNK]], lo, span)
        d = np.sort((x ** 2).sum(1)[:, None] - 2.0 * x @ centres.T + (centres ** 2).sum(1)[None], 1)
        gaps.append(d[:, 1] - d[:, 0])
    # Identical images (a folder of one picture) would give 0: keep the softmax finite.
    return centres.astype(np.float32), max(float(np.median(np.concatenate(gaps)) / 2.0), 1e-6)


def _scaled(images: np.ndarray, lo: float, span: float) -> np.ndarray:
    # data.scale's mapping, but in float64 like the clustering: its float32 moved the centres by up
    # to 6e-8 and the temperature in the 7th digit, enough to change a measured run's trajectory.
    return lo + span * np.asarray(images).reshape(len(images), -1).astype(np.float64) / 255.0
