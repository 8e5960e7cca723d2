"""A folder of your own images as a dataset: `--dataset folder:PATH`.

- Images are the files under PATH, recursively, whose extension is .png, .jpg, .jpeg, .webp or
  .bmp (any case). Other files (notes.txt, .DS_Store) are not images and are ignored, not counted.
  Hidden files and folders (a name starting with ".") are ignored too.
- The first-level sub-folders are the classes: PATH/cats/a.png is class "cats", and so is
  PATH/cats/2024/b.jpg. Images directly in PATH belong to no class (label -1): they are used
  when no classes are chosen.
- Files are taken in sorted relative-path order; `limit` keeps the first N of them.
- Each image is decoded with Pillow (EXIF orientation applied, transparency composited on black),
  converted to grey (1 channel) or RGB (3), and made square: `crop` keeps the aspect by cutting the
  centre square, `pad` fits the whole picture and fills the borders with black.
- An image file that cannot be decoded (truncated, corrupt, not really an image) is skipped and
  counted in `Subset.skipped`, never fatal; only a folder with no readable image at all is an error.
- Decoding happens once: the uint8 arrays go into $GANCTL_CACHE_DIR/folders/<sha256>.npz (written to a
  temporary file, then renamed), keyed by the folder, every selected file's relative path, size and
  mtime, and the size/channels/resize options. A later job on the same unchanged files loads that
  file instead (`Subset.cache_hit`); changing, adding or removing an image makes a new key.
  Each host keeps its own cache; nothing evicts old entries (delete the folder to reclaim space).

`check` is the cheap test run at submit time (folder exists, holds an image, classes exist);
`load` is the worker's full decode.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganctl.jobs.datatypes import DataError, Subset
from ganctl.jobs.layout import remove_stale_temps, write_atomic_with

log = logging.getLogger(__name__)

EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
KINDS = "PNG, JPEG, WebP or BMP"
RESIZE_MODES = ("crop", "pad")
CACHE_VERSION = 1


@dataclass(frozen=True)
class Entry:
    rel: str        # relative path, "/"-separated
    size: int       # bytes
    mtime_ns: int
    label: int      # index into class_names; -1 for images directly in the folder


def is_image_name(name: str) -> bool:
    return not name.startswith(".") and name.lower().endswith(EXTENSIONS)


def default_cache_dir() -> Path:
    from ganctl.jobs.config import get_settings

    return get_settings().resolved_cache_dir / "folders"


def subfolders(root: Path) -> list[str]:
    """The class names: first-level sub-folders, hidden ones left out."""
    with os.scandir(root) as it:
        return sorted(e.name for e in it if not e.name.startswith(".") and e.is_dir())


def _walk(top: Path):
    """(dirpath, filenames) below top, sorted, hidden entries left out, symlinked folders followed once."""
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(top, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:  # a symlink loop, or the same folder linked twice
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        yield dirpath, sorted(f for f in filenames if is_image_name(f))


def _missing(root: Path, on_worker: bool) -> DataError:
    if on_worker:
        return DataError(f"dataset folder {root} not found on this worker (host {socket.gethostname()}): "
                         f"workers need the same path, e.g. a shared mount")
    return DataError(f"dataset folder {root} not found")


def _roots(root: Path, classes: tuple[str, ...], on_worker: bool) -> list[Path]:
    """The folders to search: root itself, or the chosen class sub-folders (each checked)."""
    if not root.exists():
        raise _missing(root, on_worker)
    if not root.is_dir():
        raise DataError(f"dataset {root} is not a folder")
    if not classes:
        return [root]
    names = subfolders(root)
    unknown = [c for c in classes if c not in names]
    if unknown:
        where = f" on this worker (host {socket.gethostname()})" if on_worker else ""
        listed = ", ".join(names[:20]) + (" …" if len(names) > 20 else "") if names else "none"
        raise DataError(f"unknown class {', '.join(map(repr, unknown))} in {root}{where}: classes are its "
                        f"sub-folders: {listed}")
    return [root / c for c in classes]


def _no_images(root: Path, classes: tuple[str, ...]) -> DataError:
    try:
        empty = not any(os.scandir(root))
    except OSError:
        empty = False
    if empty:
        return DataError(f"dataset folder {root} is empty")
    return DataError(f"dataset folder {root} has no images{_in_classes(classes)} ({KINDS} files, "
                     f"searched recursively)")


def _in_classes(classes: tuple[str, ...]) -> str:
    """' in classes a, b' for a message about the selected sub-folders; '' for the whole folder."""
    return f" in classes {', '.join(classes)}" if classes else ""


def check(root: Path | str, classes: tuple[str, ...] = (), *, on_worker: bool = False,
          at_least: int = 1, needed_by: str = "this job") -> None:
    """Submit-time test, cheap: the folder exists, the classes are sub-folders, and `at_least`
    image files are there (the walk stops once it has counted them)."""
    root, classes = Path(root), tuple(classes)
    found = 0
    for top in _roots(root, classes, on_worker):
        for _, files in _walk(top):
            found += len(files)
            if found >= at_least:
                return
    if not found:
        raise _no_images(root, classes)
    raise DataError(f"dataset folder {root} has {found} images{_in_classes(classes)}: {needed_by} needs "
                    f"at least {at_least}")


def scan(root: Path | str, classes: tuple[str, ...] = (), limit: int | None = None, *,
         on_worker: bool = False) -> tuple[list[Entry], tuple[str, ...]]:
    """The selected image files in sorted order, and the class names their labels index."""
    root, classes = Path(root), tuple(classes)
    found: list[tuple[str, int, int]] = []
    for top in _roots(root, classes, on_worker):
        for dirpath, files in _walk(top):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    st = os.stat(path)
                except OSError:  # a dangling symlink or a file removed meanwhile: decoding will skip it
                    st = None
                found.append((Path(path).relative_to(root).as_posix(),
                              st.st_size if st else -1, st.st_mtime_ns if st else -1))
    found.sort()
    if limit is not None:
        found = found[:limit]
    if not found:
        raise _no_images(root, classes)
    names = tuple(sorted({rel.split("/", 1)[0] for rel, _, _ in found if "/" in rel}))
    index = {n: i for i, n in enumerate(names)}
    entries = [Entry(rel, size, mtime, index[rel.split("/", 1)[0]] if "/" in rel else -1)
               for rel, size, mtime in found]
    return entries, names


def cache_key(root: Path, entries: list[Entry], size: int, channels: int, resize: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"version": CACHE_VERSION, "folder": str(root), "size": size,
                         "channels": channels, "resize": resize}, sort_keys=True).encode())
    for e in entries:
        h.update(f"\n{e.rel}\0{e.size}\0{e.mtime_ns}".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


# --------------------------------------------------------------------------- decoding


def _to_mode(im, channels: int):
    from PIL import Image

    if im.mode.startswith("I;16") or im.mode == "I":  # 16-bit grey: keep the top 8 bits
        arr = np.asarray(im).astype(np.int64)
        top = 65535 if im.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255
        im = Image.fromarray(np.clip(arr * 255 // top, 0, 255).astype(np.uint8), "L")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return im.convert("RGB" if channels == 3 else "L")


def decode(path: Path | str, size: int, channels: int, resize: str = "crop") -> np.ndarray:
    """One image file as uint8 (size, size, channels). Raises on unreadable or truncated files."""
    from PIL import Image, ImageOps

    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be crop or pad, not {resize!r}")
    lanczos = Image.Resampling.LANCZOS
    with Image.open(path) as im:
        im.draft("RGB" if channels == 3 else "L", (size, size))  # JPEG: decode at a smaller scale
        im.load()  # a truncated file fails here (Pillow never loads truncated images by default)
        im = _to_mode(ImageOps.exif_transpose(im), channels)
    w, h = im.size
    if resize == "crop":
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
        out = im.resize((size, size), lanczos, box=(left, top, left + side, top + side), reducing_gap=3.0)
    else:
        scale = size / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        out = Image.new(im.mode, (size, size), 0)
        out.paste(im.resize((nw, nh), lanczos, reducing_gap=3.0), ((size - nw) // 2, (size - nh) // 2))
    arr = np.asarray(out, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _try_decode(root: Path, rel: str, size: int, channels: int, resize: str) -> np.ndarray | None:
    try:
        return decode(root / rel, size, channels, resize)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped and counted, never fatal
        log.debug("skipping %s: %s", rel, exc)
        return None


def _decode_all(root: Path, entries: list[Entry], size: int, channels: int, resize: str):
    images = np.empty((len(entries), size, size, channels), np.uint8)
    ok = np.zeros(len(entries), bool)
    workers = max(1, min(8, os.cpu_count() or 1))
    # Pillow releases the GIL while decoding and resizing: threads decode in parallel.
    with ThreadPoolExecutor(workers, thread_name_prefix="decode") as pool:
        for i, arr in enumerate(pool.map(lambda e: _try_decode(root, e.rel, size, channels, resize),
                                         entries)):
            if arr is not None:
                images[i], ok[i] = arr, True
    labels = np.array([e.label for e in entries], np.int32)
    skipped = [e.rel for e, good in zip(entries, ok) if not good]
    return images[ok], labels[ok], skipped


# --------------------------------------------------------------------------- cache


def _read_cache(path: Path, size: int, channels: int):
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"]
            names, skipped = tuple(str(n) for n in z["class_names"]), [str(s) for s in z["skipped"]]
        if images.dtype != np.uint8 or images.shape[1:] != (size, size, channels) or len(labels) != len(images):
            raise ValueError(f"unexpected arrays {images.shape} {images.dtype}")
        return images, labels, names, skipped
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged cache file is rebuilt
        log.warning("ignoring unreadable folder cache %s: %s", path, exc)
        return None


def _write_cache(path: Path, images, labels, names, skipped) -> None:
    try:
        remove_stale_temps(path.parent)
        write_atomic_with(path, lambda tmp: np.savez(tmp, images=images, labels=labels,
                                                     class_names=np.array(names, dtype=str),
                                                     skipped=np.array(skipped, dtype=str)))
    except OSError as exc:  # a full or read-only disk costs the next job a decode, nothing more
        log.warning("could not write the folder cache %s: %s", path, exc)


def load(root: Path | str, size: int, channels: int, resize: str = "crop", classes: tuple[str, ...] = (),
         limit: int | None = None, *, cache_dir: Path | None = None) -> Subset:
    """Decode (or read from the cache) the selected images of a folder; run where training runs."""
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 or 3, not {channels}")
    if limit is not None and limit < 1:
        raise DataError(f"limit must be at least 1, got {limit}")
    root, classes = Path(root), tuple(classes)
    t0 = time.perf_counter()
    entries, names = scan(root, classes, limit, on_worker=True)
    key = cache_key(root, entries, size, channels, resize)
    path = Path(cache_dir or default_cache_dir()) / f"{key}.npz"
    cached = _read_cache(path, size, channels)
    if cached is not None:
        images, labels, names, skipped = cached
        log.info("folder cache hit: %d images of %s from %s in %.2f s (%d skipped when decoded)",
                 len(images), root, path, time.perf_counter() - t0, len(skipped))
    else:
        images, labels, skipped = _decode_all(root, entries, size, channels, resize)
        if len(images) == 0:
            raise DataError(f"none of the {len(entries)} images in {root} could be read "
                            f"(first: {entries[0].rel})")
        _write_cache(path, images, labels, names, skipped)
        log.info("folder %s: decoded %d images in %.1f s, %d skipped%s; cached at %s", root, len(images),
                 time.perf_counter() - t0, len(skipped), f" (e.g. {skipped[0]})" if skipped else "", path)
    return Subset(images, labels, "folder", classes, skipped=len(skipped), cache_hit=cached is not None,
                  source=str(root), class_names=tuple(names), skipped_files=tuple(skipped[:20]))
