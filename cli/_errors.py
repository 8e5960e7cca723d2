"""The CLI's one-line errors: `error: ...` on stderr, exit status 2, for every user error.

Nothing here imports TensorFlow or Celery; the store's error types are recognised once loaded.
"""
from __future__ import annotations

import functools
import sys
from typing import Callable, NoReturn

import typer

EXIT_USAGE = 2


class CliError(Exception):
    """A user-facing error of the CLI itself (e.g. a bad --out): one `error: ...` line, exit 2."""


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
    "augment": "--augment", "r1": "--r1", "mode_seeking": "--mode-seeking", "beta_1": "--beta1",
    "beta_2": "--beta2", "class_loss": "--class-loss", "clusters": "--clusters",
    "cluster_layers": "--cluster-layers",
    "truncation": "--truncation", "interpolate": "--interpolate",
}


def one_line(exc: BaseException) -> str:
    """The first, most useful line of an exception, for a human (a validation error names its flag)."""
    from ganctl.jobs.service import one_line as plain, validation_error

    if (parts := validation_error(exc)) is not None:
        field, msg = parts
        where = OPTION_FOR_FIELD.get(field, field)
        return f"{where}: {msg}" if where else msg
    return plain(exc)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    raise typer.Exit(code)


def _user_error_types() -> tuple[type[BaseException], ...]:
    # ServiceError, pydantic.ValidationError, DataError, LaunchError and ArtifactError are ValueErrors.
    types: list[type[BaseException]] = [CliError, ValueError]
    repo = sys.modules.get("ganctl.jobs.store.repo")
    if repo is not None:
        types.append(repo.StoreError)
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is not None:
        types.append(sa_exc.SQLAlchemyError)  # e.g. the database server is down
    return tuple(types)


def _settings():
    from ganctl.jobs.config import get_settings

    return get_settings()


def _debug() -> bool:
    try:
        return _settings().debug
    except Exception:  # noqa: BLE001 - the error being reported may be the settings' own
        return False


def _database_error(exc: BaseException) -> str:
    from ganctl.jobs.store.repo import normalize_url

    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    try:
        from sqlalchemy.engine import make_url

        where = make_url(normalize_url(_settings().resolved_database_url)).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        where = "the configured database"
    return f"database error at {where}: {first}"


def user_errors(fn: Callable) -> Callable:
    """Decorator for commands: ServiceError / StoreError / ValidationError / DataError / ... -> one
    line, exit 2. GANCTL_DEBUG=1 (settings.debug) re-raises instead, with the traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except _user_error_types() as exc:
            if _debug():
                raise
            if type(exc).__module__.startswith("sqlalchemy"):
                fail(_database_error(exc))
            fail(one_line(exc))

    return wrapper
