"""`ganctl grids <id>`: a training job's per-epoch sample grids: their paths, or one animated GIF."""
from __future__ import annotations

import typer

from ganctl.jobs.service import open_store

from ganctl.cli import _options as o
from ganctl.cli._errors import CliError, user_errors
from ganctl.cli._output import print_json
from ganctl.cli.report import job_folder, training_job, write_file


@user_errors
def grids(job_id: o.JobId, gif: o.Gif = False, out: o.OutFile = None, frame_ms: o.FrameMs = None,
          json: o.Json = False) -> None:
    """List a training job's per-epoch grid PNGs, or animate them into one GIF (--gif).

    Without --gif: one path per recorded epoch.
    With --gif: one frame per recorded epoch, labelled "epoch N", in --out or <artifacts>/<job id>/grids.gif.
    """
    if out is not None and not gif:
        raise CliError("--out goes with --gif (the grids themselves are already files)")
    if frame_ms is not None and not gif:
        raise CliError("--frame-ms goes with --gif (it times the GIF's frames)")
    store = open_store()
    job, _ = training_job(store, job_id)
    rows = store.grids(job.id, with_png=gif)
    if not rows:
        raise CliError(f"job {job.short_id} has no grids recorded")
    if not gif:
        if json:
            print_json([{"epoch": g.epoch, "path": g.path} for g in rows])
        else:
            for g in rows:
                typer.echo(g.path)
        return
    from ganctl.jobs.animation import grids_gif

    rows = [g for g in rows if g.png]
    if not rows:
        raise CliError(f"job {job.short_id} has no grid pictures in the store")
    data = grids_gif([g.png for g in rows], duration_ms=400 if frame_ms is None else frame_ms, labels=[f"epoch {g.epoch}" for g in rows])
    path = write_file(out or job_folder(job).grids_gif, data, (".gif",))
    if json:
        print_json({"job": job.id, "path": str(path), "frames": len(rows),
                    "epochs": [g.epoch for g in rows], "frame_ms": frame_ms})
    else:
        typer.echo(str(path))
