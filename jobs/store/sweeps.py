"""Sweeps and their successive-halving rungs. A mixin of Store (uses _tx/_read/_get).

`create_sweep` writes the sweep row and all its job rows in one transaction. `decide_rung` is the
whole early-stopping decision in ONE transaction, taken by the job itself when it records an
evaluated epoch (no controller process): fence check, the decision already recorded for this
(job, epoch) if any (a re-run epoch after a crash gets the same answer), else compare the job's FD
with every FD recorded at the same epoch in the sweep (ASHA: decided on arrival, so no rung ever
waits for a job that died), record it, and on a cut move the job running -> stopped.
"""
from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from ganctl.jobs.store.models import jobs_table, rungs_table, sweeps_table, utcnow
from ganctl.jobs.store.rows import Ambiguous, Job, NotFound, StoreError, job_from_row

_HEX = re.compile(r"^[0-9a-f-]{4,36}$")


@dataclass(frozen=True)
class SweepRow:
    id: str
    spec: dict  # {"base": {...}, "sets": {key: [values]}, "random": N|None, "seed": int, "configs": [...]}
    keep: float
    created_at: datetime
    cancelled: bool

    @property
    def short_id(self) -> str:
        return self.id[:8]


@dataclass(frozen=True)
class RungRow:
    job_id: str
    epoch: int
    fd: float | None
    cutoff: float | None
    go_on: bool
    reason: str | None


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated q-quantile (0..1) of `values` (numpy's default method)."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _sweep(r) -> SweepRow:
    m = r._mapping
    return SweepRow(m["id"], dict(m["spec"]), float(m["keep"]), m["created_at"], bool(m["cancelled"]))


def _rung(r) -> RungRow:
    m = r._mapping
    fd = m["fd"] if m["fd"] is not None and math.isfinite(m["fd"]) else None  # inf too: no JSON for it
    cut = m["cutoff"] if m["cutoff"] is not None and math.isfinite(m["cutoff"]) else None
    return RungRow(m["job_id"], m["epoch"], fd, cut, bool(m["go_on"]), m["reason"])


class SweepsMixin:
    def create_sweep(self, spec: dict, keep: float, jobs: list[tuple[dict, int]], *,
                     max_attempts: int = 3) -> tuple[SweepRow, list[Job]]:
        """The sweep row and one queued train job per (spec, total_epochs), in one transaction."""
        if not 0 < keep <= 1:
            raise StoreError(f"keep must be in (0, 1], got {keep}")
        sweep_id, now = str(uuid.uuid4()), utcnow()
        step = timedelta(microseconds=1)  # created_at keeps the configurations' order
        ids = [str(uuid.uuid4()) for _ in jobs]

        def run(conn: Connection):
            conn.execute(sweeps_table.insert().values(id=sweep_id, spec=spec, keep=float(keep), created_at=now,
                                                      cancelled=False))
            for i, (job_id, (job_spec, epochs)) in enumerate(zip(ids, jobs)):
                conn.execute(jobs_table.insert().values(
                    id=job_id, kind="train", spec=dict(job_spec), status="queued", attempts=0,
                    max_attempts=max_attempts, created_at=now + i * step, cancel_requested=False, total_epochs=epochs,
                    sweep_id=sweep_id))
            sweep = _sweep(conn.execute(select(sweeps_table).where(sweeps_table.c.id == sweep_id)).one())
            rows = conn.execute(select(jobs_table).where(jobs_table.c.id.in_(ids))).all()
            by_id = {r._mapping["id"]: job_from_row(r) for r in rows}
            return sweep, [by_id[i] for i in ids]

        return self._tx(run)

    def get_sweep(self, id_or_prefix: str) -> SweepRow:
        key = (id_or_prefix or "").strip().lower()
        if not _HEX.match(key):
            raise StoreError(f"invalid sweep id {id_or_prefix!r}: expected a sweep id or a prefix of it "
                             "(at least 4 hex digits)")

        def run(conn: Connection) -> SweepRow:
            rows = conn.execute(select(sweeps_table).where(sweeps_table.c.id.like(key + "%")).limit(6)).all()
            if not rows:
                raise NotFound(f"no sweep with id starting with {key!r}")
            if len(rows) > 1:
                raise Ambiguous(f"sweep id prefix {key!r} is ambiguous; give more digits")
            return _sweep(rows[0])

        return self._read(run)

    def list_sweeps(self, limit: int = 20) -> list[tuple[SweepRow, list[str], RungRow | None]]:
        """The newest sweeps: each with its jobs' states and its lowest recorded rung FD (every
        evaluated epoch of a sweep job is a rung; a tie goes to the later epoch, as the ranking's
        does), in three queries whatever the number of sweeps."""
        newest = select(sweeps_table.c.id).order_by(sweeps_table.c.created_at.desc(), sweeps_table.c.id).limit(limit)

        def run(conn: Connection):
            sweeps = [_sweep(r) for r in conn.execute(select(sweeps_table).where(sweeps_table.c.id.in_(newest))
                                                      .order_by(sweeps_table.c.created_at.desc(), sweeps_table.c.id))]
            states: dict[str, list[str]] = {s.id: [] for s in sweeps}
            for sweep_id, status in conn.execute(select(jobs_table.c.sweep_id, jobs_table.c.status)
                                                 .where(jobs_table.c.sweep_id.in_(newest))):
                states[sweep_id].append(status)
            best: dict[str, RungRow] = {}
            for r in conn.execute(select(rungs_table).where(rungs_table.c.sweep_id.in_(newest))
                                  .order_by(rungs_table.c.epoch.desc(), rungs_table.c.id)):
                rung, sweep_id = _rung(r), r._mapping["sweep_id"]
                if rung.fd is not None and (sweep_id not in best or rung.fd < best[sweep_id].fd):
                    best[sweep_id] = rung
            return [(s, states[s.id], best.get(s.id)) for s in sweeps]

        return self._read(run)

    def delete_sweep(self, sweep_id: str) -> None:
        """A sweep none of whose jobs was queued (the broker refused the first): nothing to keep."""
        self._tx(lambda conn: conn.execute(sweeps_table.delete().where(sweeps_table.c.id == sweep_id)))

    def sweep_jobs(self, sweep_id: str) -> list[Job]:
        q = select(jobs_table).where(jobs_table.c.sweep_id == sweep_id).order_by(jobs_table.c.created_at,
                                                                                   jobs_table.c.id)
        return self._read(lambda conn: [job_from_row(r) for r in conn.execute(q)])

    def mark_sweep_cancelled(self, sweep_id: str) -> None:
        stmt = update(sweeps_table).where(sweeps_table.c.id == sweep_id).values(cancelled=True)
        self._tx(lambda conn: conn.execute(stmt))

    def rungs(self, sweep_id: str) -> list[RungRow]:
        q = select(rungs_table).where(rungs_table.c.sweep_id == sweep_id).order_by(rungs_table.c.epoch,
                                                                                     rungs_table.c.id)
        return self._read(lambda conn: [_rung(r) for r in conn.execute(q)])

    def decide_rung(self, job_id: str, attempt: int, epoch: int, fd: float | None, *, keep: float,
                    rung: int, collapse: str | None = None, final: bool = False) -> RungRow | None:
        """Go on or stop, in one transaction (see the module doc). None: the job is not running under
        `attempt` any more (fenced). The job goes on when its FD is at most the `keep`-quantile of all
        FDs recorded at this epoch in its sweep, its own included (the first to arrive always goes
        on); a collapse alarm (`collapse`: the caller passes it from the second rung on) or a
        non-finite FD stops it at once; at the last epoch it only records."""
        c, rc = jobs_table.c, rungs_table.c

        def run(conn: Connection) -> RungRow | None:
            job = self._get(conn, job_id)
            if job is None or job.status != "running" or job.attempts != attempt or job.sweep_id is None:
                return None
            # Serialise the sweep's decisions (PostgreSQL; SQLite's write transaction already is).
            lock = select(sweeps_table.c.id).where(sweeps_table.c.id == job.sweep_id)
            conn.execute(lock.with_for_update() if conn.dialect.name == "postgresql" else lock)
            done = conn.execute(select(rungs_table).where(rc.job_id == job_id, rc.epoch == epoch)).first()
            if done is not None:
                decision = _rung(done)
            else:
                others = [v for v in conn.execute(select(rc.fd).where(rc.sweep_id == job.sweep_id, rc.epoch == epoch,
                                                                      rc.job_id != job_id,
                                                                      rc.cutoff.is_not(None))).scalars()
                          if v is not None and math.isfinite(v)]
                ok = fd is not None and math.isfinite(fd)
                cutoff = percentile(others + [fd], keep) if ok else None
                if final:  # nothing left to save: record only (status still shows an alarm)
                    go_on, reason = True, None
                elif collapse:  # its FD sets no bar for the others (cutoff NULL: left out above)
                    cutoff, go_on, reason = None, False, f"rung {rung} (epoch {epoch}): {collapse}"
                elif not ok:
                    go_on, reason = False, f"rung {rung} (epoch {epoch}): FD is not finite"
                else:
                    go_on = fd <= cutoff + 1e-12
                    reason = None if go_on else f"rung {rung} (epoch {epoch}): FD {fd:.1f}, cut at {cutoff:.1f}"
                conn.execute(rungs_table.insert().values(
                    sweep_id=job.sweep_id, job_id=job_id, epoch=epoch, fd=fd, cutoff=cutoff, go_on=go_on,
                    reason=reason, recorded_at=utcnow()))
                decision = RungRow(job_id, epoch, fd if ok else None, cutoff, go_on, reason)
            if not decision.go_on:
                conn.execute(update(jobs_table).where(c.id == job_id, c.status == "running", c.attempts == attempt)
                             .values(status="stopped", finished_at=utcnow(), error=decision.reason))
            return decision

        return self._tx(run)
