"""What a job produced: epoch rows, sample grids, artifacts and quality figures. A mixin of Store
(uses its _tx/_read/_must). Every write a worker makes (epochs, grids, artifacts, per-epoch
metrics) is fenced by the attempt it holds: refused (False) once another attempt owns the job."""
from __future__ import annotations

import math

from sqlalchemy import Connection, func, select, update

from ganctl.jobs.store.models import artifacts_table, epochs_table, grids_table, jobs_table, metrics_table, utcnow
from ganctl.jobs.store.rows import ArtifactRow, EpochRow, GridRow, MetricsRow, metrics_from_row
from ganctl.jobs.jsonsafe import jsonable


def _still_owned(conn: Connection, job_id: str, attempt: int, now) -> bool:
    """The fence of every result a worker writes: the job is running under `attempt` (a write
    also renews its heartbeat). False when another attempt owns the job now."""
    c = jobs_table.c
    res = conn.execute(update(jobs_table).where(c.id == job_id, c.status == "running", c.attempts == attempt)
                       .values(heartbeat_at=now))
    return res.rowcount == 1


class ResultsMixin:
    def _upsert(self, conn: Connection, table, values: dict, keys: list[str]) -> None:
        # Imported here: the dialects cost 40 ms that a read-only `ganctl status` need not pay.
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        ins = insert(table)
        stmt = ins.values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=keys,
            set_={k: stmt.excluded[k] for k in values if k not in keys},
        )
        conn.execute(stmt)

    def record_epoch(
        self,
        job_id: str,
        attempt: int,
        epoch: int,
        d_loss: float,
        g_loss: float,
        seconds: float,
        images_per_s: float,
    ) -> bool:
        """Upsert one epoch's metrics (a redelivered epoch overwrites); refused (False) unless
        the job is running under ``attempt``. Also counts as a heartbeat."""
        def run(conn: Connection) -> bool:
            now = utcnow()
            if not _still_owned(conn, job_id, attempt, now):
                return False
            self._upsert(
                conn,
                epochs_table,
                {
                    "job_id": job_id,
                    "epoch": int(epoch),
                    "d_loss": float(d_loss),
                    "g_loss": float(g_loss),
                    "seconds": float(seconds),
                    "images_per_s": float(images_per_s),
                    "recorded_at": now,
                },
                ["job_id", "epoch"],
            )
            return True

        return self._tx(run)

    def record_grid(self, job_id: str, attempt: int, epoch: int, png: bytes, path: str) -> bool:
        """Upsert one epoch's sample grid; fenced like record_epoch (False: another attempt owns it)."""
        def run(conn: Connection) -> bool:
            now = utcnow()
            if not _still_owned(conn, job_id, attempt, now):
                return False
            self._upsert(
                conn,
                grids_table,
                {"job_id": job_id, "epoch": int(epoch), "png": bytes(png), "path": str(path), "recorded_at": now},
                ["job_id", "epoch"],
            )
            return True

        return self._tx(run)

    def record_artifacts(self, job_id: str, attempt: int, rows: list[ArtifactRow]) -> bool:
        """Upsert artifact rows by format; fenced like record_epoch (False: another attempt owns it)."""
        def run(conn: Connection) -> bool:
            now = utcnow()
            if not _still_owned(conn, job_id, attempt, now):
                return False
            for r in rows:
                self._upsert(
                    conn,
                    artifacts_table,
                    {
                        "job_id": job_id,
                        "format": r.format,
                        "path": str(r.path),
                        "bytes": int(r.bytes),
                        "sha256": r.sha256,
                        "recorded_at": now,
                    },
                    ["job_id", "format"],
                )
            return True

        return self._tx(run)

    def epochs(self, job_id: str) -> list[EpochRow]:
        c = epochs_table.c
        q = select(c.epoch, c.d_loss, c.g_loss, c.seconds, c.images_per_s).where(c.job_id == job_id).order_by(c.epoch)

        def nan(v: float | None) -> float:
            return math.nan if v is None else v

        return self._read(
            lambda conn: [
                EpochRow(r.epoch, nan(r.d_loss), nan(r.g_loss), nan(r.seconds), nan(r.images_per_s))
                for r in conn.execute(q)
            ]
        )

    def grids(self, job_id: str, with_png: bool = False) -> list[GridRow]:
        """Sample grids by epoch; ``png`` is b"" unless ``with_png``."""
        c = grids_table.c
        cols = [c.epoch, c.path] + ([c.png] if with_png else [])
        q = select(*cols).where(c.job_id == job_id).order_by(c.epoch)
        return self._read(
            lambda conn: [GridRow(r.epoch, r.path, bytes(r.png) if with_png else b"") for r in conn.execute(q)]
        )

    def artifacts(self, job_id: str) -> list[ArtifactRow]:
        c = artifacts_table.c
        q = select(c.format, c.path, c.bytes, c.sha256).where(c.job_id == job_id).order_by(c.format)
        return self._read(lambda conn: [ArtifactRow(r.format, r.path, r.bytes, r.sha256) for r in conn.execute(q)])

    def record_metrics(self, job_id: str, attempt: int | None, epoch: int | None, n: int,
                       values: dict, collapse: bool, *, held: tuple[str, int] | None = None) -> bool:
        """Upsert a job's quality figures at `epoch` (a re-run epoch overwrites); epoch None (an
        on-demand evaluation) adds a row each time. With `attempt`, fenced like record_epoch:
        refused (False) unless the job is running under it. Without, the job must exist; with
        `held` = (eval job id, its attempt), the row is written only while that job, which
        computed the figures, still holds that attempt."""
        clean = jsonable(dict(values))

        def run(conn: Connection) -> bool:
            now = utcnow()
            if attempt is not None:
                if not _still_owned(conn, job_id, attempt, now):
                    return False
            else:
                self._must(conn, job_id)
            if held is not None and not _still_owned(conn, held[0], held[1], now):
                return False
            row = {"job_id": job_id, "epoch": None if epoch is None else int(epoch), "n": int(n),
                   "values": clean, "collapse": bool(collapse), "recorded_at": now}
            if epoch is None:
                conn.execute(metrics_table.insert().values(**row))
            else:
                self._upsert(conn, metrics_table, row, ["job_id", "epoch"])
            return True

        return self._tx(run)

    def metrics(self, job_id: str) -> list[MetricsRow]:
        """Per-epoch rows by epoch, then the on-demand evaluations (epoch None) oldest first."""
        c = metrics_table.c
        q = (select(c.epoch, c.n, c["values"], c.collapse, c.recorded_at).where(c.job_id == job_id)
             .order_by(c.epoch.is_(None), c.epoch, c.recorded_at, c.id))
        return self._read(lambda conn: [metrics_from_row(r) for r in conn.execute(q)])

    def progress_of(self, job_ids: list[str]) -> dict[str, tuple[EpochRow | None, MetricsRow | None]]:
        """{job id: (last epoch, latest quality figures)} for many jobs in two queries, not two per
        job: what a list of jobs (`ganctl list`, the dashboard) shows."""
        if not job_ids:
            return {}
        e, m = epochs_table.c, metrics_table.c
        last = (select(e.job_id, func.max(e.epoch).label("epoch"))
                .where(e.job_id.in_(job_ids)).group_by(e.job_id).subquery())
        q_epochs = (select(e.job_id, e.epoch, e.d_loss, e.g_loss, e.seconds, e.images_per_s)
                    .join(last, (e.job_id == last.c.job_id) & (e.epoch == last.c.epoch)))
        ranked = (select(m.job_id, m.epoch, m.n, m["values"], m.collapse, m.recorded_at,
                         func.row_number().over(partition_by=m.job_id,
                                                order_by=(m.recorded_at.desc(), m.id.desc())).label("rank"))
                  .where(m.job_id.in_(job_ids)).subquery())
        q_metrics = select(ranked).where(ranked.c.rank == 1)

        def nan(v: float | None) -> float:
            return math.nan if v is None else v

        def run(conn: Connection):
            out: dict[str, list] = {i: [None, None] for i in job_ids}
            for r in conn.execute(q_epochs):
                out[r.job_id][0] = EpochRow(r.epoch, nan(r.d_loss), nan(r.g_loss), nan(r.seconds), nan(r.images_per_s))
            for r in conn.execute(q_metrics):
                out[r.job_id][1] = metrics_from_row(r)
            return {i: tuple(v) for i, v in out.items()}

        return self._read(run)

    def latest_metrics(self, job_id: str) -> MetricsRow | None:
        """The most recently recorded quality figures of a job, or None."""
        c = metrics_table.c
        q = (select(c.epoch, c.n, c["values"], c.collapse, c.recorded_at).where(c.job_id == job_id)
             .order_by(c.recorded_at.desc(), c.id.desc()).limit(1))

        def run(conn: Connection) -> MetricsRow | None:
            row = conn.execute(q).first()
            return metrics_from_row(row) if row is not None else None

        return self._read(run)
