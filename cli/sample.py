"""`ganctl sample <train-id>`: queue a sampling job on the 'sample' queue, wait, show the files."""
from __future__ import annotations

import shutil
from pathlib import Path

import typer

from ganctl.cli import options as o
from ganctl.cli.child import queue_and_wait
from ganctl.cli.common import CliError, job_json, open_store, print_json, user_errors


def check_source(store, job, fmt: str) -> None:
    """The training job must be completed and have the generator exported in `fmt`."""
    if job.kind != "train":
        raise CliError(f"job {job.id[:8]} is a {job.kind} job; sample from a completed train job")
    arts = {a.format for a in store.artifacts(job.id)}
    if job.status != "completed" or not arts:
        what = f"is {job.status}" + (" and has no artifacts yet" if not arts else "")
        raise CliError(f"job {job.id[:8]} {what}; sample from a completed train job")
    if f"{fmt}-generator" not in arts:
        raise CliError(f"job {job.id[:8]} has no {fmt} generator (artifacts: {', '.join(sorted(arts))})")


def copy_out(result: dict, out: Path) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    grid = out / Path(result["grid"]).name
    shutil.copy2(result["grid"], grid)
    images = out / "images"
    images.mkdir(exist_ok=True)
    for f in result.get("files", []):
        shutil.copy2(f, images / Path(f).name)
    return grid, images


@user_errors
def sample(
    job_id: o.JobId,
    n: o.N = 12,
    seed: o.SampleSeed = None,
    out: o.Out = None,
    format: o.Format = "h5",
    no_wait: o.NoWait = False,
    timeout: o.Timeout = 600.0,
    json: o.Json = False,
    poll: o.Poll = 0.05,  # a sample job takes well under a second on a warm worker
) -> None:
    """Generate N images from a completed training job's generator (runs on a worker)."""
    from ganctl.jobs.spec import SampleSpec

    spec = SampleSpec(n=n, seed=seed, format=format)
    if out is not None and out.exists() and not out.is_dir():
        raise CliError(f"--out {out} exists and is not a folder")
    store = open_store()
    parent = store.get_job(job_id)
    check_source(store, parent, spec.format)
    job = queue_and_wait(store, parent, "sample", spec.model_dump(mode="json"), no_wait=no_wait, json=json,
                         poll=poll, timeout=timeout)
    if job is None:
        return
    result = dict(job.result or {})
    if out is not None:
        grid, images = copy_out(result, out)
        result.update(grid=str(grid), dir=str(images),
                      files=[str(images / Path(f).name) for f in result.get("files", [])])
    if json:
        print_json(job_json(job) | {"result": result})
        return
    typer.echo(f"job     {job.id}")
    typer.echo(f"grid    {result.get('grid')}")
    typer.echo(f"images  {result.get('dir')} ({len(result.get('files', []))} PNG files)")
