"""What a user can do to jobs, for every front end: the CLI's commands call these functions, and
so will the web page. Nothing here prints, exits or knows Typer; Celery is imported only to
publish, the store's SQLAlchemy and the specs' numpy only when a function needs them (a `ganctl
status` pays for neither Celery nor numpy).

- `build_spec(**fields)`, `submit(store, spec)`: commit the job row, then publish its task; broker down: no row stays.
- `queue_child(store, parent, kind, spec)`: a sample / eval job of a finished training job.
- `publish_or_roll_back(store, job, what)`: the publish step both share.
- `cancel(store, job_id)`, `summary(store, job)`, `job_dict(job, store, details=...)`.

A refusal meant for the user is a `ServiceError` (a ValueError): its message is one line.
"""
from __future__ import annotations

import statistics
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ganctl.jobs.config import Settings, get_settings
from ganctl.jobs.jsonsafe import jsonable
from ganctl.jobs.queues import QUEUE_FOR_KIND

if TYPE_CHECKING:  # annotations only: importing the store pulls in SQLAlchemy, the specs numpy
    from ganctl.jobs.spec import TrainSpec
    from ganctl.jobs.store.repo import EpochRow, Job, MetricsRow, Store


class ServiceError(ValueError):
    """A refusal for the user (bad source job, broker unreachable, ...): a one-line message."""


def validation_error(exc: BaseException) -> tuple[str, str] | None:
    """A pydantic ValidationError's first error as (field, message without pydantic's prefixes);
    None for any other exception. The CLI names the field's flag, the web page the field."""
    if type(exc).__name__ != "ValidationError" or not callable(getattr(exc, "errors", None)):
        return None
    first = exc.errors()[0]
    loc = [str(p) for p in first.get("loc", ()) if not isinstance(p, int)]
    msg = str(first.get("msg", exc))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if first.get("type") == "extra_forbidden":
        msg = "unknown field"
    return (loc[0] if loc else ""), msg


def one_line(exc: BaseException) -> str:
    """An exception's text on one line (its type's name when it has none); a validation error as
    `field: message`."""
    if (parts := validation_error(exc)) is not None:
        return f"{parts[0]}: {parts[1]}" if parts[0] else parts[1]
    return " ".join(str(exc).split()) or type(exc).__name__


def open_store(settings: Settings | None = None) -> "Store":
    """The results store; the embedded SQLite default creates/upgrades its schema on first use."""
    from ganctl.jobs.store.repo import Store

    return Store.from_settings(settings or get_settings())


# ----------------------------------------------------------------------------- queueing


def build_spec(**fields: Any) -> "TrainSpec":
    """A new submission's TrainSpec from the fields that were given (None: the spec's default); a
    folder dataset is checked on this host too. Raises pydantic.ValidationError with the reason."""
    from ganctl.jobs.spec import TrainSpec

    return TrainSpec.submitted(**{k: v for k, v in fields.items() if v is not None})


def submit(store: "Store", spec: "TrainSpec") -> "Job":
    """Commit a training job's row, then publish `ganctl.train(id)`; the queued Job."""
    check_artifacts()
    job = store.create_job("train", spec.model_dump(mode="json"), total_epochs=spec.epochs,
                           max_attempts=get_settings().max_attempts)
    publish_or_roll_back(store, job, "job")
    return job


