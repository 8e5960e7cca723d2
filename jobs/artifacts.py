"""Export generator and discriminator (.h5 + SavedModel) atomically, with a sha256 manifest."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ganctl.jobs.layout import write_dir_atomic

MANIFEST = "manifest.json"
FILES = {  # format -> name inside the export folder
    "h5-generator": "generator.h5",
    "h5-discriminator": "discriminator.h5",
    "savedmodel-generator": "generator_savedmodel",
    "savedmodel-discriminator": "discriminator_savedmodel",
}
RAW_GENERATOR = ("h5-generator-raw", "generator_raw.h5")  # EMA recipes: the trained, unaveraged weights


class ArtifactError(ValueError):
    """A missing, incomplete or tampered artifact; the message names the file."""


@dataclass(frozen=True)
class ArtifactFile:
    format: str
    path: str
    bytes: int
    sha256: str


def digest(path: Path) -> tuple[int, str]:
    """(size, sha256) of a file, or of a folder as the hash of its sorted (name, file hash) list."""
    if path.is_dir():
        outer, size = hashlib.sha256(), 0
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            n, h = digest(f)
            size += n
            outer.update(f"{f.relative_to(path).as_posix()}\0{h}\n".encode())
        return size, outer.hexdigest()
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return path.stat().st_size, h.hexdigest()


def export(generator, discriminator, outdir: Path, raw_generator=None) -> list[ArtifactFile]:
    """Write everything, the manifest last, into a temporary sibling, then rename it into place
    in one step (ganctl.jobs.layout.write_dir_atomic).

    `generator` is the one sampling loads (the EMA generator of an EMA recipe); `raw_generator`,
    when given, is saved beside it as generator_raw.h5.

    A crash before the rename leaves only the temporary folder, which the next export removes:
    readers see a complete export or none.
    """
    outdir = Path(outdir)
    entries = {}
    files = dict(FILES)
    if raw_generator is not None:
        files[RAW_GENERATOR[0]] = RAW_GENERATOR[1]

    def write(tmp: Path) -> None:
        generator.save(tmp / FILES["h5-generator"])
        discriminator.save(tmp / FILES["h5-discriminator"])
        generator.export(str(tmp / FILES["savedmodel-generator"]), verbose=False)
        discriminator.export(str(tmp / FILES["savedmodel-discriminator"]), verbose=False)
        if raw_generator is not None:
            raw_generator.save(tmp / RAW_GENERATOR[1])
        for fmt, name in files.items():
            size, sha = digest(tmp / name)
            entries[fmt] = {"file": name, "bytes": size, "sha256": sha}
        (tmp / MANIFEST).write_text(json.dumps(entries, indent=2))

    write_dir_atomic(outdir, write)
    return [ArtifactFile(fmt, str(outdir / e["file"]), e["bytes"], e["sha256"]) for fmt, e in entries.items()] + [
        ArtifactFile("manifest", str(outdir / MANIFEST), *digest(outdir / MANIFEST))]


def read_manifest(export_dir: Path) -> dict:
    try:
        return json.loads((Path(export_dir) / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"no readable manifest in {export_dir}: {exc}") from None


def verified_path(export_dir: Path, fmt: str, expected_sha256: str | None = None) -> Path:
    """The artifact's path, only after its sha256 matches the manifest and, if given, the store."""
    entry = read_manifest(export_dir).get(fmt)
    if entry is None:
        raise ArtifactError(f"{export_dir} has no {fmt} artifact")
    path = Path(export_dir) / entry["file"]
    if not path.exists():
        raise ArtifactError(f"artifact {path} is missing")
    _, actual = digest(path)
    for label, expected in (("manifest", entry["sha256"]), ("store", expected_sha256)):
        if expected is not None and actual != expected:
            raise ArtifactError(f"artifact {path} fails its sha256 check against the {label}: "
                                f"expected {expected[:12]}…, found {actual[:12]}… (tampered or swapped)")
    return path
