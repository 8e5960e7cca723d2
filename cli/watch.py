"""`ganctl watch`: follow a job in the store until it ends (also used by `submit --wait`)."""
from __future__ import annotations

import json as jsonlib
import time
from contextlib import nullcontext

import typer

from ganctl.jobs import service
from ganctl.jobs.jsonsafe import jsonable

from ganctl.cli import _options as o
from ganctl.cli import _quality_text as quality
from ganctl.cli._errors import user_errors
from ganctl.cli._output import fmt_loss, fmt_seconds


def _summary(store, job) -> tuple[int, int, list, str | None, float | None]:
    s = service.summary(store, job)
    return s.epochs_done, s.total_epochs, s.epochs, s.grid, s.seconds_left


def left_text(seconds_left: float | None) -> str:
    """'  ~1m20s left' (the summary's estimate), or nothing."""
    return f"  ~{fmt_seconds(seconds_left)} left" if seconds_left is not None else ""


def _metrics(store, job) -> list:
    return store.metrics(job.id) if job.kind == "train" else []


def metrics_line(row) -> str:
    """'quality epoch 2, 200 images: FD 41.2 (floor 3.1)  KID ...', plus the collapse warning."""
    text = f"quality {quality.where(row)}: {quality.line(row.values)}"
    warning = quality.collapse_line(row)
    return text + (f"\n{warning}" if warning else "")


def _info(job, epochs, grid, metrics=()) -> str:
    parts = [job.status]
    if job.cancel_requested and job.status == "running":
        parts[0] = "cancelling"
    if epochs:
        e = epochs[-1]
        parts.append(f"d_loss {fmt_loss(e.d_loss)}  g_loss {fmt_loss(e.g_loss)}  {fmt_seconds(e.seconds)}/epoch")
    if grid:
        parts.append(f"grid {grid}")
    text = "  ".join(parts)
    return text + (f"\n{metrics_line(metrics[-1])}" if metrics else "")


def end_line(job, err: bool = False) -> None:
    """The last line: what happened. Failure and cancellation go to stderr."""
    short = job.id[:8]
    if job.status == "completed":
        typer.echo(f"job {short} completed", err=err)
    else:
        why = f": {job.error}" if job.error else ""
        typer.echo(f"error: job {short} {job.status}{why}", err=True)


NOBODY_AFTER = 5.0  # seconds a job may sit queued before `follow` checks that a worker listens


def nobody_listens(store, job) -> str | None:
    """The one-line notice when no live registered worker consumes the job's queue, else None."""
    from ganctl.jobs.config import get_settings

    queue = service.queue_of(job)
    if store.live_workers(queue, lease_s=get_settings().heartbeat_lease):
        return None
    return (f"note: no live worker listens on queue '{queue}'; start one with `ganctl worker` "
            f"(still waiting for job {job.id[:8]})")


def follow(store, job_id: str, *, poll: float = 1.0, quiet: bool = False, err: bool = False,
           timeout: float | None = None, json_lines: bool = False):
    """Poll the store until the job ends (or `timeout` passes); show progress unless quiet.

    On a terminal: a live rich progress bar (epoch x/y, last losses, latest grid). Otherwise one
    line per epoch. Returns the last Job read.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=err, highlight=False)
    job = store.get_job(job_id)
    live = console.is_terminal and not quiet and not json_lines
    progress = task = None
    if live:
        from rich.text import Text

        class JobProgress(Progress):
            """The bar on one line, status / losses / grid path below it (folded, never cut)."""

            info = ""

            def get_renderables(self):
                yield self.make_tasks_table(self.tasks)
                if self.info:
                    yield Text(self.info, overflow="fold")

        progress = JobProgress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                               TextColumn("epochs"), TimeElapsedColumn(), console=console)
    shown, last_status, scored = 0, None, set()
    deadline = None if timeout is None else time.monotonic() + timeout
    checked_at = time.monotonic() + NOBODY_AFTER  # once: a worker may still come
    with progress or nullcontext():
        if progress is not None:
            task = progress.add_task(f"{job.kind} {job.id[:8]}", total=None)
        while True:
            job = store.get_job(job.id)
            done, total, epochs, grid, left = _summary(store, job)
            metrics = _metrics(store, job)
            fresh = [m for m in metrics if (m.epoch, m.recorded_at) not in scored]
            scored.update((m.epoch, m.recorded_at) for m in fresh)
            if progress is not None:
                progress.info = _info(job, epochs, grid, metrics) + left_text(left)
                progress.update(task, completed=done, total=total)
            elif json_lines:
                for e in epochs[shown:]:
                    typer.echo(jsonlib.dumps({"event": "epoch", "job": job.id, **jsonable(e)}))
                for m in fresh:
                    typer.echo(jsonlib.dumps({"event": "metrics", "job": job.id, **jsonable(m)}))
            elif not quiet:
                if job.status != last_status:
                    where = f" on {job.worker} ({job.gpu})" if job.status == "running" and job.worker else ""
                    console.print(f"{job.kind} {job.id[:8]}: {job.status}{where}")
                for e in epochs[shown:]:
                    g = next((x.path for x in store.grids(job.id) if x.epoch == e.epoch), None)
                    console.print(f"epoch {e.epoch}/{total}  d_loss {fmt_loss(e.d_loss)}  "
                                  f"g_loss {fmt_loss(e.g_loss)}  {fmt_seconds(e.seconds)}"
                                  + (f"  grid {g}" if g else "")
                                  + (left_text(left) if e is epochs[-1] else ""), soft_wrap=True)  # paths whole
                    for m in [m for m in fresh if m.epoch == e.epoch]:  # each epoch's figures below it
                        console.print(metrics_line(m), soft_wrap=True)
                printed = {e.epoch for e in epochs[shown:]}
                for m in [m for m in fresh if m.epoch not in printed]:
                    console.print(metrics_line(m), soft_wrap=True)
            shown, last_status = len(epochs), job.status
            if checked_at is not None and job.status == "queued" and time.monotonic() >= checked_at:
                checked_at = None
                if note := nobody_listens(store, job):
                    progress.console.print(note) if progress is not None else typer.echo(note, err=True)
            if job.finished:
                break
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
    return job


@user_errors
def watch(job_id: o.JobId, json: o.Json = False, poll: o.Poll = 1.0) -> None:
    """Follow a job live until it ends: epoch progress, last losses, latest grid.

    Exit status 0 when it completed, 1 when it failed or was cancelled.
    """
    store = service.open_store()
    job = follow(store, job_id, poll=poll, json_lines=json)
    if json:
        typer.echo(jsonlib.dumps({"event": "end", "job": service.job_dict(job, store, details=True)}))
    else:
        end_line(job)
    if job.status != "completed":
        raise typer.Exit(1)
