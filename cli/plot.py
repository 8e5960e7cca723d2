"""`ganctl plot <id>`: the loss curves of a training job as a PNG (Pillow, no TensorFlow)."""
from __future__ import annotations

import typer

from ganctl.jobs.service import open_store

from ganctl.cli import _options as o
from ganctl.cli._errors import user_errors
from ganctl.cli._output import print_json
from ganctl.cli.report import job_folder, training_job, write_file


@user_errors
def plot(job_id: o.JobId, out: o.OutFile = None, width: o.PlotWidth = 640, height: o.PlotHeight = 400,
         json: o.Json = False) -> None:
    """Draw d_loss and g_loss per epoch into a PNG and print its path.

    Default: <artifacts>/<job id>/losses.png.
    """
    from ganctl.jobs.pictures import loss_plot_png

    store = open_store()
    job, epochs = training_job(store, job_id)
    arch = (job.spec or {}).get("arch")
    png = loss_plot_png([e.epoch for e in epochs], [e.d_loss for e in epochs], [e.g_loss for e in epochs],
                        size=(width, height),
                        title=f"job {job.short_id}" + (f" ({arch})" if arch else "") + ": losses per epoch")
    path = write_file(out or job_folder(job).loss_plot, png, (".png",))
    if json:
        print_json({"job": job.id, "path": str(path), "epochs": len(epochs), "width": width, "height": height})
    else:
        typer.echo(str(path))
