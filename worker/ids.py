"""Job ids from messages: canonical UUIDs only, and job folders that stay directly under the
artifacts root (no `../../etc`, no symlink out). Checked before the store or the disk is touched."""
from __future__ import annotations

import uuid
from pathlib import Path


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


def job_dir(root: Path, job_id: str) -> Path:
    """<root>/<job id>, only for a valid id whose folder, symlinks resolved, is directly under
    the (resolved) root; returned as <root>/<job id>, so recorded paths keep the root's spelling."""
    valid_job_id(job_id)
    path = Path(root) / job_id
    real_root, real = Path(root).resolve(), path.resolve()
    if real.parent != real_root:
        raise BadJobId(f"job folder {path} resolves to {real}, outside the artifacts root {real_root}")
    return path