def check_source(store: "Store", parent: "Job", kind: str, fmt: str = "h5") -> None:
    """A sample / eval job needs a completed training job with its generator exported in `fmt`
    (an eval job: h5, and a Fashion-MNIST job). ServiceError otherwise."""
    verb = "sample from" if kind == "sample" else "evaluate"
    if parent.kind != "train":
        raise ServiceError(f"job {parent.short_id} is a {parent.kind} job; {verb} a completed train job")
    if kind == "eval":
        from ganctl.jobs.spec import FASHION_MNIST, quality_refused

        why = quality_refused(str((parent.spec or {}).get("dataset", FASHION_MNIST)), "trained")
        if why:
            raise ServiceError(why)
    arts = {a.format for a in store.artifacts(parent.id)}
    wanted = f"{fmt}-generator"
    if kind == "sample":
        if parent.status != "completed" or not arts:
            what = f"is {parent.status}" + (" and has no artifacts yet" if not arts else "")
            raise ServiceError(f"job {parent.short_id} {what}; {verb} a completed train job")
        if wanted not in arts:
            raise ServiceError(f"job {parent.short_id} has no {fmt} generator (artifacts: {', '.join(sorted(arts))})")
    elif parent.status != "completed" or wanted not in arts:
        what = f"is {parent.status}" + ("" if wanted in arts else " and has no exported generator")
        raise ServiceError(f"job {parent.short_id} {what}; {verb} a completed train job")


def queue_child(store: "Store", parent: "Job", kind: str, spec: Any) -> "Job":
    """Check the parent (`check_source`), commit a `kind` job (sample, eval) on it, publish it
    to its queue; the queued Job. `spec` is its SampleSpec / EvalSpec."""
    check_source(store, parent, kind, getattr(spec, "format", "h5"))
    check_artifacts()
    if getattr(spec, "seed", 0) is None:  # drawn here and stored, so that `status` can say how to redraw them
        import secrets

        spec = spec.model_copy(update={"seed": secrets.randbelow(2**31)})
    job = store.create_job(kind, spec.model_dump(mode="json"), parent_id=parent.id,
                           max_attempts=get_settings().max_attempts)
    publish_or_roll_back(store, job, f"{kind} job")
    return job


def clean_tags(tags: Iterable[str]) -> list[str]:
    """`--tag` values as stored and matched: stripped; an empty one (an unset shell variable) or one
    over the column's 64 characters refused in one line."""
    tags = [str(t).strip() for t in tags]
    if any(not t for t in tags):
        raise ServiceError("--tag: a tag cannot be empty")
    bad = [t for t in tags if len(t) > 64]
    if bad:
        raise ServiceError(f"--tag {bad[0][:20]}...: a tag has at most 64 characters")
    return tags


def check_artifacts() -> None:
    """GANCTL_ARTIFACTS_URL's bucket answers (exists, credentials accepted), before anything is
    queued; ServiceError in one line otherwise. Nothing to check for the local folder."""
    from ganctl.jobs import objects

    try:
        objects.check(get_settings())
    except objects.ObjectStoreError as exc:
        raise ServiceError(str(exc)) from None


def queue_of(job: "Job") -> str:
    return QUEUE_FOR_KIND[job.kind]


def publish_or_roll_back(store: "Store", job: "Job", what: str) -> None:
    """Publish the job's task within settings.submit_timeout; on failure delete the row (nothing
    stays queued) and raise ServiceError naming the broker (password masked)."""
    from ganctl.worker.app import create_app, publish, safe_url

    s = get_settings()
    app = create_app(s)
    outcome: dict[str, BaseException | None] = {}

    def send():
        try:
            publish(app, job, timeout=s.submit_timeout)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    # A thread with a hard deadline: the retry policy bounds the normal case, this bounds a broker
    # that accepts the TCP connection and then never answers.
    t = threading.Thread(target=send, name="ganctl-publish", daemon=True)
    t.start()
    t.join(s.submit_timeout + 5.0)
    error = outcome.get("error", TimeoutError(f"no answer within {s.submit_timeout + 5.0:.0f} s"))
    if error is None:
        return
    from ganctl.jobs.store.repo import IllegalTransition

    try:
        store.delete_job(job.id)
    except IllegalTransition:  # a worker already claimed it: the message did get through
        return
    except Exception:  # noqa: BLE001 - could not delete: at least do not leave it queued
        store.fail(job.id, f"could not reach the broker: {one_line(error)}")
    raise ServiceError(f"cannot reach the broker at {safe_url(s.resolved_broker_url)}: {one_line(error)} "
                       f"({what} not queued)")


