"""GAN quality from a classifier's feature space: FD, KID, precision/recall, density/coverage,
class histogram and a collapse alarm.

Inception FID needs weights we cannot download and suits 28x28 grayscale poorly, so (as TF-GAN
does for MNIST) every figure here is computed on the features of a small classifier trained on
Fashion-MNIST itself (`ganctl.jobs.quality.classifier`). numpy only: TensorFlow is never imported here;
`evaluate` receives the classifier object.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ganctl.jobs.jsonsafe import jsonable
from ganctl.jobs.labels import CLASS_NAMES

# ---------------------------------------------------------------------------------------------
# Collapse thresholds, from measurements in this repo's classifier's 128-d feature space, with
# 500-2,000 fakes against as many real test images (classes: trouser; trouser+dress; all ten):
#   held-out real test images:            coverage 0.96-0.97  recall 0.87-0.90  spread 0.20/0.29/0.42
#   real images blurred (5-point mean):   coverage 0.36-0.71  recall 0.06-0.30  spread 0.15-0.38
#   real images + N(0, 40) pixel noise:   coverage 0.05-0.18  recall 0.01-0.05  spread 0.24-0.42
#   10 real images repeated (+ tiny noise): coverage 0.03-0.13 recall 0.000     spread 0.19-0.43
#   1 real image repeated (+ N(0, 2)):    coverage 0.00-0.02  recall 0.000      spread 0.007-0.009
#   untrained dcgan / upsample generators: coverage 0.00      recall 0.000      spread 0.010-0.011
#   dcgan with its Dense kernel zeroed (output ignores the noise):                spread 0.000
# Healthy figures sit about 10x above each threshold (coverage 0.1 vs 0.97, recall 0.05 vs
# 0.87, spread 0.02 vs >= 0.2 even for one class), and the collapsed ones clearly below it. A
# generator that repeats a few images is caught by recall (~0), one that ignores its noise by the
# grid spread, one that covers almost nothing of the data by coverage. Blurry-but-diverse
# samples are not called collapsed (poor quality shows in FD/KID/precision instead); heavy pixel
# noise trips coverage/recall (its features leave the data manifold), and so do a young
# generator's speckled samples: the diversity gate below keeps those from being called collapse.
# Real-vs-real coverage depends on the sizes (0.40 for 200 fakes vs 2,000 reals), so the
# coverage threshold is scaled by `coverage_ceiling`.
#
# Sample diversity (median k=3 nearest-neighbour distance among fakes / the same among as many
# reals) separates "few modes" from "noisy but varied", which coverage and recall cannot: held-out
# real 1.00, blurred 0.76-0.78, real + N(0, 40) noise 0.93-1.37, a young dcgan (5 epochs of
# trousers, recognisable but speckled: coverage 0.10, recall 0) 0.61; 1 or 10 real images
# repeated 0.03-0.06, untrained generators 0.03-0.08, a collapsed upsample job 0.012. So coverage
# and recall count as collapse only when diversity is low too.
MIN_DIVERSITY = 0.25
MIN_COVERAGE = 0.1        # fraction of real points whose k-NN ball holds at least one fake
MIN_RECALL = 0.05         # fraction of reals inside the fakes' k-NN manifold
MIN_CLASS_FRACTION = 0.02  # a class counts as generated when >= 2% of the samples are classified so
MIN_GRID_SPREAD = 0.02    # mean pairwise RMS pixel distance ([0, 1] pixels) between grid images
GRID_FALLBACK = 16        # without grid images, the spread of the first 16 fakes (also fixed-seed)

_CHUNK = 1024  # rows per block of pairwise distances: 1024 x 10_000 float64 = 80 MB


# --------------------------------------------------------------------------------------- FD/KID
def _moments(feat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(feat, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"features must be (n >= 2, d), got {x.shape}")
    return x.mean(axis=0), np.cov(x, rowvar=False)


def _psd_sqrt(c: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(feat_a: np.ndarray, feat_b: np.ndarray) -> float:
    """|mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr sqrt(C_a C_b), the Frechet distance of Gaussians.

    tr sqrt(C_a C_b) = tr sqrt(S C_b S) with S = C_a^(1/2): S C_b S is symmetric PSD, so its
    eigenvalues come from a symmetric eigendecomposition (no non-symmetric sqrtm, whose complex
    round-off and `disp=False` failure mode are a known source of wrong FIDs). Negative round-off
    eigenvalues are clipped to zero; the result is clipped at 0.
    """
    mu_a, c_a = _moments(feat_a)
    mu_b, c_b = _moments(feat_b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature dimensions differ: {mu_a.shape} vs {mu_b.shape}")
    s = _psd_sqrt(c_a)
    m = s @ c_b @ s
    eig = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = mu_a - mu_b
    fd = float(diff @ diff + np.trace(c_a) + np.trace(c_b) - 2.0 * tr_sqrt)
    return max(fd, 0.0)


def kid(feat_a: np.ndarray, feat_b: np.ndarray, subsets: int = 10, subset_size: int | None = None,
        seed: int = 0) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018) on these features: (mean, std) over subsets.

    Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3 on `subsets`
    random subsets of min(1000, n_a, n_b) points of each set (fixed `seed`), drawn without
    replacement within a subset. Unbiased: it can be slightly negative for equal distributions.
    """
    a = np.asarray(feat_a, dtype=np.float64)
    b = np.asarray(feat_b, dtype=np.float64)
    d = a.shape[1]
    m = min(1000, len(a), len(b)) if subset_size is None else min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError("KID needs at least 2 points in each set")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        kxx = (x @ x.T / d + 1.0) ** 3
        kyy = (y @ y.T / d + 1.0) ** 3
        kxy = (x @ y.T / d + 1.0) ** 3
        mmd = ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
               + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
               - 2.0 * kxy.mean())
        out.append(mmd)
    return float(np.mean(out)), float(np.std(out))


