"""`ganctl submit`: validate a TrainSpec, write the job row, publish its task (jobs/service.py)."""
from __future__ import annotations

import typer

from ganctl.jobs import recipes, service
from ganctl.jobs.service import build_spec

from ganctl.cli import _options as o
from ganctl.cli._carry import show
from ganctl.cli._errors import user_errors


@user_errors
def submit(
    arch: o.Arch = "upsample",
    epochs: o.Epochs = 20,
    batch_size: o.BatchSize = None,
    dataset: o.Dataset = "fashion-mnist",
    image_size: o.ImageSize = None,
    channels: o.Channels = None,
    resize: o.Resize = None,
    classes: o.Classes = None,
    split: o.Split = "train",
    limit: o.DataLimit = None,
    seed: o.Seed = 0,
    lr_g: o.LrG = None,
    lr_d: o.LrD = None,
    label_smoothing: o.LabelSmoothing = 0.0,
    label_noise: o.LabelNoise = None,
    precision: o.Precision = "auto",
    checkpoint_every: o.CheckpointEvery = 1,
    grid_every: o.GridEvery = 1,
    eval_every: o.EvalEvery = 0,
    eval_n: o.TrainEvalN = 1000,
    recipe: o.Recipe = recipes.DEFAULT,
    loss: o.Loss = None,
    spectral_norm: o.SpectralNorm = None,
    ema: o.Ema = None,
    augment: o.Augment = None,
    r1: o.R1 = None,
    mode_seeking: o.ModeSeeking = None,
    beta1: o.Beta1 = None,
    beta2: o.Beta2 = None,
    conditional: o.Conditional = False,
    class_loss: o.ClassLoss = None,
    clusters: o.Clusters = None,
    cluster_layers: o.ClusterLayers = None,
    tag: o.Tags = None,
    wait: o.Wait = False,
    json: o.Json = False,
) -> None:
    """Queue a GAN training job (a worker must be running: `ganctl worker`)."""
    spec = build_spec(arch=arch, epochs=epochs, batch_size=batch_size, dataset=dataset,
                      image_size=image_size, channels=channels, resize=resize, classes=classes, split=split,
                      limit=limit, seed=seed, lr_g=lr_g, lr_d=lr_d, label_smoothing=label_smoothing,
                      label_noise=label_noise, precision=precision, checkpoint_every=checkpoint_every,
                      grid_every=grid_every, eval_every=eval_every, eval_n=eval_n,
                      recipe=recipe, loss=loss, spectral_norm=spectral_norm, ema=ema, augment=augment, r1=r1,
                      mode_seeking=mode_seeking, beta_1=beta1, beta_2=beta2, conditional=conditional or None,
                      class_loss=class_loss, clusters=clusters,
                      cluster_layers=cluster_layers)
    store = service.open_store()
    from ganctl.jobs import experiments

    job = experiments.submit(store, spec, tag or ())
    show(store, job, wait=wait, json=json)
