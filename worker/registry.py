"""A Celery worker process's row in the worker registry (jobs/store/workers.py), kept by Celery signals.

Each Celery process registers itself (not the launcher on its behalf) at `worker_ready`: only then
does it consume its queues, its node name (the `worker` a claimed job records) is known, and its
own heartbeat thread proves that this very process is alive; a frozen or killed process stops
beating and its row ages out after the lease. A clean exit (`worker_shutdown`) deletes the row.
"""
from __future__ import annotations

import logging
import os
import socket

from celery.signals import worker_ready, worker_shutdown

from ganctl.jobs.config import get_settings
from ganctl.worker.hooks import Periodic

log = logging.getLogger(__name__)

_state: dict = {}


def device_name() -> str:
    """'cpu' or 'gpu<i>': the launcher pins each process with CUDA_VISIBLE_DEVICES."""
    cuda = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip()
    return f"gpu{cuda}" if cuda else "cpu"


@worker_ready.connect
def _register(sender=None, **_kw) -> None:
    from ganctl.jobs.store.repo import Store

    settings = get_settings()
    queues = sorted(getattr(sender.app.amqp.queues, "consume_from", None) or {}) or ["train"]
    row = dict(name=sender.hostname, host=socket.gethostname(), pid=os.getpid(), device=device_name(),
               queues=queues, launcher_pid=os.getppid(), lease_s=settings.heartbeat_lease)
    try:
        store = Store.from_settings(settings)
        _state["id"] = store.register_worker(**row)
    except Exception as exc:  # noqa: BLE001 - the worker still serves; `ganctl workers` will not list it
        log.error("worker registry: could not register %s: %s", row["name"], exc)
        return

    def beat_once() -> None:
        if not store.beat_worker(_state["id"]):  # pruned while frozen: register again
            _state["id"] = store.register_worker(**row)

    _state["beat"] = beat = Periodic("ganctl-registry", settings.heartbeat_every, beat_once,
                                     "worker registry: heartbeat")
    _state["store"] = store
    beat.start()


@worker_shutdown.connect
def _unregister(**_kw) -> None:
    beat, store = _state.pop("beat", None), _state.pop("store", None)
    if beat is not None:
        beat.halt.set()
    if store is not None and "id" in _state:
        try:
            store.unregister_worker(_state.pop("id"))
        except Exception as exc:  # noqa: BLE001 - the row ages out after the lease instead
            log.warning("worker registry: could not unregister: %s", exc)
