"""The worker registry: one row per `ganctl worker` Celery process. A mixin of Store (uses _tx/_read).

A process registers when it is ready to consume, renews `heartbeat_at` from a thread and deletes its
row on a clean exit; a process that died without a word leaves a row whose heartbeat ages past the
lease, which every reader ignores and the next registration prunes. What a worker runs is not
stored here: it is the running job whose `worker` column is the worker's Celery node name.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from ganctl.jobs.store.models import jobs_table, utcnow, workers_table


@dataclass(frozen=True)
class WorkerRow:
    id: int
    name: str  # Celery node name, e.g. cpu-train@host
    host: str
    pid: int
    launcher_pid: int | None
    device: str  # 'cpu' or 'gpu0'
    queues: tuple[str, ...]
    started_at: datetime
    heartbeat_at: datetime
    current_job: str | None = None  # id of the running job this worker claimed


def _row(r, current: str | None) -> WorkerRow:
    m = r._mapping
    return WorkerRow(m["id"], m["name"], m["host"], m["pid"], m["launcher_pid"], m["device"],
                     tuple(q for q in m["queues"].split(",") if q), m["started_at"], m["heartbeat_at"], current)


class WorkersMixin:
    def register_worker(self, *, name: str, host: str, pid: int, device: str, queues,
                        launcher_pid: int | None, lease_s: float) -> int:
        """Insert this process's row (returns its id); prunes rows older than the lease, and any
        older row of the same host and pid (that process is gone: this one has its pid)."""
        c = workers_table.c

        def run(conn: Connection) -> int:
            now = utcnow()
            conn.execute(delete(workers_table).where(c.heartbeat_at < now - timedelta(seconds=lease_s)))
            conn.execute(delete(workers_table).where(c.host == host, c.pid == pid))
            res = conn.execute(insert(workers_table).values(
                name=name, host=host, pid=int(pid), launcher_pid=launcher_pid, device=device,
                queues=",".join(queues), started_at=now, heartbeat_at=now))
            return int(res.inserted_primary_key[0])

        return self._tx(run)

    def beat_worker(self, worker_id: int) -> bool:
        """Renew the row's heartbeat; False when the row is gone (pruned: register again)."""
        stmt = update(workers_table).where(workers_table.c.id == worker_id).values(heartbeat_at=utcnow())
        return self._tx(lambda conn: conn.execute(stmt).rowcount == 1)

    def unregister_worker(self, worker_id: int) -> None:
        self._tx(lambda conn: conn.execute(delete(workers_table).where(workers_table.c.id == worker_id)))

    def live_workers(self, queue: str | None = None, *, lease_s: float) -> list[WorkerRow]:
        """Workers whose heartbeat is within the lease (oldest first), each with its current job;
        only those consuming `queue` when given."""
        c, j = workers_table.c, jobs_table.c

        def run(conn: Connection) -> list[WorkerRow]:
            cutoff = utcnow() - timedelta(seconds=lease_s)
            rows = conn.execute(select(workers_table).where(c.heartbeat_at >= cutoff)
                                .order_by(c.started_at, c.id)).all()
            names = {r._mapping["name"] for r in rows}
            running = dict(conn.execute(select(j.worker, j.id).where(j.status == "running", j.worker.in_(names))
                                        .order_by(j.started_at)).all()) if names else {}
            out = [_row(r, running.get(r._mapping["name"])) for r in rows]
            return [w for w in out if queue is None or queue in w.queues]

        return self._read(run)
