"""What a job trained on, as the user sees it: a folder job with one corrupt file through the queue
(real redis-server, a real `ganctl worker --cpu`, real TensorFlow), then `ganctl status` in text and
JSON shows the images used and "1 skipped" (recorded by the worker's training task)."""
from __future__ import annotations

import json
import re

import pytest

from ganctl_procs import ganctl, ganctl_env
from test_folder_job import PER_CLASS, write_pictures

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_status_shows_images_used_and_files_skipped(tmp_path, redis_url, ganctl_worker):
    home = tmp_path / "home"
    env = ganctl_env(home, GANCTL_BROKER_URL=redis_url)
    pictures = write_pictures(tmp_path / "pictures")  # 3 x PER_CLASS pictures and bag/broken.png
    worker = ganctl_worker(env, "--cpu", "--queues", "train")
    worker.wait_ready(("cpu-train",))
    job_id = ganctl(env, "submit", "--arch", "dcgan64", "--dataset", f"folder:{pictures}", "--image-size", "64",
                    "--channels", "3", "--epochs", "1", "--batch-size", "32").stdout.strip()
    watch = ganctl(env, "watch", job_id[:8], timeout=400, check=False)
    assert watch.returncode == 0, (watch.stdout[-2000:], watch.stderr[-2000:], worker.output()[-4000:])

    images = 3 * PER_CLASS
    text = ganctl(env, "status", job_id[:8]).stdout
    line = next((x for x in text.splitlines() if x.startswith("dataset")), None)
    assert line is not None and re.fullmatch(
        rf"dataset\s+folder:{re.escape(str(pictures))}  {images} images 64x64x3, 1 skipped", line), text
    d = json.loads(ganctl(env, "status", job_id, "--json").stdout)
    assert d["status"] == "completed"
    assert d["result"]["data"] == {"source": str(pictures), "images": images, "image_shape": [64, 64, 3],
                                   "skipped": 1, "cache_hit": False}
    assert worker.stop() == 0
