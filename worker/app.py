"""The Celery app: broker from settings, JSON only, late acks, one task at a time per process.

Importing this module must stay light (no TensorFlow): the CLI builds an app with `create_app`
to publish, and the launcher parent imports it to re-publish stale jobs.
The database is the truth, so there is no result backend (`task_ignore_result`).
"""
from __future__ import annotations

import time

from celery import Celery
from kombu import Exchange, Queue
from kombu.utils.url import maybe_sanitize_url

from ganctl.jobs.config import Settings, get_settings
from ganctl.jobs.queues import QUEUE_FOR_KIND, QUEUES

TRAIN_TASK, SAMPLE_TASK, EVAL_TASK = "ganctl.train", "ganctl.sample", "ganctl.eval"
TASK_FOR_KIND = {kind: (name, QUEUE_FOR_KIND[kind])
                 for kind, name in (("train", TRAIN_TASK), ("sample", SAMPLE_TASK), ("eval", EVAL_TASK))}


def is_sqla(url: str) -> bool:
    return url.startswith("sqla+") or url.startswith("sqlalchemy+")


def transport_options(settings: Settings, url: str) -> dict:
    # kombu's SQLAlchemy transport hands every unknown transport option to create_engine(),
    # which rejects `visibility_timeout` with a TypeError; that transport has no visibility
    # timeout anyway (a delivered message stays invisible; the reaper re-publishes).
    if is_sqla(url):
        return {"connect_args": {"timeout": 30}} if "sqlite" in url else {}
    opts: dict = {"visibility_timeout": settings.visibility_timeout}
    if url.startswith(("redis", "rediss")):
        # kombu scans for unacknowledged messages older than the visibility timeout only every
        # interval x throttle seconds (10 x 10 by default); scan every few seconds instead (one
        # ZRANGE), so a redelivery comes within about the timeout rather than 100 s after it.
        opts.update(unacked_restore_interval=max(1, min(10, int(settings.visibility_timeout) // 2)),
                    unacked_restore_throttle=1)
    if url.startswith(("redis", "rediss")):
        timeout = max(1.0, min(5.0, settings.submit_timeout))
        opts.update(socket_connect_timeout=timeout, socket_timeout=max(timeout, 30.0))
    return opts


def safe_url(url: str) -> str:
    """The broker URL with any password masked."""
    try:
        return maybe_sanitize_url(url)
    except Exception:  # noqa: BLE001 - a URL we cannot parse is shown without its netloc
        return url.split("://", 1)[0] + "://..."


def declare_queues(app: Celery, attempts: int = 8) -> None:
    """Create the SQL broker's tables and queue rows before any worker consumes or a task is sent.

    kombu's SQLAlchemy transport creates a missing queue row with check-then-insert under a thread
    lock only: two processes starting together both insert, and one dies with IntegrityError
    (UNIQUE kombu_queue.name). Declaring here, retried, settles that race before the children start.
    Redis needs nothing: its queues are created by the first message.
    """
    if not is_sqla(app.conf.broker_url or ""):
        return
    for attempt in range(1, attempts + 1):
        try:
            with app.connection_for_write() as conn:
                channel = conn.default_channel
                for queue in app.conf.task_queues:
                    queue.bind(channel).declare()
            return
        except Exception:  # noqa: BLE001 - IntegrityError or "table already exists" from the race
            if attempt == attempts:
                raise
            time.sleep(0.1 * attempt)


def create_app(settings: Settings | None = None) -> Celery:
    settings = settings or get_settings()
    url = settings.resolved_broker_url
    app = Celery("ganctl", broker=url, include=["ganctl.worker.tasks", "ganctl.worker.registry"])
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        result_backend=None,
        broker_transport_options=transport_options(settings, url),
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=max(1.0, min(4.0, settings.submit_timeout)),
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q) for q in QUEUES],
        task_default_queue="train",
        task_default_exchange="train",
        task_routes={name: {"queue": queue} for name, queue in TASK_FOR_KIND.values()},
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app


def publish(app: Celery, job, *, timeout: float | None = None) -> None:
    """Send the task for a job row (kind -> task name and queue), giving up after ~timeout seconds.

    Raises the broker's exception (OperationalError, ConnectionError, ...) when it cannot be reached.
    """
    name, queue = TASK_FOR_KIND[job.kind]
    settings = get_settings()
    timeout = timeout if timeout is not None else settings.submit_timeout
    if settings.embedded:
        settings.home.mkdir(parents=True, exist_ok=True)  # the embedded broker's SQLite file lives there
    declare_queues(app)
    step = 0.5
    retries = max(1, int(timeout / step))
    app.send_task(
        name, args=[job.id], queue=queue, routing_key=queue,
        retry=True,
        retry_policy={"max_retries": retries, "interval_start": 0, "interval_step": step,
                      "interval_max": step},
    )


app = create_app()