# ------------------------------------------------------------------------------ k-NN manifolds
def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def _sq_dists(a: np.ndarray, b: np.ndarray, b_norms: np.ndarray) -> np.ndarray:
    d = _sq_norms(a)[:, None] + b_norms[None, :] - 2.0 * (a @ b.T)
    return np.maximum(d, 0.0, out=d)


def _knn_sq_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest *other* point (chunked)."""
    if len(x) <= k:
        raise ValueError(f"need more than k={k} points, got {len(x)}")
    norms = _sq_norms(x)
    out = np.empty(len(x))
    for i in range(0, len(x), _CHUNK):
        d = _sq_dists(x[i:i + _CHUNK], x, norms)
        # Index k, not k-1: each point's distance to itself (0) is the smallest.
        out[i:i + _CHUNK] = np.partition(d, k, axis=1)[:, k]
    return out


def _ball_counts(points: np.ndarray, centres: np.ndarray, sq_radii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point: how many centres' balls hold it; for each centre: how many points it holds."""
    norms = _sq_norms(centres)
    per_point = np.empty(len(points), dtype=np.int64)
    per_centre = np.zeros(len(centres), dtype=np.int64)
    for i in range(0, len(points), _CHUNK):
        inside = _sq_dists(points[i:i + _CHUNK], centres, norms) <= sq_radii[None, :]
        per_point[i:i + _CHUNK] = inside.sum(axis=1)
        per_centre += inside.sum(axis=0)
    return per_point, per_centre


def _f64(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019).

    Each set's manifold is the union of balls around its points with radius the distance to the
    k-th nearest neighbour in the same set. Precision: fraction of fakes inside the real
    manifold. Recall: fraction of reals inside the fake manifold.
    """
    real, fake = _f64(real), _f64(fake)
    in_real, _ = _ball_counts(fake, real, _knn_sq_radii(real, k))
    in_fake, _ = _ball_counts(real, fake, _knn_sq_radii(fake, k))
    return float((in_real > 0).mean()), float((in_fake > 0).mean())


def density_coverage(real: np.ndarray, fake: np.ndarray, k: int = 5) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020), on real k-NN balls only (robust to fake outliers).

    density = (1 / kM) sum_j #{real balls holding fake j} (about 1 for equal distributions;
    above 1 when fakes crowd dense real regions). coverage = fraction of real balls holding at
    least one fake (about 1 - 2^-k, 0.97 for k = 5, for equal distributions; ~0 for a collapsed one).
    """
    real, fake = _f64(real), _f64(fake)
    per_fake, per_real = _ball_counts(fake, real, _knn_sq_radii(real, k))
    return float(per_fake.sum() / (k * len(fake))), float((per_real > 0).mean())


def diversity(real: np.ndarray, fake: np.ndarray, k: int = 3, seed: int = 0) -> float:
    """Median distance from each fake to its k-th nearest other fake, over the same for reals, on
    equal-sized fixed-seed subsets (the distances shrink as sets grow). ~1 when the fakes are as
    varied as real images, ~0 when they repeat a few modes, whatever their fidelity."""
    real, fake = _f64(real), _f64(fake)
    m = min(len(real), len(fake))
    rng = np.random.default_rng(seed)
    fake = fake[rng.permutation(len(fake))[:m]]
    real = real[rng.permutation(len(real))[:m]]
    spread_real = float(np.median(np.sqrt(_knn_sq_radii(real, k))))
    if spread_real == 0.0:
        return float("nan")
    return float(np.median(np.sqrt(_knn_sq_radii(fake, k)))) / spread_real


