"""`--dataset folder:PATH`: a folder of real Fashion-MNIST pictures written as 64x64 colour PNG and
JPEG files in class sub-folders, plus a truncated PNG (skipped and counted) and notes.txt (not an
image: ignored, not counted). Loading, classes, crop/pad, the decode cache, submit-time errors, and
dcgan64 trained for one epoch in-process and sampled in both formats."""
from __future__ import annotations

import os
import time

import numpy as np
import pydantic
import pytest
from PIL import Image

from ganctl.jobs import archs, data, folder
from ganctl.jobs.config import get_settings
from ganctl.jobs.spec import TrainSpec

CLASSES = {"trouser": 1, "bag": 8, "sneaker": 7}
PER_CLASS = 43  # 129 readable images
TINTS = {"trouser": (1.0, 0.3, 0.3), "bag": (0.3, 1.0, 0.3), "sneaker": (0.3, 0.3, 1.0)}


def write_picture_folder(root, per_class: int = PER_CLASS):
    """Real Fashion-MNIST test images, upscaled to 64x64 and tinted per class; every 4th a JPEG."""
    test = data.select("test")
    for name, label in CLASSES.items():
        (root / name).mkdir(parents=True)
        grey = test.images[test.labels == label][:per_class, ..., 0]
        for i, img in enumerate(grey):
            big = np.asarray(Image.fromarray(img).resize((64, 64), Image.Resampling.BICUBIC), np.float32)
            rgb = np.clip(big[..., None] * np.array(TINTS[name]), 0, 255).astype(np.uint8)
            ext = "jpg" if i % 4 == 3 else "png"
            Image.fromarray(rgb, "RGB").save(root / name / f"{i:03d}.{ext}")
    whole = (root / "bag" / "000.png").read_bytes()
    (root / "bag" / "broken.png").write_bytes(whole[: len(whole) // 2])  # truncated: skipped
    (root / "notes.txt").write_text("not a picture\n")                  # not an image: ignored
    return root


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    return write_picture_folder(tmp_path_factory.mktemp("pictures"))


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private GANCTL_HOME, so the decode cache starts empty."""
    monkeypatch.setenv("GANCTL_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_loading_gives_shapes_ranges_labels_and_one_skip(pictures, tmp_path):
    sub = folder.load(pictures, 64, 3, cache_dir=tmp_path)
    assert sub.images.shape == (3 * PER_CLASS, 64, 64, 3) and sub.images.dtype == np.uint8
    assert sub.skipped == 1 and sub.skipped_files == ("bag/broken.png",)
    assert sub.class_names == ("bag", "sneaker", "trouser") and not sub.cache_hit
    assert np.bincount(sub.labels).tolist() == [PER_CLASS] * 3
    assert 0 < sub.images.mean() < 255 and sub.images.max() > 200
    # Same size, crop of a square: the PNG comes back as written; the colour survives.
    written = np.asarray(Image.open(pictures / "trouser" / "000.png"))
    first_trouser = sub.images[sub.labels == 2][0].astype(int)
    assert np.abs(first_trouser - written).mean() < 1.0
    r, g, b = first_trouser.reshape(-1, 3).mean(0)
    assert r > 2 * g and r > 2 * b
    assert "1 unreadable skipped" in sub.describe()
    assert sub.summary()["skipped"] == 1 and sub.summary()["image_shape"] == [64, 64, 3]


def test_grey_and_smaller_sizes(pictures, tmp_path):
    sub = folder.load(pictures, 32, 1, classes=("sneaker",), limit=10, cache_dir=tmp_path)
    assert sub.images.shape == (10, 32, 32, 1) and set(sub.labels) == {0}
    assert sub.class_names == ("sneaker",) and sub.skipped == 0


def test_classes_by_sub_folder_name(pictures, home):
    spec = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", classes="trouser,bag",
                               image_size=64)
    assert spec.classes == ("bag", "trouser") and spec.image_shape == (64, 64, 3)
    assert TrainSpec.model_validate_json(spec.model_dump_json()) == spec
    sub = data.load_for(spec)
    assert len(sub.images) == 2 * PER_CLASS and sub.class_names == ("bag", "trouser")
    assert sub.skipped == 1  # bag/broken.png is in a chosen class


def test_conditional_given_as_text_is_parsed_before_the_folder_classes_are_listed(pictures, home):
    # A form sends "false"/"true": the folder's classes are listed only for a conditional job.
    plain = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64, conditional="false")
    assert not plain.conditional and plain.classes == ()
    both = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64, conditional="true")
    assert both.conditional and both.classes == tuple(folder.subfolders(pictures))
    # A blank --classes is no classes (every sub-folder), as for Fashion-MNIST; "," names none and is refused.
    blank = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64, conditional=True,
                                classes=" ")
    assert blank.classes == both.classes
    with pytest.raises(pydantic.ValidationError, match="no class names in ','"):
        TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64, conditional=True, classes=",")


def test_crop_keeps_the_centre_and_pad_keeps_everything(tmp_path):
    root = tmp_path / "wide"
    root.mkdir()
    img = np.full((60, 120, 3), (200, 100, 50), np.uint8)
    img[:, :20] = (0, 0, 255)  # a blue band at the left edge, outside the centre square
    Image.fromarray(img).save(root / "wide.png")
    crop = folder.decode(root / "wide.png", 32, 3, "crop")
    pad = folder.decode(root / "wide.png", 32, 3, "pad")
    assert crop.shape == pad.shape == (32, 32, 3)
    assert crop[..., 2].max() < 100 and crop.min() > 0          # no blue, no border
    assert pad[:6].max() == 0 and pad[-6:].max() == 0           # black bars above and below
    assert pad[16, :2, 2].min() > 200 and pad[16, -2:, 0].min() > 150  # blue left, orange right
    a = folder.load(root, 32, 3, "crop", cache_dir=tmp_path / "c")
    b = folder.load(root, 32, 3, "pad", cache_dir=tmp_path / "c")
    assert not b.cache_hit and not np.array_equal(a.images, b.images)


def test_the_second_load_is_a_cache_hit(pictures, home):
    spec = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64)
    t0 = time.perf_counter()
    first = data.load_for(spec)
    t1 = time.perf_counter()
    second = data.load_for(spec)
    t2 = time.perf_counter()
    assert not first.cache_hit and second.cache_hit
    assert np.array_equal(first.images, second.images) and np.array_equal(first.labels, second.labels)
    assert second.skipped == 1 and second.skipped_files == ("bag/broken.png",)
    assert t2 - t1 < t1 - t0
    cached = list((home / "cache" / "folders").iterdir())
    assert len(cached) == 1 and len(cached[0].stem) == 64 and cached[0].suffix == ".npz"
    # Another resize option is another key; so is a changed file.
    assert not data.load_for(spec.model_copy(update={"resize": "pad"})).cache_hit
    victim = pictures / "sneaker" / "000.png"
    st = victim.stat()
    try:
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert not data.load_for(spec).cache_hit
    finally:
        os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("make, fields, message", [
    (None, {}, "dataset folder .*/missing not found"),
    (lambda p: p.mkdir(), {}, "dataset folder .*/missing is empty"),
    (lambda p: (p.mkdir(), (p / "notes.txt").write_text("x")), {}, "has no images"),
    ("pictures", {"classes": "socks"}, "unknown class 'socks' in .*sub-folders: bag, sneaker, trouser"),
    ("pictures", {"arch": "dcgan"}, "arch dcgan makes 28x28 images only, not 64x64; use --arch dcgan64"),
    ("pictures", {"arch": "dcgan64", "image_size": 128}, "arch dcgan64 makes 64x64 images only"),
    ("pictures", {"split": "test"}, "--split picks Fashion-MNIST's files: a folder: dataset trains on all its images"),
])
def test_bad_inputs_are_clear_errors_at_submit(pictures, tmp_path, make, fields, message):
    path = tmp_path / "missing"
    if make == "pictures":
        path = pictures
    elif make is not None:
        make(path)
    fields = {"arch": "dcgan64", "image_size": 64, **fields}
    with pytest.raises(pydantic.ValidationError, match=message):
        TrainSpec.submitted(dataset=f"folder:{path}", **fields)


def test_fashion_mnist_takes_the_archs_sizes_and_refuses_colour():
    assert TrainSpec(arch="dcgan64").image_shape == (64, 64, 1)  # resized for it (test_train_quality.py)
    assert TrainSpec(arch="dcgan", image_size=28).image_shape == (28, 28, 1)
    with pytest.raises(pydantic.ValidationError, match="arch dcgan makes 28x28 images only, not 64x64; use --arch dcgan64"):
        TrainSpec(arch="dcgan", image_size=64)
    with pytest.raises(pydantic.ValidationError, match="Fashion-MNIST images are grey: --channels is for"):
        TrainSpec(arch="dcgan", channels=3)
    with pytest.raises(pydantic.ValidationError, match="unknown dataset"):
        TrainSpec(dataset="mnist")
    # --resize is a folder's option: refused for a new Fashion-MNIST job, but a stored one reads back.
    with pytest.raises(pydantic.ValidationError, match="--resize is for --dataset folder:PATH"):
        TrainSpec.submitted(arch="dcgan", resize="pad")
    assert TrainSpec.model_validate({"arch": "dcgan", "resize": "pad"}).resize == "pad"


def test_a_stored_spec_reads_back_anywhere_but_the_worker_needs_the_folder(tmp_path):
    stored = {"arch": "dcgan64", "dataset": f"folder:{tmp_path / 'elsewhere'}", "image_size": 64}
    spec = TrainSpec.model_validate(stored)  # sampling and status never touch the folder
    with pytest.raises(data.DataError, match="not found on this worker .*workers need the same path"):
        data.load_for(spec)


def test_arch_shapes_and_the_dcgan64_networks():
    assert archs.get("dcgan64").sizes == (64,) and archs.get("dcgan").sizes == (28,)
    info = archs.get("dcgan64")
    g, d = info.build_generator(info.noise_dim), info.build_discriminator(info.image_shape)
    assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)
    assert (g.count_params(), d.count_params()) == (3_578_627, 2_767_425)
    assert g.layers[-1].dtype_policy.name == d.layers[-1].dtype_policy.name == "float32"
    grey = TrainSpec(arch="dcgan", dataset="folder:/x", channels=1).info
    assert grey.build_generator(grey.noise_dim).output_shape == (None, 28, 28, 1)
    with pytest.raises(ValueError, match="arch upsample makes 28x28 images only, not 64x64"):
        archs.get("upsample").build_generator(128, (64, 64, 3))


@pytest.mark.slow
def test_dcgan64_trains_one_epoch_and_samples_in_colour(pictures, home, tmp_path):
    from ganctl.jobs import sample, train

    spec = TrainSpec.submitted(arch="dcgan64", dataset=f"folder:{pictures}", image_size=64, channels=3,
                               epochs=1, batch_size=64, precision="fp32")
    reports = []
    result = train.run(spec, tmp_path / "job", train.Hooks(on_epoch=reports.append))
    assert result.epochs_done == 1 and np.isfinite([result.d_loss, result.g_loss]).all()
    grid = Image.open(reports[0].grid_path)
    assert grid.mode == "RGB" and grid.size == (4 * (64 * 4 + 2) + 2, 3 * (64 * 4 + 2) + 2)
    for fmt in ("h5", "savedmodel"):
        out = sample.sample_to(spec, tmp_path / "job", tmp_path / fmt, n=5, seed=1, fmt=fmt)
        assert Image.open(out.grid).mode == "RGB" and len(out.files) == 5
        with Image.open(out.files[0]) as im:
            assert im.mode == "RGB" and im.size == (64, 64)
