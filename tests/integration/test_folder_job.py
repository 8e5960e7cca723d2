"""A folder dataset through the queue: real redis-server, a real `ganctl worker --cpu`, the CLI as a
user runs it. dcgan64 on 64x64 colour pictures (real Fashion-MNIST images, tinted, PNG and JPEG in
class sub-folders, one truncated file), one epoch; colour grids and samples; the second job on the
same folder reads the decode cache."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from ganctl_procs import ganctl, ganctl_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PER_CLASS = 32  # 96 readable images


def write_pictures(root: Path) -> Path:
    from PIL import Image

    from ganctl.jobs import data

    test = data.select("test")
    for name, label, tint in (("trouser", 1, (1.0, 0.3, 0.3)), ("bag", 8, (0.3, 1.0, 0.3)),
                              ("sneaker", 7, (0.3, 0.3, 1.0))):
        (root / name).mkdir(parents=True)
        for i, img in enumerate(test.images[test.labels == label][:PER_CLASS, ..., 0]):
            big = np.asarray(Image.fromarray(img).resize((64, 64), Image.Resampling.BICUBIC), np.float32)
            rgb = Image.fromarray(np.clip(big[..., None] * np.array(tint), 0, 255).astype(np.uint8), "RGB")
            rgb.save(root / name / f"{i:03d}.{'jpg' if i % 4 == 3 else 'png'}")
    png = (root / "bag" / "000.png").read_bytes()
    (root / "bag" / "broken.png").write_bytes(png[: len(png) // 2])
    (root / "notes.txt").write_text("not a picture\n")
    return root


def _image(path_or_bytes):
    from PIL import Image

    src = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    im = Image.open(src)
    im.load()
    return im


def _run_job(env, worker, pictures: Path) -> str:
    job_id = ganctl(env, "submit", "--arch", "dcgan64", "--dataset", f"folder:{pictures}", "--image-size",
                    "64", "--channels", "3", "--epochs", "1", "--batch-size", "32").stdout.strip()
    watch = ganctl(env, "watch", job_id[:8], timeout=400, check=False)
    assert watch.returncode == 0, (watch.stdout[-2000:], watch.stderr[-2000:], worker.output()[-4000:])
    return job_id


def test_folder_dataset_through_the_queue(tmp_path, redis_url, ganctl_worker):
    from ganctl.jobs.store.repo import Store

    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_BROKER_URL=redis_url)
    pictures = write_pictures(tmp_path / "pictures")

    # Refused at submit, before anything is queued.
    bad = ganctl(env, "submit", "--arch", "dcgan", "--dataset", f"folder:{pictures}", "--image-size", "64",
                 check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "use --arch dcgan64" in bad.stderr
    missing = ganctl(env, "submit", "--arch", "dcgan64", "--dataset", f"folder:{tmp_path / 'nope'}",
                     check=False)
    assert missing.returncode == 2 and "not found" in missing.stderr

    worker = ganctl_worker(env)
    worker.wait_ready()
    first = _run_job(env, worker, pictures)
    with Store(f"sqlite:///{home / 'ganctl.db'}") as store:
        job = store.get_job(first)
        assert job.status == "completed" and job.spec["dataset"] == f"folder:{pictures}"
        grids = store.grids(first, with_png=True)
        assert [g.epoch for g in grids] == [1]
        im = _image(grids[0].png)
        assert im.mode == "RGB" and im.size == (4 * (64 * 4 + 2) + 2, 3 * (64 * 4 + 2) + 2)
    status = json.loads(ganctl(env, "status", first, "--json").stdout)
    assert status["status"] == "completed" and status["spec"]["image_size"] == 64
    # The worker decoded the folder once, skipping the truncated PNG (not notes.txt).
    assert re.search(r"decoded 96 images in .* 1 skipped \(e\.g\. bag/broken\.png\)", worker.output())
    assert len(list((home / "cache" / "folders").glob("*.npz"))) == 1

    out = ganctl(env, "sample", first[:8], "--n", "6", timeout=300).stdout
    grid = _image(Path(re.search(r"^grid\s+(\S+)$", out, re.M).group(1)))
    assert grid.mode == "RGB"
    pngs = sorted(Path(re.search(r"^images\s+(\S+)", out, re.M).group(1)).glob("*.png"))
    assert len(pngs) == 6 and _image(pngs[0]).mode == "RGB" and _image(pngs[0]).size == (64, 64)

    # A second job on the same folder reads the cache.
    _run_job(env, worker, pictures)
    assert "folder cache hit: 96 images" in worker.output()
    assert len(list((home / "cache" / "folders").glob("*.npz"))) == 1
    assert worker.stop() == 0
