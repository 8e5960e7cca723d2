"""The Fashion-MNIST reader on the real Debian files (apt package dataset-fashion-mnist)."""
import gzip
import shutil

import numpy as np
import pytest

from ganctl.jobs import data
from ganctl.jobs.config import get_settings


def test_splits_have_the_documented_sizes():
    train_x, train_y = data.load_split("train")
    test_x, _ = data.load_split("test")
    assert train_x.shape == (60_000, 28, 28) and train_y.shape == (60_000,)
    assert test_x.shape == (10_000, 28, 28)
    assert train_x.dtype == np.uint8 and 0 < train_x.mean() < 255


def test_trousers_of_all_70k_like_seed_002():
    subset = data.select("all", ["trouser"])
    assert subset.images.shape == (7_000, 28, 28, 1)
    assert set(subset.labels) == {1}
    assert "trouser" in subset.describe() and "(7000, 28, 28, 1)" in subset.describe()


def test_classes_by_name_or_index_and_limit():
    subset = data.select("test", ["bag", 9], limit=50)
    assert len(subset.images) == 50 and set(subset.labels) <= {8, 9}


@pytest.mark.parametrize("kwargs, message", [
    ({"classes": ["socks"]}, "unknown class 'socks'"),
    ({"limit": 0}, "limit must be at least 1"),
    ({"split": "valid"}, "unknown split"),
])
def test_bad_subsets_are_clear_errors(kwargs, message):
    with pytest.raises(data.DataError, match=message):
        data.select(**kwargs)


def test_scaling_per_generator_output():
    pixels = np.array([0, 255], np.uint8)
    assert data.scale(pixels, "sigmoid").tolist() == [0.0, 1.0]
    assert data.scale(pixels, "tanh").tolist() == [-1.0, 1.0]
    assert data.unscale(data.scale(pixels, "tanh"), "tanh").tolist() == [0, 255]


def test_pipeline_keeps_the_last_partial_batch():
    images = data.select("test", ["trouser"], limit=130).images
    batches = [b.shape[0] for b in data.pipeline(images, 64, seed=1, output="tanh")]
    assert batches == [64, 64, 2]
    first = next(iter(data.pipeline(images, 64, seed=1, output="tanh")))
    assert float(first.numpy().min()) >= -1.0 and float(first.numpy().max()) <= 1.0


def _copy_dataset(tmp_path):
    for f in data.DEBIAN_DIR.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_truncated_file_is_an_error_naming_it(tmp_path):
    folder = _copy_dataset(tmp_path)
    target = folder / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    target.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(data.DataError, match="t10k-images-idx3-ubyte.gz"):
        data.load_split("test", folder)


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "DEBIAN_DIR", tmp_path / "none")
    monkeypatch.setattr(data, "KERAS_CACHE", tmp_path / "none2")
    monkeypatch.setattr(data, "_download_or_fail", lambda: (_ for _ in ()).throw(data.DataError(data.HOW_TO_GET)))
    with pytest.raises(data.DataError, match="apt-get install dataset-fashion-mnist"):
        data.load_split("train", tmp_path / "empty")


def test_data_dir_variable_is_searched_first(tmp_path, monkeypatch):
    folder = _copy_dataset(tmp_path)
    monkeypatch.setenv("GANCTL_DATA_DIR", str(folder))
    get_settings.cache_clear()  # read through Settings, like every GANCTL_ variable
    try:
        assert data.find_data_dir() == folder
    finally:
        monkeypatch.delenv("GANCTL_DATA_DIR")
        get_settings.cache_clear()
