"""Self-conditioning (`--clusters K`, jobs/clusters.py) on real Fashion-MNIST images: the clusters a
job trains on, the networks with and without added layers, and training that resumes identically
and exports a generator of (noise, cluster). The CLI side: tests/cli/test_clusters_cli.py."""
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


def _trainable(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_a_self_conditioned_job_adds_layers_unless_asked_to_keep_the_seed_networks():
    spec = TrainSpec.submitted(arch="dcgan", clusters=7)
    assert (spec.conditional, conditional.count(spec), spec.class_dims) == (False, 7, conditional.CLASS_DIMS)
    assert (spec.class_loss, spec.mode_seeking) == (conditional.CLASS_LOSS, conditional.MODE_SEEKING)
    assert spec.cluster_layers is True
    info = archs.get("dcgan")
    seed_g, seed_d = info.build_generator(info.noise_dim), info.build_discriminator(info.image_shape)
    gan, _ = train.build(spec, "fp32")
    assert _trainable(gan.generator) == _trainable(seed_g) + 7 * 10  # learned codes
    assert gan.discriminator.count_params() == seed_d.count_params() + 7 * 1024 + (1024 * 7 + 7)  # projection + head
    assert conditional.describe(spec) == ("7 clusters of its training images' pixels, drawn uniformly; added "
                                          "layers (learned codes, projection, class head)  class loss 1")
    # The layers are what a stored --clusters spec without the field trained: they stay left out.
    assert "cluster_layers" not in spec.model_dump(mode="json")

    plain = TrainSpec.submitted(arch="dcgan", clusters=7, cluster_layers=False)
    gan, _ = train.build(plain, "fp32")
    # The cluster's code is a constant (7 x 10 fixed entries), D is the seed's: nothing added is trained.
    assert _trainable(gan.generator) == _trainable(seed_g)
    assert gan.generator.count_params() == seed_g.count_params() + 7 * 10
    assert gan.discriminator.count_params() == seed_d.count_params()
    assert conditional.describe(plain) == ("7 clusters of its training images' pixels, drawn uniformly; the seed's "
                                           "networks (fixed codes, pixel-centre class loss)  class loss 1")
    assert TrainSpec.model_validate(plain.model_dump(mode="json")).cluster_layers is False


@pytest.mark.slow
def test_the_fixed_codes_draw_their_clusters(tmp_path):
    """The seed's networks with --clusters 3: only the pixel-centre loss ties a code to its cluster,
    so after a short run most images of code c must lie nearest centre c (chance: a third)."""
    spec = TrainSpec.submitted(arch="dcgan", clusters=3, limit=300, batch_size=32, epochs=3, precision="fp32",
                               cluster_layers=False)
    train.run(spec, tmp_path)
    subset = data.select("train", limit=300)
    centres, _ = clusters.pixel_centres(subset.images, conditional.labels_for(spec, subset), 3, -1.0, 2.0, 0)
    g = sample.load_generator(spec, tmp_path / "export", "h5")
    z = np.random.default_rng(5).standard_normal((60, 100)).astype(np.float32)
    y = np.arange(60, dtype=np.int32) % 3
    x = np.asarray(g(z, y), np.float64).reshape(60, -1)
    nearest = ((x ** 2).sum(1)[:, None] - 2 * x @ centres.T + (centres.astype(np.float64) ** 2).sum(1)[None]).argmin(1)
    assert (nearest == y).mean() > 0.8, nearest


@pytest.mark.slow
@pytest.mark.parametrize("layers", [False, True], ids=["seed-networks", "cluster-layers"])
def test_resume_continues_identically_and_samples_draw_the_clusters(tmp_path, layers):
    spec = TrainSpec.submitted(arch="dcgan", clusters=3, limit=128, batch_size=64, epochs=2,
                               precision="fp32", eval_every=2, eval_n=50, cluster_layers=layers)
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
