"""Where a job's artifacts live: the local artifacts folder (the default) or an S3-compatible bucket.

With GANCTL_ARTIFACTS_URL=s3://bucket/prefix every host works in its own local folder
(GANCTL_ARTIFACTS_DIR, now a cache) and the bucket is the home of the artifacts:

    s3://bucket/prefix/<job id>/<the same relative paths as the job folder (ganctl.jobs.layout)>

Complete-or-absent, as on disk:
- one file is one PUT, which S3 makes visible whole or not at all;
- a set (a checkpoint, an export) is trusted only with its marker, uploaded last: a checkpoint
  `ckpt-N.npz` by `ckpt-N.npz.sha256` (its hash), an export by its manifest.json (every file's hash);
- a download is verified against that hash before anything is loaded; a mismatch is one line.

boto3 does the protocol, the credential chain (AWS_* variables, ~/.aws files) and the endpoint; the
timeouts are short and retries few so that a wrong setting is one line within seconds.
"""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from ganctl.jobs.layout import write_atomic_with

log = logging.getLogger(__name__)
MARK = ".sha256"
MANIFEST = "manifest.json"  # = ganctl.jobs.artifacts.MANIFEST (that module imports TensorFlow-free numpy only)


class ObjectStoreError(RuntimeError):
    """A one-line problem with the object store: bucket missing, credentials refused, unreachable."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Bucket:
    """One s3://bucket/prefix: upload, download (verified), list, and the set markers."""

    def __init__(self, url: str, endpoint_url: str | None = None, region: str | None = None,
                 timeout: float = 5.0):
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ObjectStoreError(f"GANCTL_ARTIFACTS_URL {url!r} is not s3://bucket[/prefix]")
        self.url, self.bucket = url.rstrip("/"), parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.endpoint_url, self.region, self.timeout = endpoint_url, region, timeout

    @property
    def client(self):
        if not hasattr(self, "_client"):
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint_url or None, region_name=self.region or None,
                config=Config(connect_timeout=self.timeout, read_timeout=max(self.timeout, 30),
                              retries={"max_attempts": 2, "mode": "standard"}))
        return self._client

    def key(self, job_id: str, rel: str) -> str:
        return "/".join(p for p in (self.prefix, job_id, rel) if p)

    def where(self, job_id: str, rel: str) -> str:
        return f"s3://{self.bucket}/{self.key(job_id, rel)}"

    # ----------------------------------------------------------------- errors in one line
    def _call(self, what: str, fn, *args, **kwargs):
        from botocore.exceptions import (BotoCoreError, ClientError, EndpointConnectionError,
                                         NoCredentialsError)

        place = self.endpoint_url or "AWS S3"
        try:
            return fn(*args, **kwargs)
        except EndpointConnectionError:
            raise ObjectStoreError(f"object store {place} unreachable ({what} s3://{self.bucket})") from None
        except NoCredentialsError:
            raise ObjectStoreError(f"no credentials for object store {place}: set AWS_ACCESS_KEY_ID and "
                                   "AWS_SECRET_ACCESS_KEY or ~/.aws/credentials") from None
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchBucket"):
                raise ObjectStoreError(f"bucket s3://{self.bucket} does not exist on {place}") from None
            if code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied"):
                raise ObjectStoreError(f"credentials refused by object store {place} "
                                       f"for s3://{self.bucket} ({code})") from None
            raise ObjectStoreError(f"object store {place}: {what} failed: {code or exc}") from None
        except BotoCoreError as exc:
            raise ObjectStoreError(f"object store {place}: {what} failed: {exc}") from None

    def check(self) -> None:
        """Bucket there, credentials accepted, endpoint answering: else ObjectStoreError (one line)."""
        self._call("reaching", self.client.head_bucket, Bucket=self.bucket)

    # ----------------------------------------------------------------- objects
    def upload(self, job_id: str, rel: str, local: Path) -> str:
        self._call("upload", self.client.upload_file, str(local), self.bucket, self.key(job_id, rel))
        return self.where(job_id, rel)

    def put_text(self, job_id: str, rel: str, text: str) -> None:
        self._call("upload", self.client.put_object, Bucket=self.bucket, Key=self.key(job_id, rel),
                   Body=text.encode())

    def get_text(self, job_id: str, rel: str) -> str | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(job_id, rel))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            return self._call("download", lambda: (_ for _ in ()).throw(exc))
        return body.decode()

    def download(self, job_id: str, rel: str, local: Path) -> Path:
        """The object at `local`, written atomically (a reader never sees half a download)."""
        write_atomic_with(local, lambda tmp: self._call(
            "download", self.client.download_file, self.bucket, self.key(job_id, rel), str(tmp)))
        return local

    def listing(self, job_id: str, rel: str = "") -> list[str]:
        """Relative paths (to the job) of every object under `rel`."""
        base = self.key(job_id, "") + "/"
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.key(job_id, rel))
        out = []
        for page in self._call("listing", list, pages):
            out += [o["Key"][len(base):] for o in page.get("Contents", [])]
        return sorted(out)

    def delete(self, job_id: str, rels: list[str]) -> None:
        if rels:
            self._call("delete", self.client.delete_objects, Bucket=self.bucket,
                       Delete={"Objects": [{"Key": self.key(job_id, r)} for r in rels]})

    # ----------------------------------------------------------------- sets with a marker
    def push_marked(self, job_id: str, rel: str, local: Path) -> str:
        """One file, then its `<rel>.sha256` marker: the file counts only once the marker is there."""
        sha = sha256_file(local)
        self.upload(job_id, rel, local)
        self.put_text(job_id, rel + MARK, sha)
        return sha

    def pull_marked(self, job_id: str, rel: str, local: Path) -> Path:
        """The marked file downloaded to `local` and checked against its marker; one line if not."""
        expected = self.get_text(job_id, rel + MARK)
        if expected is None:
            raise ObjectStoreError(f"{self.where(job_id, rel)} has no {MARK} marker (an unfinished upload)")
        self.download(job_id, rel, local)
        actual = sha256_file(local)
        if actual != expected.strip():
            local.unlink(missing_ok=True)
            raise ObjectStoreError(f"{self.where(job_id, rel)} fails its sha256 check: expected "
                                   f"{expected.strip()[:12]}…, found {actual[:12]}… (tampered or swapped)")
        return local

    def push_dir(self, job_id: str, rel: str, local: Path, last: str = MANIFEST) -> list[str]:
        """Every file under `local`, the file named `last` after all others (the set's marker)."""
        files = sorted((p for p in Path(local).rglob("*") if p.is_file()),
                       key=lambda p: (p.relative_to(local).as_posix() == last, p.as_posix()))
        return [self.upload(job_id, f"{rel}/{p.relative_to(local).as_posix()}", p) for p in files]

    def pull_dir(self, job_id: str, rel: str, local: Path, marker: str | None = MANIFEST) -> Path:
        """Every object under `rel` downloaded into `local`; with `marker`, only a set that has it
        (the marker is what readers verify the files against, e.g. ganctl.jobs.artifacts)."""
        names = [n[len(rel) + 1:] for n in self.listing(job_id, rel + "/")]
        if marker is not None and marker not in names:
            raise ObjectStoreError(f"{self.where(job_id, rel)} has no {marker} (missing or unfinished upload)")
        for n in names:
            self.download(job_id, f"{rel}/{n}", Path(local) / n)
        return Path(local)


@lru_cache(maxsize=4)
def _bucket(url: str, endpoint_url: str, region: str, timeout: float) -> Bucket:
    return Bucket(url, endpoint_url or None, region or None, timeout)


def from_settings(settings) -> Bucket | None:
    """The configured bucket, or None for the local artifacts folder (the default)."""
    url = getattr(settings, "artifacts_url", "") or ""
    if not url:
        return None
    return _bucket(url, settings.s3_endpoint_url or "", settings.s3_region or "", settings.s3_timeout)


def check(settings) -> None:
    """At worker start and at submit: the bucket answers (ObjectStoreError otherwise)."""
    bucket = from_settings(settings)
    if bucket is not None:
        bucket.check()
