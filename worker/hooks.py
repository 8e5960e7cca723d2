"""What a running task needs around the library: the store, the job's lease (a heartbeat thread
that renews it, and the fence every write goes through), and the training hooks (epoch rows,
grids, cancel checks).

Fault injection for the reliability tests: GANCTL_TEST_CRASH_AT_EPOCH=N makes a training task
SIGKILL its own worker process at the first batch of epoch N (as a segfault or the OOM killer
would). It is read here only and must never be set outside tests.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from functools import lru_cache

from celery.signals import worker_shutting_down

from ganctl.jobs.config import get_settings
from ganctl.jobs.store.repo import Store

log = logging.getLogger(__name__)

CRASH_AT_EPOCH = "GANCTL_TEST_CRASH_AT_EPOCH"  # fault-injection hook, tests only (see above)

# Set by Celery's SIGTERM/SIGINT/SIGQUIT handler in this process: a running training job hands
# itself back at its next batch.
SHUTDOWN = threading.Event()


@worker_shutting_down.connect
def _on_shutdown(sig=None, how=None, **_kw) -> None:  # runs inside the signal handler: just flag
    SHUTDOWN.set()


@lru_cache(maxsize=1)
def store() -> Store:
    return Store.from_settings()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or repr(exc)
    return f"{type(exc).__name__}: {text}"[:2000]


class Periodic(threading.Thread):
    """Calls `tick()` every `every` seconds until stopped or until `tick` returns False; a raising
    tick (a store hiccup) is logged as `what` and tried again at the next beat. The one loop
    behind a job's lease heartbeat and a worker's registry heartbeat."""

    def __init__(self, name: str, every: float, tick, what: str):
        super().__init__(name=name, daemon=True)
        self.every, self.tick, self.what = max(0.05, every), tick, what
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.every):
            try:
                if self.tick() is False:
                    return
            except Exception as exc:  # noqa: BLE001 - try again next beat
                log.warning("%s failed: %s", self.what, one_line(exc))

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)


class Heartbeat(Periodic):
    """Renews the job's lease every `every` seconds until stopped; `on_lost` when refused."""

    def __init__(self, job, every: float, on_lost):
        super().__init__(f"ganctl-heartbeat-{job.id[:8]}", every, self._renew, f"job {job.id}: heartbeat")
        self.job, self.on_lost = job, on_lost

    def _renew(self) -> bool:
        if store().heartbeat(self.job.id, self.job.attempts):
            return True
        self.on_lost()
        return False


class Lease:
    """A claimed job's hold on its row, the same for every task kind: a Heartbeat thread renews it
    from claim to finish; `fenced` once a renewal or a write is refused (another attempt owns the
    job now), after which the task stops writing. A context manager: the thread runs inside it."""

    def __init__(self, job):
        self.job, self.fenced = job, False
        self._beat = Heartbeat(job, get_settings().heartbeat_every, self.lost)

    def __enter__(self) -> "Lease":
        self._beat.start()
        return self

    def __exit__(self, *exc) -> None:
        self._beat.stop()

    def lost(self) -> None:
        """The lease is gone (another worker claimed the job): stop at the next chance."""
        if not self.fenced:
            log.warning("job %s: heartbeat refused, attempt %d no longer owns the job",
                        self.job.id, self.job.attempts)
        self.fenced = True

    def kept(self, ok: bool) -> bool:
        """`ok` (a fenced write's answer), noting a refusal."""
        if not ok:
            self.lost()
        return ok

    def record_artifacts(self, rows) -> bool:
        return self.kept(store().record_artifacts(self.job.id, self.job.attempts, list(rows)))


class Progress:
    """Training hooks: epoch rows + grids, throttled heartbeats and cancel checks, fencing."""

    def __init__(self, lease: Lease, cancel_every: float = 1.0):
        self.lease, self.job, self.store, self.settings = lease, lease.job, store(), get_settings()
        self.cancel_every = cancel_every
        self._beat = self._cancel_checked = time.monotonic()
        self._cancelled = False
        self._stopped: str | None = None  # a sweep's successive halving cut this job (the reason)
        crash = os.environ.get(CRASH_AT_EPOCH, "").strip()
        self._crash_at = int(crash) if crash.isdigit() else None

    @property
    def shutting_down(self) -> bool:
        return SHUTDOWN.is_set()

    def on_epoch(self, r) -> bool:
        job = self.job
        ok = self.store.record_epoch(job.id, job.attempts, r.epoch, r.d_loss, r.g_loss, r.seconds, r.images_per_s)
        if ok and r.grid_png is not None:
            ok = self.store.record_grid(job.id, job.attempts, r.epoch, r.grid_png, str(r.grid_path))
        q = getattr(r, "quality", None)
        if ok and q:
            ok = self.store.record_metrics(job.id, job.attempts, r.epoch, int(q.get("n") or 0), q,
                                           bool(q.get("collapse")))
        if ok and q and job.sweep_id is not None:
            ok = self._rung(r.epoch, q)
        return self.lease.kept(ok)

    def _rung(self, epoch: int, q: dict) -> bool:
        """A sweep job asks the store whether it goes on (jobs/sweeps.py); a cut job is `stopped` there
        already and stops at its next batch (this epoch's checkpoint is still written)."""
        from ganctl.jobs import sweeps

        try:
            self._stopped = sweeps.on_evaluated(self.store, self.job, epoch, q)
        except LookupError:
            return False
        if self._stopped:
            log.info("job %s stopped by its sweep: %s", self.job.id, self._stopped)
        return True

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        if self._crash_at is not None and epoch == self._crash_at:
            log.error("fault injection: %s=%d: SIGKILL to this worker process", CRASH_AT_EPOCH, epoch)
            os.kill(os.getpid(), signal.SIGKILL)
        if time.monotonic() - self._beat >= self.settings.heartbeat_every:
            self._beat = time.monotonic()
            self.lease.kept(self.store.heartbeat(self.job.id, self.job.attempts))

    def should_stop(self) -> bool:
        if self.lease.fenced or self._cancelled or self._stopped or self.shutting_down:
            return True
        if time.monotonic() - self._cancel_checked >= self.cancel_every:
            self._cancel_checked = time.monotonic()
            self._cancelled = self.store.is_cancel_requested(self.job.id)
        return self._cancelled
