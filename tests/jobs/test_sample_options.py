"""`ganctl sample --truncation PSI` and `--interpolate K` on a real, briefly trained generator
(256 real trousers, one epoch), and the noise they are drawn from."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageSequence

from ganctl.jobs import noise, sample, train
from ganctl.jobs.spec import TrainSpec


def test_truncation_redraws_only_the_entries_outside_psi():
    spec = TrainSpec(arch="dcgan", classes="trouser")
    plain, cut = noise.latent(spec, 500, 3), noise.latent(spec, 500, 3, truncation=0.5)
    assert np.abs(cut).max() <= 0.5 and np.abs(plain).max() > 2
    inside = np.abs(plain) <= 0.5
    np.testing.assert_array_equal(cut[inside], plain[inside])  # the same draw, the tails redrawn
    assert (cut[~inside] != plain[~inside]).all()
    with pytest.raises(ValueError, match="truncation"):
        noise.latent(spec, 2, 0, truncation=0.0)


def test_walk_is_a_closed_loop_of_small_steps():
    spec = TrainSpec(arch="dcgan", classes="trouser")
    w = noise.walk(spec, n=5, k=3, steps=12, seed=1)
    assert w.shape == (36, 5, spec.info.noise_dim)
    np.testing.assert_allclose(w[0], noise.latent(spec, 15, 1).reshape(3, 5, -1)[0], rtol=1e-5)
    step = np.linalg.norm(np.diff(w, axis=0, append=w[:1]), axis=2)  # includes last -> first
    jump = np.linalg.norm(w[0] - w[12], axis=1)
    assert step.max() < 0.5 * jump.min()


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    spec = TrainSpec(arch="upsample", classes="trouser", limit=256, batch_size=64, epochs=1)
    workdir = tmp_path_factory.mktemp("job")
    train.run(spec, workdir, train.Hooks())
    return spec, workdir, None


@pytest.mark.slow
class TestOnATrainedJob:

    def test_smaller_psi_gives_less_varied_images(self, job, tmp_path):
        spec, workdir, _ = job
        spread = {}
        for psi in (None, 1.0, 0.05):
            res = sample.sample_to(spec, workdir, tmp_path / str(psi), n=64, seed=4, truncation=psi)
            assert len(res.files) == 64 and res.walk is None
            images = np.stack([np.asarray(Image.open(f)) for f in res.files]).astype(np.float64)
            spread[psi] = images.std(axis=0).mean()
        assert spread[0.05] < 0.5 * spread[None] and spread[1.0] < spread[None]

    def test_interpolate_writes_a_looping_walk(self, job, tmp_path):
        spec, workdir, _ = job
        res = sample.sample_to(spec, workdir, tmp_path, n=6, seed=2, interpolate=3)
        assert res.walk == tmp_path / "walk.gif" and len(res.files) == 6
        gif = Image.open(io.BytesIO(res.walk.read_bytes()))
        frames = [np.asarray(f.convert("L"), np.float64) for f in ImageSequence.Iterator(gif)]
        assert len(frames) == 3 * sample.WALK_STEPS and gif.info.get("loop") == 0
        grid = np.asarray(Image.open(res.grid).convert("L"), np.float64)
        assert frames[0].shape == grid.shape
        np.testing.assert_array_equal(frames[0], grid)  # the grid shows the walk's first points
        steps = [np.abs(frames[i] - frames[(i + 1) % len(frames)]).mean() for i in range(len(frames))]
        assert max(steps) < np.abs(frames[0] - frames[sample.WALK_STEPS]).mean()