def cancel(store: "Store", job_id: str) -> "Job":
    """queued: cancelled at once; running: cancel requested (the worker stops at its next batch,
    keeping its checkpoint); the Job as it is now."""
    return store.request_cancel(store.get_job(job_id).id)


# ----------------------------------------------------------------------------- summary


def collapse_text(reasons: Iterable[str]) -> str:
    """The one mode-collapse warning: 'possible mode collapse: <reasons>'."""
    return f"possible mode collapse: {'; '.join(str(r) for r in reasons) or 'see the figures'}"


@dataclass(frozen=True)
class Summary:
    """Where a job stands: its epochs, latest grid, latest quality figures and collapse warning."""

    job: "Job"
    epochs: list["EpochRow"] = field(default_factory=list)  # training jobs; [] otherwise
    grid: str | None = None  # the newest grid (a training job's) or the sample grid's path
    grid_epoch: int | None = None
    quality: "MetricsRow | None" = None  # a training job's latest figures
    collapse: str | None = None  # collapse_text(...) when the latest figures raise the alarm

    @property
    def epochs_done(self) -> int:
        return self.epochs[-1].epoch if self.epochs else 0

    @property
    def last_epoch(self) -> "EpochRow | None":
        return self.epochs[-1] if self.epochs else None

    @property
    def total_epochs(self) -> int:
        """Epochs asked for (at least 1, for a progress bar)."""
        return self.job.total_epochs or int((self.job.spec or {}).get("epochs", 0) or 0) or 1

    @property
    def seconds_left(self) -> float | None:
        """A running job's training time still to go: the remaining epochs at the median epoch time
        so far (the first epoch, which includes tracing and warm-up, only while it is the only one).
        Grids, evaluation and checkpoints come on top. None when not running or nothing to go on."""
        if self.job.status != "running" or not self.epochs or self.epochs_done >= self.total_epochs:
            return None
        timed = [e.seconds for e in self.epochs if e.epoch > 1] or [self.epochs[0].seconds]
        return statistics.median(timed) * (self.total_epochs - self.epochs_done)

    def progress(self) -> dict:
        """The figures `ganctl list` shows of each job (JSON-safe)."""
        last, q = self.last_epoch, self.quality
        return {"epochs_done": self.epochs_done,
                "d_loss": last.d_loss if last else None, "g_loss": last.g_loss if last else None,
                "fd": q.values.get("fd") if q else None, "collapse": bool(q and q.collapse)}


def summary(store: "Store", job: "Job", *, grids: bool = True) -> Summary:
    """The job's Summary (grids=False skips the grid query, for a list of many jobs)."""
    if job.kind != "train":
        result = job.result or {}
        warning = collapse_text(result.get("collapse_reasons") or []) if result.get("collapse") else None
        return Summary(job, grid=result.get("grid"), collapse=warning)
    epochs = store.epochs(job.id)
    latest = store.latest_metrics(job.id)
    rows = store.grids(job.id) if grids else []
    return Summary(job, epochs, grid=rows[-1].path if rows else None, grid_epoch=rows[-1].epoch if rows else None,
                   quality=latest,
                   collapse=collapse_text(latest.collapse_reasons) if latest is not None and latest.collapse else None)


def progress_rows(store: "Store", jobs: list["Job"]) -> dict[str, dict]:
    """Summary.progress() of many jobs, in two queries for all of them (Store.progress_of)."""
    got = store.progress_of([j.id for j in jobs if j.kind == "train"])
    out = {}
    for j in jobs:
        last, quality = got.get(j.id, (None, None))
        out[j.id] = Summary(j, [last] if last else [], quality=quality).progress()
    return out


