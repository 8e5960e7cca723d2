"""Job ids from messages: canonical UUIDs only, and job folders that stay directly under the
artifacts root (no `../../etc`, no symlink out). Checked before the store or the disk is touched.

The checks live with the rest of a job's folder in ganctl.jobs.layout; the worker's names stay here."""
from __future__ import annotations

from ganctl.jobs.layout import BadJobId, job_dir, valid_job_id

__all__ = ["BadJobId", "job_dir", "valid_job_id"]