# ------------------------------------------------------------------------------ classes / grid
def class_histogram(pred_classes: np.ndarray, classes: tuple[int, ...] = ()) -> dict[str, float]:
    """Fraction of samples predicted as each class, keyed by CLASS_NAMES: every class, in order.

    Classes outside `classes` are listed too (their fractions show off-subset samples).
    """
    pred = np.asarray(pred_classes).ravel().astype(np.int64)
    counts = np.bincount(pred, minlength=len(CLASS_NAMES))[: len(CLASS_NAMES)]
    total = max(len(pred), 1)
    return {name: float(counts[i] / total) for i, name in enumerate(CLASS_NAMES)}


def grid_spread(images: np.ndarray) -> float:
    """Mean pairwise RMS pixel distance (pixels scaled to [0, 1]) between images.

    A collapsed generator ignores its noise: its fixed-seed grid images are near-identical and
    this is ~0; distinct real Fashion-MNIST images are ~0.3-0.45 apart.
    """
    x = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if np.issubdtype(np.asarray(images).dtype, np.integer):
        x = x / 255.0
    n = len(x)
    if n < 2:
        return float("nan")
    d = np.sqrt(_sq_dists(x, x, _sq_norms(x)) / x.shape[1])
    return float(d[np.triu_indices(n, 1)].mean())


def coverage_ceiling(n_fake: int, n_real: int, k: int = 5) -> float:
    """Expected coverage of a perfect generator: 1 - exp(-k n_fake / n_real).

    Each real k-NN ball holds about k / n_real of the probability mass, so n_fake samples of the
    real distribution miss it with probability ~exp(-k n_fake / n_real). Measured real-vs-real:
    0.97 at n_fake = n_real, 0.40 for 200 fakes vs 2,000 reals (formula: 0.99 and 0.39).
    """
    return float(1.0 - math.exp(-k * n_fake / max(n_real, 1)))


def collapse_check(*, coverage: float, recall: float, class_histogram: dict[str, float] | None = None,
                   classes: tuple[int, ...] = (), grid_spread: float | None = None,
                   coverage_ceiling: float = 1.0, diversity: float | None = None) -> list[str]:
    """Reasons to believe the generator has collapsed; empty when none (thresholds: module top).

    coverage_ceiling: what a perfect generator would score at these sample sizes (see
    `coverage_ceiling`); the coverage threshold scales with it, so few fakes against many reals
    do not raise a false alarm. diversity: see `diversity`; when given, low coverage and recall
    are reasons only if the samples' diversity is low too (else they mean poor fidelity).
    """
    reasons = []
    measured = diversity is not None and math.isfinite(diversity)
    if measured and diversity < MIN_DIVERSITY:
        reasons.append(f"sample diversity {diversity:.3g} < {MIN_DIVERSITY}")
    if not measured or diversity < MIN_DIVERSITY:
        min_coverage = MIN_COVERAGE * min(max(coverage_ceiling, 0.0), 1.0)
        if coverage < min_coverage:
            reasons.append(f"coverage {coverage:.3g} < {min_coverage:.3g}")
        if recall < MIN_RECALL:
            reasons.append(f"recall {recall:.3g} < {MIN_RECALL}")
    wanted = tuple(classes) or tuple(range(len(CLASS_NAMES)))
    if class_histogram is not None and len(wanted) >= 2:
        made = sum(class_histogram.get(CLASS_NAMES[c], 0.0) >= MIN_CLASS_FRACTION for c in wanted)
        # Mode dropping: a single class out of several, or fewer than half of them.
        if made <= 1 or made < len(wanted) / 2:
            reasons.append(f"only {made} of {len(wanted)} classes generated "
                           f"(>= {MIN_CLASS_FRACTION:.0%} each)")
    if grid_spread is not None and math.isfinite(grid_spread) and grid_spread < MIN_GRID_SPREAD:
        reasons.append(f"fixed-seed grid spread {grid_spread:.3g} < {MIN_GRID_SPREAD}")
    return reasons


# ---------------------------------------------------------------------------------- evaluation
@dataclass(frozen=True)
class Quality:
    n: int                  # fake images evaluated
    n_real: int             # real reference images
    fd: float               # Frechet distance in classifier features, fd_n fakes vs fd_n reals
    fd_floor: float         # the same for two disjoint real sets of fd_n each: the best reachable
    fd_n: int
    kid: float
    kid_std: float
    precision: float
    recall: float
    density: float
    coverage: float
    class_histogram: dict[str, float]
    grid_spread: float | None
    diversity: float        # see `diversity`: ~1 as varied as real images, ~0 a few repeated modes
    collapse: bool
    collapse_reasons: list[str] = field(default_factory=list)
    classifier: str | None = None  # the version of the classifier the figures were measured with

    def to_dict(self) -> dict:
        return jsonable(self)


