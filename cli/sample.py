"""`ganctl sample <train-id>`: queue a sampling job on the 'sample' queue, wait, show the files."""
from __future__ import annotations

import shutil
from pathlib import Path

import typer

from ganctl.jobs import service

from ganctl.cli import _options as o
from ganctl.cli._child import queue_and_wait
from ganctl.cli._errors import CliError, user_errors
from ganctl.cli._output import print_json


def download_out(job_id: str, out: Path) -> tuple[Path, Path]:
    """GANCTL_ARTIFACTS_URL: the sample job's objects (grid.png, images/) downloaded into `out`."""
    from ganctl.jobs import objects
    from ganctl.jobs.config import get_settings
    from ganctl.jobs.mirror import pull_job

    try:
        pull_job(objects.from_settings(get_settings()), job_id, out)
    except objects.ObjectStoreError as exc:
        raise CliError(str(exc)) from None
    return out / "grid.png", out / "images"


def copy_out(result: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    grid = out / Path(result["grid"]).name
    shutil.copy2(result["grid"], grid)
    images = out / "images"
    images.mkdir(exist_ok=True)
    for f in result.get("files", []):
        shutil.copy2(f, images / Path(f).name)
    if result.get("walk"):
        shutil.copy2(result["walk"], out / Path(result["walk"]).name)
    return grid, images


@user_errors
def sample(
    job_id: o.JobId,
    n: o.N = 12,
    seed: o.SampleSeed = None,
    out: o.Out = None,
    format: o.Format = "h5",
    epoch: o.EpochPick = None,
    no_wait: o.NoWait = False,
    timeout: o.Timeout = None,
    json: o.Json = False,
    poll: o.Poll = 0.05,  # a sample job takes well under a second on a warm worker
    truncation: o.Truncation = None,
    interpolate: o.Interpolate = None,
    klass: o.SampleClass = None,
) -> None:
    """Generate N images from a completed training job's generator (runs on a worker)."""
    from ganctl.jobs.experiments import resolve_epoch
    from ganctl.jobs.spec import SampleSpec

    if out is not None and no_wait:
        raise CliError("--out copies the samples once they are made: it does not go with --no-wait")
    if out is not None and out.exists() and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a folder")
    if epoch is not None and format != "h5":
        raise CliError("--epoch loads a checkpoint into the generator built from code: use --format h5")
    store = service.open_store()
    parent = store.get_job(job_id)
    picked = None
    if klass is not None:
        from ganctl.jobs import conditional

        picked = conditional.pick(parent.spec or {}, klass, parent.short_id)
    spec = SampleSpec(n=n, seed=seed, format=format, epoch=resolve_epoch(store, parent, epoch),
                      truncation=truncation, interpolate=interpolate,
                      label=picked if isinstance(picked, int) else None, all_classes=picked == "all")
    job = queue_and_wait(store, parent, "sample", spec, no_wait=no_wait, json=json,
                         poll=poll, timeout=timeout, default_timeout=600.0)
    if job is None:
        return
    result = dict(job.result or {})
    if out is not None:
        remote = str(result.get("grid", "")).startswith("s3://")
        grid, images = download_out(job.id, out) if remote else copy_out(result, out)
        result.update(grid=str(grid), dir=str(images),
                      files=[str(images / Path(f).name) for f in result.get("files", [])])
        if result.get("walk"):
            result["walk"] = str(out / Path(result["walk"]).name)
    if json:
        print_json(service.job_dict(job) | {"result": result})
        return
    typer.echo(f"job     {job.id}")
    if spec.epoch is not None:
        typer.echo(f"epoch   {spec.epoch} (checkpoint of {parent.short_id}{', its best' if epoch == 'best' else ''})")
    if picked is not None:
        from ganctl.jobs import conditional

        typer.echo(f"class   {conditional.names_of(parent.spec or {})[picked] if isinstance(picked, int) else 'all (one row per class)'}")
    typer.echo(f"grid    {result.get('grid')}")
    typer.echo(f"images  {result.get('dir')} ({len(result.get('files', []))} PNG files)")
    if result.get("walk"):
        typer.echo(f"walk    {result['walk']} ({spec.interpolate} latent points, animated GIF)")
