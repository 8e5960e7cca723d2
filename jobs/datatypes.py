"""The data layer's shared types: the DataError users see and the Subset a job trains on.

Their own module so that jobs/data.py (Fashion-MNIST) and jobs/folder.py (image folders) both
import them and neither imports the other at module level. No numpy, no TensorFlow at import.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganctl.jobs.labels import CLASS_NAMES

if TYPE_CHECKING:
    import numpy as np


class DataError(ValueError):
    """Missing, corrupt or empty data; the message is meant for the user as it stands."""


@dataclass(frozen=True)
class Subset:
    images: np.ndarray  # uint8 (n, h, w, c): (n, 28, 28, 1) for Fashion-MNIST
    labels: np.ndarray  # (n,) class indices; folders: into class_names, -1 for no class
    split: str          # Fashion-MNIST's split, or "folder"
    classes: tuple      # the chosen classes (indices, or sub-folder names); () = all
    # Folder datasets (jobs/folder.py): image files that could not be decoded (count, and the first
    # few relative paths), whether the decoded arrays came from the cache, the folder, class names.
    skipped: int = 0
    cache_hit: bool = False
    source: str = "fashion-mnist"
    class_names: tuple[str, ...] = ()
    skipped_files: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.split == "folder":
            names = ", ".join(self.class_names) if self.class_names else "no class sub-folders"
            extra = f", {self.skipped} unreadable skipped" if self.skipped else ""
            cache = ", from cache" if self.cache_hit else ""
            return f"folder {self.source} ({names}): images {self.images.shape}{extra}{cache}"
        names = ", ".join(CLASS_NAMES[c] for c in self.classes) if self.classes else "all classes"
        return f"{self.split} split, {names}: images {self.images.shape}, labels {self.labels.shape}"

    def summary(self) -> dict:
        """JSON-ready facts for the job's record: images, shape, skipped, cache_hit, source."""
        return {"source": self.source, "images": int(len(self.images)),
                "image_shape": [int(x) for x in self.images.shape[1:]], "skipped": int(self.skipped),
                "cache_hit": bool(self.cache_hit)}
