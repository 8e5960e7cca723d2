"""A job's folder and what lives in it, and the one atomic writer every file of ganctl goes through.

    <artifacts root>/<job id>/            job_dir(): a canonical UUID, resolved directly under the root
        grids/epoch_0001.png ...          training: the fixed-seed grid of each epoch
        checkpoints/ckpt-000005.npz ...   training: the last few checkpoints
        export/                           training: .h5, SavedModel folders, manifest.json
        tensorboard/                      training: the event files (one run per job)
        report.html, losses.png, grids.gif   what `ganctl report / plot / grids` write by default
        grid.png, images/sample_0000.png  a sample job: its grid and one PNG per image
        walk.gif                          a sample job with --interpolate: the latent walk

Atomic writes: the data goes to a temporary sibling with a unique name (host, pid, a per-process
token and a random part), is flushed and fsynced, renamed over the target with os.replace,
and the folder is fsynced, so readers see the old file or the new one, never a mix, and two writers
of one target each rename a whole file of their own (the last rename wins). A write that raises
removes its temporary file. A process killed mid-write leaves its temporary sibling behind:
`remove_stale_temps` deletes those whose writer (same host) is gone.

Standard library only: the CLI imports this module.
"""
from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

__all__ = ["BadJobId", "valid_job_id", "job_dir", "JobFolder", "write_atomic", "write_atomic_with",
           "write_dir_atomic", "fsync_dir", "temps_of", "remove_stale_temps"]


class BadJobId(ValueError):
    pass


def valid_job_id(job_id) -> str:
    """The id if it is a canonical (lower-case, hyphenated) UUID string, else BadJobId."""
    if not isinstance(job_id, str) or len(job_id) != 36:
        raise BadJobId(f"invalid job id {str(job_id)[:80]!r}: not a UUID")
    try:
        canonical = str(uuid.UUID(job_id))
    except ValueError:
        raise BadJobId(f"invalid job id {job_id[:80]!r}: not a UUID") from None
    if canonical != job_id:
        raise BadJobId(f"invalid job id {job_id[:80]!r}: not a canonical UUID")
    return job_id


def job_dir(root: Path | str, job_id: str) -> Path:
    """<root>/<job id>, only for a valid id whose folder, symlinks resolved, is directly under
    the (resolved) root; returned as <root>/<job id>, so recorded paths keep the root's spelling."""
    valid_job_id(job_id)
    path = Path(root) / job_id
    real_root, real = Path(root).resolve(), path.resolve()
    if real.parent != real_root:
        raise BadJobId(f"job folder {path} resolves to {real}, outside the artifacts root {real_root}")
    return path


@dataclass(frozen=True)
class JobFolder:
    """The paths inside one job's folder (see the module doc); nothing is created here."""

    root: Path

    @classmethod
    def of(cls, artifacts_root: Path | str, job_id: str) -> "JobFolder":
        return cls(job_dir(artifacts_root, job_id))

    @property
    def grids(self) -> Path:
        return self.root / "grids"

    def grid(self, epoch: int) -> Path:
        return self.grids / f"epoch_{epoch:04d}.png"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def export(self) -> Path:
        return self.root / "export"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def report(self) -> Path:
        return self.root / "report.html"

    @property
    def loss_plot(self) -> Path:
        return self.root / "losses.png"

    @property
    def grids_gif(self) -> Path:
        return self.root / "grids.gif"

    @property
    def sample_grid(self) -> Path:
        return self.root / "grid.png"

    @property
    def sample_images(self) -> Path:
        return self.root / "images"

    @property
    def sample_walk(self) -> Path:
        return self.root / "walk.gif"


# --------------------------------------------------------------------------- atomic writes

_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", os.uname().nodename)[:40] or "host"  # = socket.gethostname()
_TOKEN = uuid.uuid4().hex[:8]  # tells this process from an earlier one that had the same pid
_TEMP = re.compile(r"^\.(?P<target>.+)\.(?P<host>[A-Za-z0-9_-]+)-(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\."
                   r"[^.]+\.tmp(\.[^/]*)?$")
