"""Conditional networks on real images: what the embeddings add, checkpoint + resume (EMA and mode
seeking included) continue identically, the export takes (noise, class), and a folder dataset
trains per class."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ganctl.jobs import archs, conditional, data, sample, train
from ganctl.jobs.spec import TrainSpec


def test_the_embeddings_are_the_only_added_parameters():
    spec = TrainSpec.submitted(arch="dcgan", classes="trouser,bag,sneaker", conditional=True, recipe="modern")
    info = archs.get("dcgan")
    gan, _ = train.build(spec, "fp32")
    seed_g = info.build_generator(info.noise_dim).count_params()
    # A new job's class code takes the noise's last CLASS_DIMS entries: 3 x 10 added to G.
    assert spec.class_dims == conditional.CLASS_DIMS == 10
    assert gan.generator.count_params() == gan.ema_generator.count_params() == seed_g + 3 * 10
    # A job stored before class_dims existed builds as it trained: the code added to all 100 entries.
    old = TrainSpec.model_validate({k: v for k, v in spec.model_dump().items() if k != "class_dims"})
    assert old.class_dims == 0
    assert train.build(old, "fp32")[0].generator.count_params() == seed_g + 3 * info.noise_dim
    assert sample.untrained_generator(old).count_params() == seed_g + 3 * info.noise_dim
    # Spectral norm wraps the seed D's Conv2D/Dense layers, not the projection embedding (3 x 1024).
    names = [type(layer).__name__ for layer in gan.discriminator.layers]
    assert names.count("SpectralNormalization") == 4 and names.count("Embedding") == 1
    emb = next(layer for layer in gan.discriminator.layers if type(layer).__name__ == "Embedding")
    assert emb.embeddings.shape == (3, 1024)
    # The class loss (a new job's default) adds a Dense(K) head on the same 1024 features, and nothing else.
    assert spec.class_loss == conditional.CLASS_LOSS == 1
    projection_only = train.build(spec.model_copy(update={"class_loss": 0.0}), "fp32")[0].discriminator
    assert gan.discriminator.get_layer("class_head").kernel.shape == (1024, 3)
    assert gan.discriminator.count_params() == projection_only.count_params() + 1024 * 3 + 3


def _h5_arrays(spec, path):
    g = sample.untrained_generator(spec)
    g.load_weights(path)
    return g.get_weights()


@pytest.mark.slow
def test_resume_continues_identically_and_exports_two_inputs(tmp_path):
    spec = TrainSpec(arch="dcgan", classes="trouser,bag", conditional=True, class_dims=conditional.CLASS_DIMS,
                     class_loss=1.0, mode_seeking=0.3, limit=128, batch_size=64, epochs=2,
                     precision="fp32", ema=0.9, eval_every=2, eval_n=50)
    seen = []
    train.run(spec, tmp_path / "straight", train.Hooks(on_epoch=seen.append))
    # --eval-every: the per-class figures, 50 images asked for each class
    assert seen[0].quality is None and set(seen[1].quality["per_class"]) == {"trouser", "bag"}
    assert {v["n"] for v in seen[1].quality["per_class"].values()} == {50}
    train.run(spec.model_copy(update={"epochs": 1}), tmp_path / "resumed")
    assert train.run(spec, tmp_path / "resumed").resumed_from == 1
    for name in ("generator.h5", "generator_raw.h5"):  # the class head's weights resume too: same G
        a, b = (_h5_arrays(spec, tmp_path / w / "export" / name) for w in ("straight", "resumed"))
        assert len(a) == len(b) > 0
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, rtol=1e-3, atol=2e-4)
    export = tmp_path / "straight" / "export"
    assert {"h5-generator", "savedmodel-generator"} <= set(json.loads((export / "manifest.json").read_text()))
    z = np.random.default_rng(0).standard_normal((4, 100)).astype(np.float32)
    y = np.array([0, 1, 0, 1], np.int32)
    h5, saved = (sample.load_generator(spec, export, fmt) for fmt in ("h5", "savedmodel"))
    np.testing.assert_allclose(np.asarray(h5(z, y)), np.asarray(saved(z, y)), atol=1e-5)
    assert not np.allclose(np.asarray(h5(z, y)), np.asarray(h5(z, 1 - y)))  # the class matters
    # The exported discriminator scores (images, class) and gives the class head's logits beside.
    import keras

    score, logits = keras.models.load_model(export / "discriminator.h5")([np.asarray(h5(z, y)), y])
    assert score.shape == (4, 1) and logits.shape == (4, 2)


@pytest.mark.slow
def test_a_folder_dataset_trains_and_samples_per_class(tmp_path):
    from PIL import Image

    test = data.select("test")
    root = tmp_path / "pictures"
    for name, label in (("boots", 9), ("trousers", 1)):
        (root / name).mkdir(parents=True)
        for i, img in enumerate(test.images[test.labels == label][:32, ..., 0]):
            Image.fromarray(img).save(root / name / f"{i:02d}.png")
    spec = TrainSpec.submitted(arch="dcgan", dataset=f"folder:{root}", image_size=28, channels=1,
                               conditional=True, epochs=1, batch_size=16)
    assert spec.classes == ("boots", "trousers") and conditional.describe(spec) == \
        "2 classes: 0 boots, 1 trousers  class loss 1"
    train.run(spec, tmp_path / "job")
    for name in ("boots", "trousers"):
        res = sample.sample_to(spec, tmp_path / "job", tmp_path / name, 3, 1, label=conditional.pick(spec, name))
        assert len(res.files) == 3
    res = sample.sample_to(spec, tmp_path / "job", tmp_path / "all", 3, 1, all_classes=True)
    assert Image.open(res.grid).size == (3 * 114 + 2, 2 * 114 + 2)
