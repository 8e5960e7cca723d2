"""The epoch loop: hooks for progress, cancel and per-epoch reports; checkpoints, resume, export."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ganctl.jobs import data, pictures
from ganctl.jobs.noise import epoch_seed, eval_seed, fixed_noise
from ganctl.jobs.spec import TrainSpec

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """should_stop() said so between two batches; the last checkpoint is kept."""


class Fenced(Exception):
    """on_epoch() returned False: another worker owns this job now, so this one stops writing."""


class NonFiniteLoss(RuntimeError):
    pass


@dataclass(frozen=True)
class EpochReport:
    epoch: int
    epochs: int
    d_loss: float
    g_loss: float
    seconds: float
    images_per_s: float
    grid_path: Path | None
    grid_png: bytes | None
    quality: dict | None = None  # ganctl.jobs.quality.metrics.Quality.to_dict() on an evaluated epoch


@dataclass
class Hooks:
    on_epoch: Callable[[EpochReport], bool | None] = lambda report: None
    on_batch: Callable[[int, int, int], None] = lambda epoch, step, steps: None
    should_stop: Callable[[], bool] = lambda: False
    # (kind, path) after a file or folder is whole on disk: grid, tensorboard, checkpoint, export
    on_saved: Callable[[str, Path], None] = lambda kind, path: None
    # the GAN once built and resumed (bench.quality's mid-epoch FD probes read its sampler)
    on_built: Callable[[object], None] = lambda gan: None


@dataclass
class TrainResult:
    epochs_done: int
    d_loss: float
    g_loss: float
    precision: str
    resumed_from: int
    artifacts: list = field(default_factory=list)
    data: dict = field(default_factory=dict)  # what was trained on: counts, skipped files, cache hit


def is_eval_epoch(spec: TrainSpec, epoch: int) -> bool:
    return spec.eval_every > 0 and (epoch % spec.eval_every == 0 or epoch == spec.epochs)


def build(spec: TrainSpec, precision: str | None = None):
    """Seeded networks + optimizers under the job's precision policy; returns (gan, precision)."""
    import keras

    from ganctl.jobs import device
    from ganctl.jobs.gan import GAN

    keras.utils.set_random_seed(spec.seed)
    with device.precision_scope(precision or spec.precision) as resolved:
        return GAN(spec, resolved), resolved


def run(spec: TrainSpec, workdir: Path, hooks: Hooks | None = None, *,
        data_dir: Path | None = None) -> TrainResult:
    from ganctl.jobs import artifacts
    from ganctl.jobs.checkpoints import Checkpoints
    from ganctl.jobs.tensorboard import EpochWriter
    from ganctl.jobs.layout import JobFolder

    hooks, workdir = hooks or Hooks(), Path(workdir)
    subset = data.load_for(spec, data_dir)
    classifier = reference = None
    if spec.eval_every > 0:
        # Before build(): a classifier trained here (changed recipe, first use) must not move the
        # job's seeded RNGs.
        from ganctl.jobs.quality import scoring
        from ganctl.jobs.quality.classifier import get_classifier

        classifier = get_classifier()
        reference = scoring.real_reference(spec.classes, 2 * spec.eval_n, seed=0, data_dir=data_dir)
    gan, precision = build(spec)
    ckpts = Checkpoints(JobFolder(workdir).checkpoints, pinned=lambda e: is_eval_epoch(spec, e))
    start = ckpts.restore_latest(gan.state_variables())
    if start:
        log.info("resuming %s from epoch %d", workdir.name, start)
        # The checkpoint holds the optimizers' learning rates too: a fork's own lrs win.
        gan.g_opt.learning_rate, gan.d_opt.learning_rate = spec.effective_lr_g, spec.effective_lr_d
    hooks.on_built(gan)
    noise, grid_labels, grid_cols = fixed_noise(spec), None, None
    labels = None
    from ganctl.jobs import conditional

    if conditional.has_codes(spec):  # the grid's codes (conditional.grid_inputs); the images' labels 0..K-1
        noise, grid_labels, grid_cols = conditional.grid_inputs(spec, noise)
        labels = conditional.labels_for(spec, subset)
        if conditional.by_centres(spec):
            gan.set_centres(subset.images, labels)
    batch = spec.effective_batch_size
    steps = math.ceil(len(subset.images) / batch)
    d_mean = g_mean = float("nan")
    with EpochWriter(JobFolder(workdir).tensorboard) as events:
        for epoch in range(start + 1, spec.epochs + 1):
            t0 = time.perf_counter()
            losses = []
            for step, real in enumerate(data.pipeline(subset.images, batch, epoch_seed(spec, epoch),
                                                      spec.info.output, labels), 1):
                if hooks.should_stop():
                    raise Cancelled(f"cancelled during epoch {epoch}")
                losses.append(gan.train_step(*real) if labels is not None else gan.train_step(real))
                hooks.on_batch(epoch, step, steps)
            d_mean, g_mean = (float(np.mean([float(x[i]) for x in losses])) for i in (0, 1))
            seconds = time.perf_counter() - t0
            if not (math.isfinite(d_mean) and math.isfinite(g_mean)):
                raise NonFiniteLoss(f"non-finite loss at epoch {epoch} (d_loss={d_mean}, g_loss={g_mean}): "
                                    f"lower the learning rates or try --precision fp32")
            grid_path = grid_png = images = scores = None
            if epoch % spec.grid_every == 0 or epoch == spec.epochs:
                grid_path = JobFolder(workdir).grid(epoch)
                images = data.unscale(gan.generate(noise, grid_labels), spec.info.output)
                grid_png = pictures.grid_png(images, path=grid_path, cols=grid_cols)
                hooks.on_saved("grid", grid_path)
            if is_eval_epoch(spec, epoch):
                if images is None:
                    images = data.unscale(gan.generate(noise, grid_labels), spec.info.output)
                sampler = conditional.caller(gan.sampler, conditional.has_codes(spec))
                scores = scoring.score_generator(spec, sampler, classifier, reference, images, eval_seed(spec))
            report = EpochReport(epoch, spec.epochs, d_mean, g_mean, seconds,
                                 len(subset.images) / seconds, grid_path, grid_png, scores)
            # Record first, checkpoint second: a crash in between re-runs the epoch, and the store upserts it.
            if hooks.on_epoch(report) is False:
                raise Fenced(f"lost the job at epoch {epoch}")
            events.write(report)
            if scores is not None:
                events.write_metrics(epoch, scores)
            hooks.on_saved("tensorboard", JobFolder(workdir).tensorboard)
            if epoch % spec.checkpoint_every == 0 or epoch == spec.epochs:
                hooks.on_saved("checkpoint", ckpts.save(gan.state_variables(), epoch))
    # With an EMA the exported generator (which sampling loads) is the average; the raw one beside it.
    raw = gan.generator if gan.ema_generator is not None else None
    files = artifacts.export(gan.sampler, gan.discriminator, JobFolder(workdir).export, raw_generator=raw)
    hooks.on_saved("export", JobFolder(workdir).export)
    return TrainResult(spec.epochs, d_mean, g_mean, precision, start, files, subset.summary())
