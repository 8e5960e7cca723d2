"""Who may do what on the dashboard: actions need the token, state changes are same-origin only,
artifacts are served only from under the artifacts root."""
from __future__ import annotations

import hmac
import ipaddress
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


def artifact_file(root: Path, job_id: str, rel: str) -> Path | None:
    """The file <root>/<job id>/<rel>, only when it is a regular file under that job's folder
    (symlinks and `..` resolved); None otherwise (the route answers 404)."""
    try:
        base = job_dir(root, job_id).resolve()
    except BadJobId:
        return None
    target = (base / rel).resolve()
    if not target.is_relative_to(base) or not target.is_file():
        return None
    return target


def artifact_url(root: Path, path: str | None) -> str | None:
    """The /artifacts/... URL of a recorded file path, when it lies under the artifacts root."""
    if not path:
        return None
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None
    return "/artifacts/" + rel.as_posix()
