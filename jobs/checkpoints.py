"""Checkpoints as .npz files written atomically; resume falls back past a corrupt latest one."""
from __future__ import annotations

import logging
import re
import zipfile
from pathlib import Path

import numpy as np

from ganctl.jobs.layout import remove_stale_temps, write_atomic_with

log = logging.getLogger(__name__)
NAME = re.compile(r"^ckpt-(\d{6})\.npz$")


class CheckpointError(RuntimeError):
    pass


class Checkpoints:
    def __init__(self, folder: Path, keep: int = 3, pinned=lambda epoch: False):
        # pinned(epoch): kept beyond the last `keep` (evaluated epochs: fork --epoch K, sample --epoch best)
        self.folder, self.keep, self.pinned = Path(folder), keep, pinned

    def epochs(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := NAME.match(p.name)))

    def path(self, epoch: int) -> Path:
        return self.folder / f"ckpt-{epoch:06d}.npz"

    def save(self, variables: list, epoch: int) -> Path:
        remove_stale_temps(self.folder)  # a worker killed mid-save left its temporary file
        arrays = {f"v{i}": v.numpy() for i, v in enumerate(variables)}
        final = write_atomic_with(self.path(epoch),
                                  lambda tmp: np.savez(tmp, epoch=np.int64(epoch), **arrays))
        for old in self.epochs()[: -self.keep]:
            if not self.pinned(old):
                self.path(old).unlink(missing_ok=True)
        return final

    def restore(self, variables: list, epoch: int) -> None:
        """Load epoch `epoch`'s checkpoint into `variables` (CheckpointError when absent or unfit)."""
        try:
            values = self._read(self.path(epoch), len(variables))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
            raise CheckpointError(f"checkpoint of epoch {epoch} unreadable: {exc}") from None
        if any(v.shape != tuple(val.shape) for v, val in zip(variables, values)):
            raise CheckpointError(f"checkpoint of epoch {epoch} does not match the model")
        for var, val in zip(variables, values):
            var.assign(val)

    def restore_latest(self, variables: list) -> int:
        """Load the newest readable checkpoint into `variables`; returns its epoch (0 if none)."""
        found = self.epochs()
        for epoch in reversed(found):
            try:
                values = self._read(self.path(epoch), len(variables))
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
                log.warning("checkpoint %s unreadable (%s); trying the previous one", self.path(epoch), exc)
                continue
            if any(v.shape != tuple(val.shape) for v, val in zip(variables, values)):
                log.warning("checkpoint %s does not match the model; trying the previous one", self.path(epoch))
                continue
            for var, val in zip(variables, values):
                var.assign(val)
            return epoch
        if found:
            raise CheckpointError(f"no readable checkpoint in {self.folder} (tried epochs {found})")
        return 0

    @staticmethod
    def _read(path: Path, count: int) -> list[np.ndarray]:
        with np.load(path) as npz:
            if len(npz.files) != count + 1:
                raise ValueError(f"{len(npz.files) - 1} arrays, expected {count}")
            return [npz[f"v{i}"] for i in range(count)]