def job_dict(job: "Job", store: "Store | None" = None, *, details: bool = False) -> dict:
    """A job as JSON-safe data; with details (and the store): its epochs, grids, artifacts,
    quality figures and children."""
    d = jsonable(job)
    d.pop("spec", None)
    d["spec"] = job.spec
    if details and store is not None:
        epochs = store.epochs(job.id)
        d["epochs_done"] = epochs[-1].epoch if epochs else 0
        d["epochs"] = jsonable(epochs)
        d["grids"] = [{"epoch": g.epoch, "path": g.path} for g in store.grids(job.id)]
        d["artifacts"] = jsonable(store.artifacts(job.id))
        d["metrics"] = jsonable(store.metrics(job.id))
        d["children"] = [c.id for c in store.children(job.id)]
    return d


# ----------------------------------------------------------------------------- dashboard (ganctl ui)


def list_jobs(store: "Store", *, status: str | None = None, arch: str | None = None, tag: str | None = None,
              sweep: str | None = None, limit: int = 20) -> list["Job"]:
    """`ganctl list`'s jobs (and the dashboard's), newest first: filtered by state, arch, tag and
    sweep (an id or prefix; unknown: the store's NotFound)."""
    if arch is not None:
        from ganctl.jobs import archs
        try:
            archs.get(arch)
        except ValueError as exc:  # a typo would list "no jobs matching", as if there were none
            raise ServiceError(str(exc)) from None
    sweep_id = store.get_sweep(sweep).id if sweep else None
    if tag is not None:
        tag = clean_tags([tag])[0]
    if tag is None:
        return store.list_jobs(status=status, arch=arch, limit=limit, sweep_id=sweep_id)
    ids = store.tagged(tag)
    return [j for j in store.list_jobs(status=status, arch=arch, limit=0, sweep_id=sweep_id)
            if j.id in ids][:limit or None]


def job_rows(store: "Store", *, status: str | None = None, arch: str | None = None,
             limit: int = 200, tag: str | None = None, sweep: str | None = None) -> list[dict]:
    """`ganctl list`'s rows (its filters), JSON-safe: each job_dict plus its progress figures and
    tags, newest first."""
    jobs = list_jobs(store, status=status, arch=arch, tag=tag, sweep=sweep, limit=limit)
    progress, tags = progress_rows(store, jobs), store.tags_of_many(j.id for j in jobs)
    return [job_dict(j) | progress[j.id] | {"tags": tags[j.id]} for j in jobs]


def job_details(store: "Store", job_id: str) -> dict:
    """One job for a page or a script: job_dict(details) plus its progress, latest quality, the
    collapse warning and its children (id, kind, status, result)."""
    job = store.get_job(job_id)
    s = summary(store, job)
    d = job_dict(job, store, details=True) | s.progress()
    d["quality"] = jsonable(s.quality)
    d["collapse_text"] = s.collapse
    d["children"] = [{"id": c.id, "kind": c.kind, "status": c.status, "result": jsonable(c.result),
                      "created_at": jsonable(c.created_at)} for c in store.children(job.id)]
    return d


def worker_rows(store: "Store") -> list[dict]:
    """The live workers (the registry), JSON-safe."""
    return [jsonable(w) | {"queues": list(w.queues)}
            for w in store.live_workers(lease_s=get_settings().heartbeat_lease)]


def queue_sample(store: "Store", job_id: str, n: int = 12, seed: int | None = None) -> "Job":
    """Queue a sample job of N images on a completed training job (what `ganctl sample --no-wait` does)."""
    from ganctl.jobs.spec import SampleSpec

    return queue_child(store, store.get_job(job_id), "sample", SampleSpec(n=n, seed=seed))


def queue_eval(store: "Store", job_id: str, n: int = 10_000, seed: int = 0) -> "Job":
    """Queue an eval job on a completed training job (what `ganctl eval --no-wait` does)."""
    from ganctl.jobs.spec import EvalSpec

    return queue_child(store, store.get_job(job_id), "eval", EvalSpec(n=n, seed=seed))
