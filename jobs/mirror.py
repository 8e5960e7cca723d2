"""One job's folder mirrored to the bucket (ganctl.jobs.objects): the worker writes locally, then
uploads; it resumes, samples and evaluates from what the bucket holds, not from its own disk.

    checkpoints/ckpt-N.npz + ckpt-N.npz.sha256    the marker last; only marked ones are resumed from
    export/... + export/manifest.json              the manifest last; readers verify against it
    grids/, tensorboard/, grid.png, images/        plain files, each one PUT (whole or absent)
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from ganctl.jobs.checkpoints import NAME as CKPT_NAME
from ganctl.jobs.layout import JobFolder
from ganctl.jobs.objects import MANIFEST, MARK, Bucket, ObjectStoreError

log = logging.getLogger(__name__)
_MARKED_CKPT = re.compile(r"^checkpoints/(ckpt-(\d{6})\.npz)" + re.escape(MARK) + "$")


class Mirror:
    def __init__(self, bucket: Bucket, job_id: str, job_dir: Path, keep: int = 3, pinned=lambda epoch: False):
        # pinned(epoch): kept beyond the last `keep`, as on disk (evaluated epochs: fork --epoch K, --epoch best)
        self.bucket, self.job_id, self.folder, self.keep = bucket, job_id, JobFolder(Path(job_dir)), keep
        self.pinned = pinned

    def rel(self, path: Path) -> str:
        return Path(path).relative_to(self.folder.root).as_posix()

    def where(self, path: Path) -> str:
        return self.bucket.where(self.job_id, self.rel(path))

    # ----------------------------------------------------------------- writing (the worker)
    def on_saved(self, kind: str, path: Path) -> None:
        """ganctl.jobs.train.Hooks.on_saved: upload what training just made whole on disk."""
        path = Path(path)
        if kind == "checkpoint":
            self.push_checkpoint(path)
        elif kind == "export":
            self.bucket.push_dir(self.job_id, self.rel(path), path, last=MANIFEST)
        elif path.is_dir():  # tensorboard: the event files grow; each upload is a whole new copy
            self.push_tree(path)
        else:
            self.bucket.upload(self.job_id, self.rel(path), path)

    def push_tree(self, local: Path) -> list[str]:
        return [self.bucket.upload(self.job_id, self.rel(p), p)
                for p in sorted(Path(local).rglob("*")) if p.is_file() and not p.name.startswith(".")]

    def marked_epochs(self) -> list[int]:
        return sorted(int(m.group(2)) for k in self.bucket.listing(self.job_id, "checkpoints/")
                      if (m := _MARKED_CKPT.match(k)))

    def push_checkpoint(self, path: Path) -> None:
        self.bucket.push_marked(self.job_id, self.rel(path), path)
        old = [e for e in self.marked_epochs()[: -self.keep] if not self.pinned(e)]
        # The marker goes first: a reader never trusts a checkpoint whose file is being deleted.
        self.bucket.delete(self.job_id, [f"checkpoints/ckpt-{e:06d}.npz{MARK}" for e in old])
        self.bucket.delete(self.job_id, [f"checkpoints/ckpt-{e:06d}.npz" for e in old])

    # ----------------------------------------------------------------- reading (any host)
    def pull_checkpoint(self) -> int:
        """The newest checkpoint whose marker and sha256 hold, downloaded into the local folder
        (where ganctl.jobs.checkpoints resumes from); 0 if the bucket has none."""
        for epoch in reversed(self.marked_epochs()):
            local = self.folder.checkpoints / f"ckpt-{epoch:06d}.npz"
            assert CKPT_NAME.match(local.name)
            try:
                self.bucket.pull_marked(self.job_id, self.rel(local), local)
                return epoch
            except ObjectStoreError as exc:
                log.warning("%s; trying the previous checkpoint", exc)
        return 0

    def pull_export(self) -> Path:
        """The export set (manifest included) downloaded into the local folder; the caller verifies
        each file against the manifest and the store (ganctl.jobs.artifacts.verified_path)."""
        export = self.folder.export
        return self.bucket.pull_dir(self.job_id, self.rel(export), export, marker=MANIFEST)

    def pull_rel(self, rel: str) -> Path:
        """Every object under `rel` (grids, tensorboard, ...) into the local folder; none is fine."""
        target = self.folder.root / rel
        for k in self.bucket.listing(self.job_id, rel.rstrip("/") + "/"):
            self.bucket.download(self.job_id, k, self.folder.root / k)
        return target


def pull_job(bucket: Bucket, job_id: str, out: Path) -> list[Path]:
    """Every object of a job (a sample job: grid.png, images/) downloaded into `out`."""
    return [bucket.download(job_id, k, Path(out) / k) for k in bucket.listing(job_id, "")
            if not k.endswith(MARK)]
