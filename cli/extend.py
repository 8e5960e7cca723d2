"""`ganctl extend <id> --epochs N`: a new job that trains a finished job N more epochs from its
last checkpoint, every option and all training state the same (jobs/experiments.py)."""
from __future__ import annotations

from ganctl.jobs import experiments, service

from ganctl.cli import _options as o
from ganctl.cli._carry import show
from ganctl.cli._errors import user_errors


@user_errors
def extend(job_id: o.JobId, epochs: o.MoreEpochs, tag: o.Tags = None, wait: o.Wait = False,
           json: o.Json = False) -> None:
    """Train a finished job N more epochs (a new linked job; epochs continue the numbering)."""
    store = service.open_store()
    show(store, experiments.extend(store, job_id, epochs, tag or ()), wait=wait, json=json)
