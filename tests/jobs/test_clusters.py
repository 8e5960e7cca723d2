"""Self-conditioning (`--clusters K`, jobs/clusters.py) on real Fashion-MNIST images: the clusters a
job trains on, what the networks gain, and training that resumes identically and exports a
generator of (noise, cluster). The CLI side: tests/cli/test_clusters_cli.py."""
from __future__ import annotations

import numpy as np
import pytest

from ganctl.jobs import archs, clusters, conditional, data, sample, train
from ganctl.jobs.spec import TrainSpec


def test_clusters_are_equal_sized_repeatable_and_follow_the_classes():
    subset = data.select("train", limit=2000)
    labels = clusters.balanced_kmeans(subset.images, 10, seed=0)
    assert np.bincount(labels).tolist() == [200] * 10  # so a uniform draw matches the data's shares
    # A resumed job recomputes them from the same images and seed (another process, another worker).
    assert np.array_equal(labels, clusters.balanced_kmeans(subset.images.copy(), 10, seed=0))
    assert not np.array_equal(labels, clusters.balanced_kmeans(subset.images, 10, seed=1))
    # No labels went in, yet a cluster is mostly one or two kinds of garment (chance: 0.10).
    purity = sum(np.bincount(subset.labels[labels == j]).max() for j in range(10)) / len(labels)
    assert purity > 0.4, purity
    # Uneven counts: the first n % k clusters take one more; 64x64 RGB images are block-averaged first.
    assert np.bincount(clusters.balanced_kmeans(subset.images[:23], 5, 0)).tolist() == [5, 5, 5, 4, 4]
    rgb = np.repeat(np.repeat(np.repeat(subset.images[:40], 2, 1), 2, 2), 3, 3)
    assert sorted(np.bincount(clusters.balanced_kmeans(rgb, 4, 0))) == [10] * 4


def test_a_self_conditioned_job_adds_the_conditional_embeddings_only():
    spec = TrainSpec.submitted(arch="dcgan", clusters=7)
    assert (spec.conditional, conditional.count(spec), spec.class_dims) == (False, 7, conditional.CLASS_DIMS)
    assert (spec.class_loss, spec.mode_seeking) == (conditional.CLASS_LOSS, conditional.MODE_SEEKING)
    info = archs.get("dcgan")
    gan, _ = train.build(spec, "fp32")
    assert gan.generator.count_params() == info.build_generator(info.noise_dim).count_params() + 7 * 10
    seed_d = info.build_discriminator(info.image_shape).count_params()
    assert gan.discriminator.count_params() == seed_d + 7 * 1024 + (1024 * 7 + 7)  # projection + class head
    assert conditional.describe(spec) == "7 clusters of its training images' pixels, drawn uniformly  class loss 1"


@pytest.mark.slow
def test_resume_continues_identically_and_samples_draw_the_clusters(tmp_path):
    spec = TrainSpec.submitted(arch="dcgan", clusters=3, limit=128, batch_size=64, epochs=2,
                               precision="fp32", eval_every=2, eval_n=50)
    seen = []
    train.run(spec, tmp_path / "straight", train.Hooks(on_epoch=seen.append))
    q = seen[1].quality
    assert q["fd"] > 0 and "per_class" not in q  # scored as an unconditional job: no classes asked for
    train.run(spec.model_copy(update={"epochs": 1}), tmp_path / "resumed")
    assert train.run(spec, tmp_path / "resumed").resumed_from == 1
    export = {w: tmp_path / w / "export" for w in ("straight", "resumed")}
    a, b = (sample.load_generator(spec, export[w], "h5") for w in export)
    z = np.random.default_rng(0).standard_normal((6, 100)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2], np.int32)
    np.testing.assert_allclose(np.asarray(a(z, y)), np.asarray(b(z, y)), atol=2e-3)  # the same clusters
    saved = sample.load_generator(spec, export["straight"], "savedmodel")
    np.testing.assert_allclose(np.asarray(a(z, y)), np.asarray(saved(z, y)), atol=1e-5)
    # A plain sample draws the clusters uniformly from its seed: as many images as asked for.
    res = sample.sample_to(spec, tmp_path / "straight", tmp_path / "out", 5, 1)
    assert len(res.files) == 5
