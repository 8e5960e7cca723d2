"""Shared CLI helpers: the one-line error, the store, job rendering and JSON.

Nothing here imports TensorFlow or Celery; the store (SQLAlchemy) is imported when first used.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import sys
from datetime import datetime, timezone
from typing import Any, Callable, NoReturn

import typer

EXIT_USAGE = 2
TERMINAL = ("completed", "failed", "cancelled")


class CliError(Exception):
    """A user-facing error: printed as one `error: ...` line, exit status 2."""


# Pydantic field names -> the option that sets them, so a validation error names the flag.
OPTION_FOR_FIELD = {
    "arch": "--arch", "epochs": "--epochs", "split": "--split", "classes": "--classes",
    "limit": "--limit", "seed": "--seed", "batch_size": "--batch-size", "lr_g": "--lr-g",
    "lr_d": "--lr-d", "label_smoothing": "--label-smoothing", "label_noise": "--label-noise",
    "precision": "--precision", "checkpoint_every": "--checkpoint-every",
    "grid_every": "--grid-every", "n": "--n", "format": "--format", "dataset": "--dataset",
    "image_size": "--image-size", "channels": "--channels", "resize": "--resize",
    "eval_every": "--eval-every", "eval_n": "--eval-n",
    "recipe": "--recipe", "loss": "--loss", "spectral_norm": "--spectral-norm", "ema": "--ema",
    "augment": "--augment", "r1": "--r1", "beta_1": "--beta1", "beta_2": "--beta2",
}


def one_line(exc: BaseException) -> str:
    """The first, most useful line of an exception, for a human."""
    errors = getattr(exc, "errors", None)
    if callable(errors) and type(exc).__name__ == "ValidationError":
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if not isinstance(p, int)]
        field = loc[0] if loc else ""
        msg = str(first.get("msg", exc))
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        if first.get("type") == "extra_forbidden":
            msg = "unknown field"
        where = OPTION_FOR_FIELD.get(field, field)
        return f"{where}: {msg}" if where else msg
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code)


def _user_error_types() -> tuple[type[BaseException], ...]:
    # pydantic.ValidationError, DataError, LaunchError and ArtifactError are all ValueErrors.
    types: list[type[BaseException]] = [CliError, ValueError]
    repo = sys.modules.get("ganctl.jobs.store.repo")
    if repo is not None:
        types.append(repo.StoreError)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        types.append(sa_exc.SQLAlchemyError)  # e.g. the database server is down
    return tuple(types)


def _database_error(exc: BaseException) -> str:
    from ganctl.jobs.store.repo import normalize_url

    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    try:
        from sqlalchemy.engine import make_url

        where = make_url(normalize_url(settings().resolved_database_url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        where = "the configured database"
    return f"database error at {where}: {first}"


def user_errors(fn: Callable) -> Callable:
    """Decorator for commands: StoreError / ValidationError / DataError / ... -> one line, exit 2.

    GANCTL_DEBUG=1 re-raises instead, with the traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _user_error_types() as exc:
            if os.environ.get("GANCTL_DEBUG"):
                raise
            if type(exc).__module__.startswith("sqlalchemy"):
                fail(_database_error(exc))
            fail(one_line(exc))

    return wrapper


def import_tensorflow_quietly() -> None:
    """Load TensorFlow with its C++ start-up lines (absl's, printed before any log level applies:
    TF_CPP_MIN_LOG_LEVEL cannot hide them) sent to /dev/null: noise in a command's output."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def settings():
    from ganctl.jobs.config import get_settings

    return get_settings()


def open_store():
    """The results store; the embedded SQLite default creates/upgrades its schema on first use."""
    from ganctl.jobs.store.repo import Store

    return Store.from_settings(settings())


# ----------------------------------------------------------------------------- rendering


def jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return None  # PNG bytes never go to JSON; the path does
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN/inf (a diverged loss) is null in JSON
    if hasattr(value, "__fspath__"):
        return os.fspath(value)
    return value


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, sort_keys=False, allow_nan=False))


def job_json(job, store=None, *, details: bool = False) -> dict:
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


def fmt_loss(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4f}" if math.isfinite(x) else str(x)


def fmt_seconds(s: float | None) -> str:
    if s is None or not math.isfinite(s):
        return "-"
    s = max(0.0, s)
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def fmt_time(t: datetime | None) -> str:
    return t.astimezone().strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def ago(t: datetime | None) -> str:
    if t is None:
        return "-"
    return fmt_seconds((datetime.now(timezone.utc) - t).total_seconds()) + " ago"


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def arch_of(job) -> str:
    if job.kind == "train":
        return str(job.spec.get("arch", "-"))
    return "-"


def classes_text(indices) -> str:
    from ganctl.jobs.labels import CLASS_NAMES

    if not indices:
        return "all"
    # Fashion-MNIST classes are stored as indices; a folder dataset's are its sub-folder names.
    return ",".join(CLASS_NAMES[i] if isinstance(i, int) and 0 <= i < len(CLASS_NAMES) else str(i)
                    for i in indices)


def publish_or_fail(store, job, what: str) -> None:
    """Publish the job's task within settings.submit_timeout; on failure delete the row (nothing
    stays queued) and exit 2 with one line naming the broker (password masked)."""
    import threading

    from ganctl.worker.app import create_app, publish, safe_url

    s = settings()
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
    fail(f"cannot reach the broker at {safe_url(s.resolved_broker_url)}: {one_line(error)} "
         f"({what} not queued)")
