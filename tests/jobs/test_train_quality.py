"""Training with --eval-every: quality figures in the epoch reports and in TensorBoard.

Real TensorFlow on 256 real trousers, 2 epochs; the classifier comes from the default cache
(trained there once, ~1.5 min on 2 cores, see tests/jobs/test_classifier.py, which also covers the
collapse alarm on collapsed generators)."""
import math

import pytest

from ganctl.jobs import train
from ganctl.jobs.spec import TrainSpec

pytestmark = pytest.mark.slow


def test_every_epoch_reports_its_quality(tmp_path):
    spec = TrainSpec(arch="dcgan", classes="trouser", limit=256, batch_size=64, epochs=2,
                     eval_every=1, eval_n=200)
    reports = []
    train.run(spec, tmp_path, train.Hooks(on_epoch=reports.append))
    assert [r.epoch for r in reports] == [1, 2]
    for r in reports:
        q = r.quality
        assert q is not None and q["n"] == 200 and q["n_real"] == 400 and q["fd_n"] == 200
        assert math.isfinite(q["fd"]) and math.isfinite(q["fd_floor"]) and 0 <= q["fd_floor"] < q["fd"]
        assert 0 <= q["precision"] <= 1 and 0 <= q["coverage"] <= 1 and isinstance(q["collapse"], bool)
        assert q["grid_spread"] is not None  # from the epoch's fixed-seed grid
    from ganctl.jobs.tensorboard import read_scalars

    scalars = read_scalars(tmp_path / "tensorboard")
    assert [step for step, _ in scalars["quality/fd"]] == [1, 2]
    assert scalars["quality/fd"][-1][1] == pytest.approx(reports[-1].quality["fd"], rel=1e-4)


def test_eval_epochs_and_folder_refusal():
    spec = TrainSpec(epochs=5, eval_every=2)
    assert [e for e in range(1, 6) if train.is_eval_epoch(spec, e)] == [2, 4, 5]
    assert not any(train.is_eval_epoch(TrainSpec(epochs=5), e) for e in range(1, 6))
    with pytest.raises(ValueError, match="quality metrics are for Fashion-MNIST jobs; this job trains on folder:"):
        TrainSpec(arch="dcgan64", dataset="folder:/nowhere", eval_every=1)


def test_dcgan64_trains_on_fashion_mnist_at_64x64_and_is_scored_at_28x28(tmp_path):
    """dcgan64 makes no 28x28 images: its Fashion-MNIST job trains on them resized to 64x64, and
    the quality classifier scores its samples resized back to 28x28."""
    import numpy as np

    from ganctl.jobs import data
    from ganctl.jobs.pictures import resized
    from ganctl.jobs.quality import metrics
    from ganctl.jobs.quality.classifier import get_classifier

    spec = TrainSpec(arch="dcgan64", classes="trouser,bag", limit=96, batch_size=32, epochs=1,
                     eval_every=1, eval_n=100)
    assert spec.image_shape == (64, 64, 1) and data.load_for(spec).images.shape == (96, 64, 64, 1)
    reports = []
    train.run(spec, tmp_path, train.Hooks(on_epoch=reports.append))
    q = reports[0].quality
    assert math.isfinite(q["fd"]) and 0 <= q["fd_floor"] < q["fd"] and q["n"] == 100
    from ganctl.jobs.sample import load_generator

    gen = load_generator(spec, tmp_path / "export", "h5")
    assert np.asarray(gen(np.zeros((2, spec.info.noise_dim), np.float32))).shape == (2, 64, 64, 1)

    # Real test images taken to 64x64 and scored as the job's samples are: still what they were.
    real = data.select("test", (1, 8))
    big = resized(real.images[:400], 64)
    clf = get_classifier()
    assert np.mean(clf.predict_classes(metrics._as_images(big)) == real.labels[:400]) > 0.9
    scored = metrics.evaluate(big[:200], real.images[400:], clf)
    assert scored.fd < 5 * scored.fd_floor + 1.0, (scored.fd, scored.fd_floor)
