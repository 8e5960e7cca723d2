"""Who may do what on the dashboard: actions need the token, state changes are same-origin only,
artifacts are served only from under the artifacts root."""
from __future__ import annotations

import hmac
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from ganctl.jobs.layout import BadJobId, job_dir

TOKEN_HEADER = "X-Ganctl-Token"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def token_ok(given: str | None, token: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def same_origin(origin: str | None, host_header: str | None) -> bool:
    """A browser sends Origin on every cross-site POST: it must name this server (host:port as
    the request addressed it). No Origin at all: a script (curl), which the token alone guards."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return bool(host_header) and parts.netloc == host_header and parts.scheme in ("http", "https")


_OBJECT = re.compile(r"/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(.+)$")


def artifact_target(root: Path, job_id: str, rel: str) -> Path | None:
    """<root>/<job id>/<rel> when it lies under that job's folder (symlinks and `..` resolved),
    whether or not it exists yet; None otherwise."""
    try:
        base = job_dir(root, job_id).resolve()
    except BadJobId:
        return None
    target = (base / rel).resolve()
    return target if target.is_relative_to(base) and target != base else None


def artifact_file(root: Path, job_id: str, rel: str) -> Path | None:
    """The file <root>/<job id>/<rel>, only when it is a regular file under that job's folder;
    None otherwise (the route answers 404)."""
    target = artifact_target(root, job_id, rel)
    return target if target is not None and target.is_file() else None


def artifact_url(root: Path, path: str | None) -> str | None:
    """The /artifacts/... URL of a recorded file path, when it lies under the artifacts root, or
    of a recorded s3://bucket/prefix/<job id>/<rel> object (the route fetches it from the bucket)."""
    if not path:
        return None
    if path.startswith("s3://"):
        m = _OBJECT.search(path)
        return f"/artifacts/{m.group(1)}/{m.group(2)}" if m else None
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None
    return "/artifacts/" + rel.as_posix()
