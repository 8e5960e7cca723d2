"""`ganctl report <id>`: one self-contained HTML page of a training job (no TensorFlow).

Also holds the helpers the other picture commands (`plot`, `grids`) share: the training job with
at least one epoch, its default output path, and writing a file with a one-line error.
"""
from __future__ import annotations

from pathlib import Path

import typer

from ganctl.jobs.config import get_settings as settings
from ganctl.jobs.service import open_store

from ganctl.cli import _options as o
from ganctl.cli._errors import CliError, user_errors
from ganctl.cli._output import print_json


def training_job(store, job_id: str):
    """(job, epochs) of a training job with at least one recorded epoch, else a CliError."""
    job = store.get_job(job_id)  # NotFound / Ambiguous -> one line
    if job.kind != "train":
        parent = f" (its training job is {job.parent_id[:8]})" if job.parent_id else ""
        raise CliError(f"job {job.short_id} is a {job.kind} job, not a training job{parent}")
    epochs = store.epochs(job.id)
    if not epochs:
        raise CliError(f"job {job.short_id} has no epochs " + (f"({job.status})" if job.finished else "yet"))
    return job, epochs


def job_folder(job):
    """The job's folder under the artifacts root (ganctl.jobs.layout.JobFolder)."""
    from ganctl.jobs.layout import JobFolder

    return JobFolder.of(settings().resolved_artifacts_dir, job.id)


def write_file(path: Path, data: bytes, suffixes: tuple[str, ...], flag: str = "--out") -> Path:
    """`data` written atomically to `path` (given by `flag`), whose name must end in one of
    `suffixes` (the format written: a .jpg holding PNG bytes would mislead every viewer)."""
    from ganctl.jobs.layout import write_atomic

    if Path(path).suffix.lower() not in suffixes:
        raise CliError(f"{flag} {path}: this writes {suffixes[0][1:].upper()}; give a name ending in {suffixes[0]}")
    try:
        return write_atomic(path, data)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _scalar(v) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def quality_metrics(job, epochs, stored=()) -> list[dict] | None:
    """Quality rows for the report: the store's metrics rows (per evaluated epoch, then the
    on-demand `ganctl eval` ones, epoch "eval"), else `job.result["quality"]` (a dict, or a list
    of dicts; written before the metrics table existed), else None."""
    rows = [{"epoch": "eval" if m.epoch is None else m.epoch, "n": m.n,
             **{k: v for k, v in m.values.items() if k != "n"},
             "collapse_reasons": "; ".join(m.collapse_reasons)} for m in stored]
    if not rows:
        quality = (job.result or {}).get("quality")
        if isinstance(quality, dict):
            quality = [quality]
        if isinstance(quality, list):
            rows = [q for q in quality if isinstance(q, dict)]
            if len(rows) == 1 and "epoch" not in rows[0]:
                rows[0] = {"epoch": epochs[-1].epoch, **rows[0]}
    # A conditional job's per-class figures as columns ("accuracy trouser", "FD trouser", ...).
    rows = [r | {f"{fig} {name}": (v or {}).get(key) for name, v in (r.get("per_class") or {}).items()
                 for fig, key in (("accuracy", "accuracy"), ("FD", "fd"))} for r in rows]
    # nested values (e.g. a class histogram) would make unreadable cells: scalars only
    rows = [{k: v for k, v in r.items() if _scalar(v)} for r in rows]
    return [r for r in rows if r] or None


def final_sample_grid(store, job) -> tuple[bytes | None, str | None]:
    """PNG bytes and path of the newest completed sample job's 'sample-grid' artifact, if any."""
    done = [c for c in store.children(job.id) if c.kind == "sample" and c.status == "completed"]
    done.sort(key=lambda c: (c.finished_at or c.created_at, c.created_at))
    for child in reversed(done):
        for a in store.artifacts(child.id):
            if a.format == "sample-grid":
                try:
                    return Path(a.path).read_bytes(), a.path
                except OSError:
                    break  # recorded but gone (another host's disk): try an older one
    return None, None


@user_errors
def report(job_id: o.JobId, out: o.OutFile = None, json: o.Json = False) -> None:
    """Write a self-contained HTML report of a training job and print its path.

    Overview, spec, losses, quality metrics, every epoch's grid, the newest sample grid, artifacts.
    Default: <artifacts>/<job id>/report.html.
    """
    from ganctl.jobs.report import render_html

    store = open_store()
    job, epochs = training_job(store, job_id)
    grids = store.grids(job.id, with_png=True)
    sample_png, sample_path = final_sample_grid(store, job)
    metrics = quality_metrics(job, epochs, store.metrics(job.id))
    from ganctl.jobs.experiments import lineage_rows

    page = render_html(job, epochs, grids, store.artifacts(job.id), metrics=metrics,
                       sample_grid_png=sample_png, lineage=lineage_rows(store, job))
    path = write_file(out or job_folder(job).report, page.encode("utf-8"), (".html", ".htm"))
    if json:
        print_json({"job": job.id, "path": str(path), "epochs": len(epochs),
                    "grids": sum(1 for g in grids if g.png), "sample_grid": sample_path,
                    "metrics": bool(metrics)})
    else:
        typer.echo(str(path))
