"""ganctl.jobs.quality.metrics on synthetic features with known answers (numpy only, fast)."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from ganctl.jobs.labels import CLASS_NAMES
from ganctl.jobs.quality import metrics

D = 16


@pytest.fixture(scope="module")
def gauss():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 2000, D))  # three independent draws of the same N(0, I)


def test_import_does_not_load_tensorflow():
    import subprocess

    code = "import sys, ganctl.jobs.quality.metrics; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fd_matches_closed_form_for_diagonal_covariances():
    # Construct sets whose sample moments are exactly the wanted ones: +-1 patterns along each axis.
    s1, s2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([3.0, 1.0, 0.0])
    signs = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=float)  # orthogonal columns
    n = len(signs)
    a = mu1 + signs * np.sqrt(s1 * (n - 1) / n)
    b = mu2 + signs[:, [1, 2, 0]] * np.sqrt(s2 * (n - 1) / n)
    assert np.allclose(np.cov(a, rowvar=False), np.diag(s1))
    assert np.allclose(np.cov(b, rowvar=False), np.diag(s2))
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_fd_matches_brute_force_on_a_full_covariance():
    # tr sqrt(A B) via the eigenvalues of A B (real, non-negative for PSD A, B): an independent route.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((200, 5)) @ rng.standard_normal((5, 5))
    b = rng.standard_normal((300, 5)) @ rng.standard_normal((5, 5)) + 0.5
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvals(ca @ cb).real, 0, None)).sum()
    ref = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(ca) + np.trace(cb) - 2 * tr_sqrt
    assert metrics.frechet_distance(a, b) == pytest.approx(ref, rel=1e-8)
    assert metrics.frechet_distance(a, b) == pytest.approx(metrics.frechet_distance(b, a), rel=1e-8)


def test_fd_same_distribution_is_small_and_a_shift_adds_its_square(gauss):
    a, b, _ = gauss
    same = metrics.frechet_distance(a, b)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    delta = np.zeros(D)
    delta[:4] = 1.0  # |delta|^2 = 4
    shifted = metrics.frechet_distance(a, b + delta)
    assert same < 0.1
    # A shift leaves the covariances alone: FD grows by exactly |delta|^2 + 2 (mu_b - mu_a).delta.
    assert shifted == pytest.approx(same + 4.0 + 2 * (b.mean(0) - a.mean(0)) @ delta, rel=1e-9)
    assert shifted == pytest.approx(4.0, abs=0.5)


def test_fd_survives_rank_deficient_features():
    rng = np.random.default_rng(2)
    a = np.zeros((500, 8))
    a[:, :3] = rng.standard_normal((500, 3))  # 5 dead (always-zero) features, like dead ReLUs
    b = a[::-1] + 0.0
    fd = metrics.frechet_distance(a, b)
    assert np.isfinite(fd) and fd < 1e-6


def test_kid_zero_for_same_distribution_positive_for_shift(gauss):
    a, b, _ = gauss
    same, same_std = metrics.kid(a, b, subsets=5, subset_size=500)
    shifted, _ = metrics.kid(a, b + 0.5, subsets=5, subset_size=500)
    assert abs(same) < 3 * same_std + 0.01
    assert shifted > 10 * max(abs(same), same_std)
    assert metrics.kid(a, b, subsets=3, seed=7) == metrics.kid(a, b, subsets=3, seed=7)


def test_perfect_fake_scores_near_one(gauss):
    real, fake, _ = gauss
    p, r = metrics.precision_recall(real, fake, k=3)
    d, c = metrics.density_coverage(real, fake, k=5)
    # k = 3 balls miss a little of a fresh sample's tails (~0.78 here in 16 dimensions).
    assert p > 0.7 and r > 0.7
    assert 0.8 < d < 1.2
    assert c > 0.9
    # The real set itself as the fake one: every point is inside its own ball.
    assert metrics.precision_recall(real, real, k=3) == (1.0, 1.0)
    assert metrics.density_coverage(real, real, k=5)[1] == 1.0


def test_collapsed_fake_has_no_recall_or_coverage(gauss):
    real = gauss[0]
    rng = np.random.default_rng(3)
    one_point = np.tile(real[0], (500, 1))
    tiny_cluster = real[0] + 1e-3 * rng.standard_normal((500, D))
    for fake in (one_point, tiny_cluster):
        p, r = metrics.precision_recall(real, fake, k=3)
        d, c = metrics.density_coverage(real, fake, k=5)
        assert r < 0.01 and c < 0.01
        assert p == 1.0  # every fake sits on a real point: precise, but covers nothing


def test_shifted_fake_loses_precision_and_coverage(gauss):
    real, fake, _ = gauss
    p, r = metrics.precision_recall(real, fake + 3.0, k=3)
    d, c = metrics.density_coverage(real, fake + 3.0, k=5)
    assert p < 0.1 and r < 0.1 and c < 0.1 and d < 0.1


def test_chunking_gives_the_same_answer(gauss, monkeypatch):
    real, fake = gauss[0][:700], gauss[1][:600]
    full = metrics.precision_recall(real, fake), metrics.density_coverage(real, fake)
    monkeypatch.setattr(metrics, "_CHUNK", 64)
    assert (metrics.precision_recall(real, fake), metrics.density_coverage(real, fake)) == full


def test_class_histogram_and_grid_spread():
    hist = metrics.class_histogram(np.array([1, 1, 1, 3]), (1, 3))
    assert hist["trouser"] == 0.75 and hist["dress"] == 0.25 and hist["bag"] == 0.0
    assert list(hist) == list(CLASS_NAMES)
    same = np.full((12, 28, 28, 1), 128, np.uint8)
    assert metrics.grid_spread(same) == 0.0
    halves = np.zeros((2, 28, 28, 1), np.uint8)
    halves[1] = 255
    assert metrics.grid_spread(halves) == pytest.approx(1.0)
    assert metrics.grid_spread(halves.astype(np.float32) / 255) == pytest.approx(1.0)


def test_collapse_check_reasons():
    healthy = dict(coverage=0.95, recall=0.7, grid_spread=0.35)
    assert metrics.collapse_check(**healthy) == []
    one_class = {n: 0.0 for n in CLASS_NAMES} | {"trouser": 0.99, "bag": 0.01}
    reasons = metrics.collapse_check(coverage=0.02, recall=0.01, class_histogram=one_class,
                                     classes=(), grid_spread=0.003)
    assert reasons == ["coverage 0.02 < 0.1", "recall 0.01 < 0.05",
                       "only 1 of 10 classes generated (>= 2% each)",
                       "fixed-seed grid spread 0.003 < 0.02"]
    # A single-class job has no class reason to give.
    assert metrics.collapse_check(**healthy, class_histogram=one_class, classes=(1,)) == []
    two = {n: 0.0 for n in CLASS_NAMES} | {"trouser": 0.5, "dress": 0.5}
    assert metrics.collapse_check(**healthy, class_histogram=two, classes=(1, 3)) == []
    assert metrics.collapse_check(**healthy, class_histogram=one_class, classes=(1, 3)) == [
        "only 1 of 2 classes generated (>= 2% each)"]


def test_diversity_tells_repeated_modes_from_noise(gauss):
    real, fake, _ = gauss
    rng = np.random.default_rng(4)
    assert 0.85 < metrics.diversity(real, fake) < 1.15  # the same distribution
    assert metrics.diversity(real, fake + 0.7 * rng.standard_normal(fake.shape)) > 0.85  # noisy, still varied
    ten_modes = np.repeat(real[:10], 200, axis=0) + 1e-3 * rng.standard_normal((2000, D))
    assert metrics.diversity(real, ten_modes) < 0.05


def test_low_coverage_and_recall_are_collapse_only_without_diversity():
    low = dict(coverage=0.03, recall=0.0, grid_spread=0.1)
    assert metrics.collapse_check(**low, diversity=0.6) == []  # varied but off the data: poor fidelity
    assert metrics.collapse_check(**low, diversity=0.05) == [
        "sample diversity 0.05 < 0.25", "coverage 0.03 < 0.1", "recall 0 < 0.05"]
    assert metrics.collapse_check(**low) == ["coverage 0.03 < 0.1", "recall 0 < 0.05"]  # not measured


class _PixelFeatures:
    """A stand-in classifier: features = 8x8-average-pooled pixels, class = brightness decile."""

    def features(self, images):
        x = images.reshape(len(images), 7, 4, 7, 4).mean(axis=(2, 4)) / 255.0
        return x.reshape(len(images), -1).astype(np.float64)

    def predict_classes(self, images):
        return np.minimum(images.reshape(len(images), -1).mean(axis=1) // 25.6, 9).astype(int)


def test_evaluate_and_quality_json():
    rng = np.random.default_rng(4)
    base = rng.integers(0, 256, (1, 28, 28, 1))
    real = np.clip(base + rng.normal(0, 60, (600, 28, 28, 1)), 0, 255).astype(np.uint8)
    fake = np.clip(base + rng.normal(0, 60, (200, 28, 28, 1)), 0, 255).astype(np.uint8)
    q = metrics.evaluate(fake, real, _PixelFeatures(), classes=(1,))
    assert q.n == 200 and q.n_real == 600 and q.fd_n == 200
    assert q.fd < 3 * q.fd_floor + 1e-3
    assert not q.collapse and q.collapse_reasons == []
    stuck = np.repeat(fake[:1], 200, axis=0)
    bad = metrics.evaluate(stuck, real, _PixelFeatures(), classes=(1,), grid_images=stuck[:12])
    assert bad.collapse and any("grid spread" in r for r in bad.collapse_reasons)
    assert bad.fd > 10 * bad.fd_floor
    d = bad.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["collapse"] is True and isinstance(d["class_histogram"], dict)
    # Fewer reals than 2n: FD uses n_real // 2 per side.
    assert metrics.evaluate(fake, real[:300], _PixelFeatures()).fd_n == 150


def test_coverage_threshold_scales_with_sample_sizes(gauss):
    real, fake, _ = gauss
    few = fake[:50]  # 50 perfect fakes cannot cover 2,000 real balls: ~1 - exp(-5 * 50 / 2000)
    _, c = metrics.density_coverage(real, few, k=5)
    ceiling = metrics.coverage_ceiling(len(few), len(real))
    assert ceiling == pytest.approx(1 - np.exp(-0.125))
    assert c < metrics.MIN_COVERAGE and c > 0.5 * ceiling
    assert metrics.collapse_check(coverage=c, recall=0.8, coverage_ceiling=ceiling) == []
    assert metrics.collapse_check(coverage=c, recall=0.8) == [f"coverage {c:.3g} < 0.1"]
