"""Lineage (a training job that extends or forks another) and job tags. A mixin of Store.

The parent is the job row's `parent_id` (as for sample / eval jobs); `job_links` says how the
child carries on from it (extend / fork) and from which epoch; `job_tags` holds free-form tags.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import Connection, insert, select

from ganctl.jobs.store.models import job_links_table, job_tags_table, jobs_table
from ganctl.jobs.store.rows import Job, job_from_row


@dataclass(frozen=True)
class Link:
    parent_id: str
    kind: str  # extend | fork
    start_epoch: int  # the parent's checkpoint the child starts from; its first epoch is this + 1


class LineageMixin:
    def create_linked_job(self, spec: dict, *, total_epochs: int, max_attempts: int,
                          parent_id: str | None = None, link: tuple[str, int] | None = None,
                          tags: Iterable[str] = ()) -> Job:
        """A queued train job with its link (kind, start epoch) and tags; nothing stays if a part fails."""
        job = self.create_job("train", spec, parent_id=parent_id, total_epochs=total_epochs,
                              max_attempts=max_attempts)

        def run(conn: Connection) -> None:
            if link is not None:
                conn.execute(insert(job_links_table).values(job_id=job.id, kind=link[0], start_epoch=link[1]))
            for tag in sorted(set(tags)):
                conn.execute(insert(job_tags_table).values(job_id=job.id, tag=tag))

        try:
            self._tx(run)
        except BaseException:
            self.delete_job(job.id)
            raise
        return job

    def link_of(self, job_id: str) -> Link | None:
        q = (select(jobs_table.c.parent_id, job_links_table.c.kind, job_links_table.c.start_epoch)
             .join(jobs_table, jobs_table.c.id == job_links_table.c.job_id)
             .where(job_links_table.c.job_id == job_id))
        row = self._read(lambda conn: conn.execute(q).first())
        return Link(row.parent_id, row.kind, int(row.start_epoch)) if row is not None and row.parent_id else None

    def linked_children(self, job_id: str) -> list[tuple[Job, str, int]]:
        """Train jobs that extend / fork `job_id`: (job, kind, start epoch), oldest first."""
        q = (select(jobs_table, job_links_table.c.kind.label("link_kind"), job_links_table.c.start_epoch)
             .join(job_links_table, job_links_table.c.job_id == jobs_table.c.id)
             .where(jobs_table.c.parent_id == job_id).order_by(jobs_table.c.created_at, jobs_table.c.id))
        return self._read(lambda conn: [(job_from_row(r), r.link_kind, int(r.start_epoch))
                                        for r in conn.execute(q)])

    def tags_of(self, job_id: str) -> list[str]:
        q = select(job_tags_table.c.tag).where(job_tags_table.c.job_id == job_id).order_by(job_tags_table.c.tag)
        return self._read(lambda conn: [r.tag for r in conn.execute(q)])

    def tags_of_many(self, job_ids: Iterable[str]) -> dict[str, list[str]]:
        """{job id: its tags, sorted} for many jobs in one query (a page of `list` rows)."""
        ids = list(job_ids)
        q = (select(job_tags_table.c.job_id, job_tags_table.c.tag).where(job_tags_table.c.job_id.in_(ids))
             .order_by(job_tags_table.c.tag))
        out: dict[str, list[str]] = {i: [] for i in ids}
        for r in self._read(lambda conn: conn.execute(q).all()) if ids else []:
            out[r.job_id].append(r.tag)
        return out

    def tagged(self, tag: str) -> set[str]:
        """Ids of the jobs tagged `tag`."""
        q = select(job_tags_table.c.job_id).where(job_tags_table.c.tag == tag)
        return self._read(lambda conn: {r.job_id for r in conn.execute(q)})
