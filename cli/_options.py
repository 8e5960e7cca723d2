"""Shared `Annotated` option aliases so every command spells its flags the same way."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ganctl.jobs import recipes

JobId = Annotated[str, typer.Argument(help="Job id or a unique prefix of it (at least 4 hex digits).",
                                      show_default=False)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many jobs.")]
StatusFilter = Annotated[Optional[str], typer.Option(
    "--status", help="Only jobs in this state: queued, running, completed, failed, cancelled, stopped.")]
SweepFilter = Annotated[Optional[str], typer.Option("--sweep", help="Only the jobs of this sweep (id or prefix).")]
ArchFilter = Annotated[Optional[str], typer.Option("--arch", help="Only jobs of this architecture.")]
Poll = Annotated[float, typer.Option("--poll", min=0.05, help="Seconds between store polls.", hidden=True)]

# submit: None means "the spec's / architecture's default"
Arch = Annotated[str, typer.Option("--arch", "-a", help="Architecture (see `ganctl archs`).")]
Epochs = Annotated[int, typer.Option("--epochs", "-e", help="Number of epochs.")]
BatchSize = Annotated[Optional[int], typer.Option("--batch-size", "-b",
                                                  help="Batch size (default: the recipe's, else the architecture's).")]
Classes = Annotated[Optional[str], typer.Option(
    "--classes", "-c", help="Comma list of class names or indices 0-9, e.g. trouser,bag; for a folder "
                            "dataset, names of its sub-folders (default: all).")]
Dataset = Annotated[str, typer.Option(
    "--dataset", help="fashion-mnist, or folder:PATH (PNG/JPEG/WebP/BMP files, sub-folders = classes).")]
ImageSize = Annotated[Optional[int], typer.Option(
    "--image-size", help="Square size in pixels, one the arch makes (dcgan64: 64; upsample, dcgan: 28) "
                         "(default: the architecture's; Fashion-MNIST is resized to it for dcgan64).")]
Channels = Annotated[Optional[int], typer.Option("--channels", help="Folder datasets: 1 (grey) or 3 (RGB) (default: 3).")]
Resize = Annotated[Optional[str], typer.Option(
    "--resize", help="Folder datasets: crop (centre square) or pad (whole picture on black) (default: crop).")]
Split = Annotated[str, typer.Option("--split", help="Dataset split: train, test or all.")]
DataLimit = Annotated[Optional[int], typer.Option("--limit", help="Use only the first N images.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (weights, noise, shuffling).")]
LrG = Annotated[Optional[float], typer.Option("--lr-g", help="Generator learning rate (default: the recipe's, else the arch's).")]
LrD = Annotated[Optional[float], typer.Option("--lr-d", help="Discriminator learning rate (default: the recipe's, else the arch's).")]
LabelSmoothing = Annotated[float, typer.Option("--label-smoothing", help="One-sided label smoothing, 0 <= x < 0.5.")]
LabelNoise = Annotated[Optional[float], typer.Option(
    "--label-noise", help="Uniform noise added to labels (default: the architecture's).")]
Precision = Annotated[str, typer.Option("--precision", help="auto, fp32, bf16 or fp16.")]
CheckpointEvery = Annotated[int, typer.Option("--checkpoint-every", help="Checkpoint every N epochs.")]
GridEvery = Annotated[int, typer.Option("--grid-every", help="Write a sample grid every N epochs.")]
Wait = Annotated[bool, typer.Option("--wait", "-w", help="Follow the job until it ends (exit 1 unless completed).")]
EvalEvery = Annotated[int, typer.Option(
    "--eval-every", help="Quality figures (FD, KID, precision/recall, ...) every N epochs and at the last; "
                         "0: off. Fashion-MNIST only.")]
TrainEvalN = Annotated[int, typer.Option("--eval-n", help="Generated images scored at each evaluation.")]
# submit: the training recipe and its switches (None: the recipe's; see README "Recipes")
Recipe = Annotated[str, typer.Option("--recipe", help=f"Training recipe: {', '.join(recipes.names())} (default "
                                                       f"{recipes.DEFAULT}; seed: each arch's own). The switches "
                                                       "below override it.")]
Loss = Annotated[Optional[str], typer.Option("--loss", help="bce (the seed's, with its label tricks), hinge or "
                                                            "wgan-gp (these two score with D's pre-sigmoid logit).")]
SpectralNorm = Annotated[Optional[bool], typer.Option("--spectral-norm/--no-spectral-norm",
                                                      help="Spectral normalisation on D's Conv/Dense layers.")]
Ema = Annotated[Optional[float], typer.Option(
    "--ema", help="EMA of the generator's weights with this decay (e.g. 0.999, warm-up ramp; 0: off), used for "
                  "grids, evaluation, sampling and the export.")]
Augment = Annotated[Optional[str], typer.Option(
    "--augment", help="DiffAugment before D on real and fake: comma list of translation, cutout, color; none: off.")]
R1 = Annotated[Optional[float], typer.Option("--r1", help="Zero-centred gradient penalty on real images, gamma.")]
ModeSeeking = Annotated[Optional[float], typer.Option(
    "--mode-seeking", help="Mode-seeking loss on G (MSGAN): pushes different noise to different images; "
                           "lambda, e.g. 0.3 (0: off).", metavar="LAMBDA")]
Beta1 = Annotated[Optional[float], typer.Option("--beta1", help="Adam beta_1 of both optimizers (default: the recipe's, else the arch's).")]
Conditional = Annotated[bool, typer.Option(
    "--conditional", help="Class-conditional: the generator takes a class as well as noise, the discriminator "
                          "sees it (projection); sample with `ganctl sample --class`. Needs 2+ classes.")]
ClassLoss = Annotated[Optional[float], typer.Option(
    "--class-loss", help="Conditional jobs: weight of the discriminator's auxiliary class loss (AC-GAN; "
                         "0: projection only; default: ganctl's, see `ganctl status`).", metavar="WEIGHT")]
Clusters = Annotated[Optional[int], typer.Option(
    "--clusters", help="Self-conditioning for unconditional jobs: train on K clusters of the images' pixels "
                       "as pseudo-classes, drawn uniformly (K 20: lower FD on dcgan, dcgan64 and upsample, "
                       "no upsample collapse on 3 seeds; less diversity; see the README).", metavar="K")]
ClusterLayers = Annotated[Optional[bool], typer.Option(
    "--cluster-layers/--no-cluster-layers",
    help="How --clusters K enters the networks: --cluster-layers (the default) adds learned codes and a "
         "projection discriminator with a class head; --no-cluster-layers keeps the seed's networks (a fixed "
         "code per cluster in the noise; G is scored on how near its images are to their cluster's pixel "
         "centre): level on dcgan and upsample, worse on dcgan64.")]
Beta2 = Annotated[Optional[float], typer.Option("--beta2", help="Adam beta_2 of both optimizers (default: the recipe's, else the arch's).")]

# eval
EvalN = Annotated[int, typer.Option("--n", help="Generated images to score (50-100000).")]
EvalSeed = Annotated[int, typer.Option("--seed", help="Noise seed of the generated images.")]
EvalNoWait = Annotated[bool, typer.Option("--no-wait", help="Queue the eval job and print its id.")]

# sample
N = Annotated[int, typer.Option("--n", help="Number of images.")]
Truncation = Annotated[Optional[float], typer.Option(
    "--truncation", help="Truncation trick: redraw noise entries with |z| > PSI (e.g. 0.7; smaller: "
                         "more typical, less varied images).", metavar="PSI")]
Interpolate = Annotated[Optional[int], typer.Option(
    "--interpolate", help="Also write walk.gif: each of the N images walks a loop through K random "
                          "latent points (2-32; N at most 64).", metavar="K")]
SampleClass = Annotated[Optional[str], typer.Option(
    "--class", help="Conditional jobs: the class to generate (name, or its index in the job's classes), "
                    "or all: a grid with one row per class, --n columns.", metavar="CLASS")]
SampleSeed = Annotated[Optional[int], typer.Option("--seed", help="Noise seed (default: a random one, stored with the job: `ganctl status` shows it).")]
Out = Annotated[Optional[Path], typer.Option("--out", "-o", help="Also copy the grid and the PNGs into this folder.",
                                             file_okay=False, dir_okay=True, resolve_path=True)]
Format = Annotated[str, typer.Option("--format", help="Which exported generator to load: h5 or savedmodel.")]
NoWait = Annotated[bool, typer.Option("--no-wait", help="Queue the sample job and print its id.")]
Timeout = Annotated[Optional[float], typer.Option("--timeout", min=1, show_default=False,
                                                 help="Give up waiting after this many seconds (default: sample 600, eval 1800).")]

# report, plot, grids, data show
OutFile = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Write the file here (default: in the job's artifacts folder).",
    file_okay=True, dir_okay=False, resolve_path=True)]
PlotWidth = Annotated[int, typer.Option("--width", min=200, help="Plot width in pixels.")]
PlotHeight = Annotated[int, typer.Option("--height", min=150, help="Plot height in pixels.")]
Gif = Annotated[bool, typer.Option("--gif", help="Write the grids as one animated GIF (a frame per recorded epoch).")]
FrameMs = Annotated[Optional[int], typer.Option("--frame-ms", min=10, show_default=False,
                                                help="With --gif: milliseconds per frame (default 400).")]
RealClasses = Annotated[Optional[str], typer.Option(
    "--classes", "-c", help="Comma list of Fashion-MNIST class names or indices 0-9, e.g. trouser,bag (default: all).")]
RealN = Annotated[int, typer.Option("--n", min=1, help="Number of images in the grid (the first N of the subset).")]
RealOut = Annotated[Optional[Path], typer.Option(
    "--out", "-o", help="Write the grid PNG here (default: a file in $GANCTL_HOME/data).",
    file_okay=True, dir_okay=False, resolve_path=True)]

# extend / fork / tags (jobs/experiments.py)
Tags = Annotated[Optional[list[str]], typer.Option("--tag", help="Tag the job (repeatable); `ganctl list --tag NAME`.")]
TagFilter = Annotated[Optional[str], typer.Option("--tag", help="Only jobs with this tag.")]
MoreEpochs = Annotated[int, typer.Option("--epochs", "-e", help="How many more epochs to train.")]
ForkEpochs = Annotated[Optional[int], typer.Option(
    "--epochs", "-e", help="Epochs to train after the start epoch (default: up to the parent's planned end).")]
FromEpoch = Annotated[Optional[str], typer.Option(
    "--epoch", help="Start from this epoch's checkpoint, or best (the evaluated epoch of lowest FD); default: the "
                    "last (kept: the last three and evaluated ones).")]
EpochPick = Annotated[Optional[str], typer.Option(
    "--epoch", help="best (the evaluated epoch of lowest FD) or N: that epoch's checkpoint instead of the export.")]
