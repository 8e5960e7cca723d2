"""`ganctl fork <id> [--epoch K] [options]`: a new job from a finished job's checkpoint at epoch K
with some options changed; options a checkpoint fixes are refused (jobs/experiments.py)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from ganctl.jobs import experiments, service

from ganctl.cli import _options as o
from ganctl.cli._carry import show
from ganctl.cli._errors import user_errors

Fixed = Annotated[Optional[str], typer.Option(help="Refused: the checkpoint fixes it.", hidden=True)]
FixedInt = Annotated[Optional[int], typer.Option(help="Refused: the checkpoint fixes it.", hidden=True)]
Smoothing = Annotated[Optional[float], typer.Option("--label-smoothing", help="One-sided label smoothing.")]
Every = Annotated[Optional[int], typer.Option(help="As for submit.")]


@user_errors
def fork(
    job_id: o.JobId,
    epoch: o.FromEpoch = None,
    epochs: o.ForkEpochs = None,
    lr_g: o.LrG = None,
    lr_d: o.LrD = None,
    recipe: Annotated[Optional[str], typer.Option("--recipe", help="Training recipe.")] = None,
    loss: o.Loss = None,
    spectral_norm: o.SpectralNorm = None,
    ema: o.Ema = None,
    augment: o.Augment = None,
    r1: o.R1 = None,
    mode_seeking: o.ModeSeeking = None,
    beta1: o.Beta1 = None,
    beta2: o.Beta2 = None,
    label_smoothing: Smoothing = None,
    label_noise: o.LabelNoise = None,
    eval_every: Every = None,
    grid_every: Every = None,
    checkpoint_every: Every = None,
    arch: Fixed = None,
    dataset: Fixed = None,
    image_size: FixedInt = None,
    channels: FixedInt = None,
    tag: o.Tags = None,
    wait: o.Wait = False,
    json: o.Json = False,
) -> None:
    """Start a new job from a finished job's checkpoint (--epoch K) with some options changed."""
    changes = dict(lr_g=lr_g, lr_d=lr_d, recipe=recipe, loss=loss, spectral_norm=spectral_norm, ema=ema,
                   augment=augment, r1=r1, mode_seeking=mode_seeking, beta_1=beta1, beta_2=beta2,
                   label_smoothing=label_smoothing, label_noise=label_noise, eval_every=eval_every,
                   grid_every=grid_every, checkpoint_every=checkpoint_every, arch=arch, dataset=dataset,
                   image_size=image_size, channels=channels)
    store = service.open_store()
    job = experiments.fork(store, job_id, epoch=epoch, epochs=epochs, changes=changes, tags=tag or ())
    show(store, job, wait=wait, json=json)