def class_figures(fakes: dict[int, np.ndarray], reals: dict[int, np.ndarray], classifier) -> dict:
    """A conditional generator's figures per requested class: `fakes[c]` are uint8 images asked for
    Fashion-MNIST class c, `reals[c]` real test images of c. Per class: accuracy (the fraction the
    classifier calls c: does "trouser" give trousers?) and FD against that class's real images
    (n fakes vs all the reals of it: compare like with like, its bias falls as 1/n). Returns
    {"per_class": {name: {"accuracy", "fd", "n"}}, "class_accuracy": the mean accuracy}."""
    per = {}
    for c, fake in fakes.items():
        fake = _as_images(fake)
        pred = np.asarray(classifier.predict_classes(fake)).ravel()
        fd = frechet_distance(classifier.features(fake), classifier.features(_as_images(reals[c])))
        per[CLASS_NAMES[c]] = {"accuracy": float(np.mean(pred == c)), "fd": fd, "n": int(len(fake))}
    return {"per_class": per, "class_accuracy": float(np.mean([v["accuracy"] for v in per.values()]))}


def _as_images(x: np.ndarray) -> np.ndarray:
    """uint8 images as the classifier's (n, 28, 28, 1); a 64x64 generator's (dcgan64 on
    Fashion-MNIST) are resized to 28x28 first, as its training images were made from 28x28 ones."""
    x = np.asarray(x)
    if x.dtype != np.uint8:
        raise ValueError(f"images must be uint8, got {x.dtype}")
    if x.ndim == 4 and x.shape[1] == x.shape[2] != 28 and x.shape[3] == 1:
        from ganctl.jobs.pictures import resized

        x = resized(x, 28)
    return x.reshape(len(x), 28, 28, 1)


def evaluate(fake_uint8: np.ndarray, real_uint8: np.ndarray, classifier, *, classes: tuple[int, ...] = (),
             grid_images: np.ndarray | None = None, seed: int = 0) -> Quality:
    """All quality figures of `fake_uint8` against `real_uint8` in `classifier`'s feature space.

    FD depends on the sample sizes (its bias falls as 1/n), so fd comes with fd_floor, the FD
    between two disjoint sets of real images of the same size: the figure a perfect generator
    would get. Both use fd_n = min(n_fake, n_real // 2) points per side and the same real half
    R_A: fd = FD(fakes, R_A), fd_floor = FD(R_B, R_A). With fewer than 2 x n_fake reals, fd_n
    is smaller than n_fake and the fakes for FD are a fixed-seed (`seed`) sample of fd_n of
    them; the halves are always a fixed-seed permutation of the reals. KID, precision/recall,
    density/coverage use all fakes against all reals.

    grid_images: the job's fixed-seed grid (any dtype with pixels in [0, 1] or uint8); without
    it, the spread of the first 16 fakes (themselves from one fixed seed) stands in.
    """
    fake, real = _as_images(fake_uint8), _as_images(real_uint8)
    if len(real) < 4 or len(fake) < 6:
        raise ValueError(f"too few images to evaluate: {len(fake)} fake, {len(real)} real")
    f_fake = classifier.features(fake)
    f_real = classifier.features(real)
    rng = np.random.default_rng(seed)
    m = min(len(fake), len(real) // 2)
    perm = rng.permutation(len(real))
    half_a, half_b = f_real[perm[:m]], f_real[perm[m:2 * m]]
    fake_fd = f_fake if m == len(fake) else f_fake[rng.choice(len(fake), m, replace=False)]
    fd = frechet_distance(fake_fd, half_a)
    fd_floor = frechet_distance(half_b, half_a)
    kid_mean, kid_std = kid(f_fake, f_real, seed=seed)
    precision, recall = precision_recall(f_real, f_fake, k=3)
    density, coverage = density_coverage(f_real, f_fake, k=5)
    hist = class_histogram(classifier.predict_classes(fake), classes)
    spread = grid_spread(fake[:GRID_FALLBACK] if grid_images is None else grid_images)
    varied = diversity(f_real, f_fake, k=3, seed=seed)
    reasons = collapse_check(coverage=coverage, recall=recall, class_histogram=hist,
                             classes=tuple(classes), grid_spread=spread,
                             coverage_ceiling=coverage_ceiling(len(fake), len(real), k=5), diversity=varied)
    return Quality(n=len(fake), n_real=len(real), fd=fd, fd_floor=fd_floor, fd_n=m,
                   kid=kid_mean, kid_std=kid_std, precision=precision, recall=recall,
                   density=density, coverage=coverage, class_histogram=hist,
                   grid_spread=spread, diversity=varied, collapse=bool(reasons), collapse_reasons=reasons,
                   classifier=getattr(classifier, "version", None) or None)