FOREIGN_TEMP_AGE_S = 24 * 3600  # another host's temporary file this old is an abandoned one


def _temp_name(path: Path) -> Path:
    # The target's own suffixes come last: np.savez appends ".npz" and Keras wants ".weights.h5".
    return path.with_name(f".{path.name}.{_HOST}-{os.getpid()}-{_TOKEN}.{uuid.uuid4().hex[:12]}.tmp"
                          + "".join(path.suffixes[-2:]))


def _new_temp_file(path: Path) -> Path:
    # Not tempfile.mkstemp: its 0600 would make artifacts unreadable to the CLI's or other workers'
    # users; O_EXCL with 0666 gives what a plain open() gives (the umask applies).
    tmp = _temp_name(path)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return tmp


def _new_temp_dir(path: Path) -> Path:
    tmp = _temp_name(path)
    tmp.mkdir(0o777)  # not tempfile.mkdtemp's 0700, for the same reason
    return tmp


def fsync_dir(folder: Path | str) -> None:
    """Make the names in `folder` (a rename, a new file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_atomic_with(path: Path | str, write: Callable[[Path], object], *, sync_dir: bool = True) -> Path:
    """Atomically make `path` whatever `write(temporary_path)` writes there (see the module doc);
    creates the parent folder. `sync_dir=False` leaves the folder's fsync to a caller that writes
    many files into it and syncs it once."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_file(path)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)
    return path


def write_atomic(path: Path | str, data: bytes, *, sync_dir: bool = True) -> Path:
    """Atomically make `path` hold `data` (write_atomic_with of a bytes value)."""
    return write_atomic_with(path, lambda tmp: tmp.write_bytes(data), sync_dir=sync_dir)


def write_dir_atomic(path: Path | str, write: Callable[[Path], object]) -> Path:
    """A folder made whole or not at all: `write(temporary_folder)` fills a unique temporary
    sibling, every file and folder in it is fsynced, then it is renamed into place. An existing
    folder is first renamed aside and removed after, so readers see the old folder or the new one
    (or, for an instant between the two renames, none), never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    tmp = _new_temp_dir(path)
    old = None
    try:
        write(tmp)
        for sub in sorted(tmp.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if sub.is_dir():
                fsync_dir(sub)
            else:
                _fsync_file(sub)
        fsync_dir(tmp)
        if path.exists():
            old = _new_temp_dir(path)
            os.replace(path, old)  # onto the empty folder just made: atomic, and the name is ours
        os.replace(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.replace(old, path)  # put the previous folder back
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    fsync_dir(path.parent)
    return path


def temps_of(path: Path | str) -> list[Path]:
    """The temporary siblings of `path` that writers have (or had) open."""
    path = Path(path)
    if not path.parent.is_dir():
        return []
    return sorted(p for p in path.parent.iterdir()
                  if (m := _TEMP.match(p.name)) and m.group("target") == path.name)


def remove_stale_temps(folder: Path | str) -> list[Path]:
    """Delete the temporary files and folders in `folder` left by writers that died: this host's
    whose process is gone (or is an earlier process with this one's pid), other hosts' older than
    a day. A live writer's temporary file is left alone. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for p in folder.iterdir():
        m = _TEMP.match(p.name)
        if m is None or not _abandoned(p, m):
            continue
        try:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            removed.append(p)
        except FileNotFoundError:
            pass  # another process cleaned it first
    return removed


def _abandoned(p: Path, m: re.Match) -> bool:
    if m.group("host") != _HOST:
        try:
            return time.time() - p.lstat().st_mtime > FOREIGN_TEMP_AGE_S
        except FileNotFoundError:
            return False
    pid = int(m.group("pid"))
    if pid == os.getpid():
        return m.group("token") != _TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
