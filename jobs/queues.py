"""The queues jobs travel on (read by the Celery app, the launcher and the service): training on
`train`; the jobs that work on a finished training job's export (sample, eval) on `sample`."""
from __future__ import annotations

QUEUES = ("train", "sample")
QUEUE_FOR_KIND = {"train": "train", "sample": "sample", "eval": "sample"}
