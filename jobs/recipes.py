"""Training recipes: named bundles of switches over the fixed networks of jobs/archs.py.

A recipe never changes a network's layers or trainable parameter counts; it picks the loss, the
discriminator's normalisation, an EMA of the generator, DiffAugment, an R1 penalty, a mode-seeking
loss and the optimizers' settings. `TrainSpec.recipe` names one; the spec's own switches override
its fields (`resolve`). No TensorFlow here: the CLI validates combinations with this module.

`seed` is each architecture's seed recipe exactly (BCE with the arch's label conventions, label
noise and smoothing, the arch's learning rates and betas). `modern` is a literature-backed guess
(hinge + spectral norm, SAGAN/BigGAN; EMA with a warm-up ramp, StyleGAN; DiffAugment translation +
cutout, Zhao et al. 2020; two time-scale learning rates, Heusel et al. 2017) that bench/quality.py
compares with `seed`; `ema-augment` (the seed recipe + EMA + DiffAugment) is the best combination
bench.quality measured on dcgan at its batch of 128; `ema-augment-dcgan-adam` adds the DCGAN paper's Adam settings for
both networks, which are dcgan's and dcgan64's own (the same training there) and lift upsample out
of the notebook's lr_d 1e-5 collapse; `ema-augment-batch32` trains that on batches of 32: the
default for new submissions. `--recipe seed` keeps the
seeds' rows reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

LOSSES = ("bce", "hinge", "wgan-gp")
AUGMENTS = ("translation", "cutout", "color")
WGAN_GP_WEIGHT = 10.0  # Gulrajani et al. 2017's lambda
SEED = "seed"  # each architecture's seed recipe


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    loss: str = "bce"
    spectral_norm: bool = False
    ema: float = 0.0  # 0: no EMA generator
    augment: tuple[str, ...] = ()
    r1: float = 0.0
    # Mode seeking (MSGAN, Mao et al. 2019): G's loss gains lambda / (|G(z1) - G(z2)| / |z1 - z2|)
    # over the batch's two halves as pairs (a conditional pair shares its class); 0: off.
    mode_seeking: float = 0.0
    # None: the architecture's value.
    lr_g: float | None = None
    lr_d: float | None = None
    beta_1: float | None = None
    beta_2: float | None = None
    batch_size: int | None = None  # None: the architecture's; the job's --batch-size overrides it

    @property
    def linear_output(self) -> bool:
        """hinge and wgan-gp score with the discriminator's pre-sigmoid logit (see gan.linear_output)."""
        return self.loss != "bce"


# The best of bench.quality's screen (dcgan, 10,000 images, 5 epochs, one seed; docs/BENCHMARKS.md):
# the seed's losses and rates with the two switches that helped alone (FD 0.73x, 0.89x) -> 0.65x.
EMA_AUGMENT = Recipe("ema-augment", "the seed recipe + EMA 0.999 with warm-up + DiffAugment translation,cutout",
                     ema=0.999, augment=("translation", "cutout"))
RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe(SEED, "each architecture's seed recipe: BCE with its label tricks, its learning rates"),
    Recipe("modern", "hinge + spectral norm on D, EMA 0.999 with warm-up, DiffAugment translation,cutout, "
                     "TTUR lr_g 1e-4 / lr_d 4e-4, Adam betas 0.0/0.9",
           loss="hinge", spectral_norm=True, ema=0.999, augment=("translation", "cutout"),
           lr_g=1e-4, lr_d=4e-4, beta_1=0.0, beta_2=0.9),
    EMA_AUGMENT,
    # bench.quality on upsample (5,000 images, 5 epochs): seed FD 250 and ema-augment 223, both one
    # class; with these rates 177 (128 at epoch 4). dcgan's and dcgan64's own rates are these already.
    replace(EMA_AUGMENT, name="ema-augment-dcgan-adam",
            description="ema-augment + the DCGAN paper's Adam for both networks: lr 2e-4, betas 0.5/0.999 "
                        "(dcgan's own; upsample's seed has lr_d 1e-5)",
            lr_g=2e-4, lr_d=2e-4, beta_1=0.5, beta_2=0.999),
)}
# bench.quality on dcgan (10,000 images, one seed, 5 epochs): batch 32 for the same images reaches
# a given FD in fewer training seconds than 64 or the archs' 128 (four times the updates for
# 1.45-1.6x the seconds of a dcgan epoch).
RECIPES["ema-augment-batch32"] = replace(
    RECIPES["ema-augment-dcgan-adam"], name="ema-augment-batch32", batch_size=32,
    description="ema-augment-dcgan-adam with batches of 32 (the archs' 128): more updates per second")
DEFAULT = "ema-augment-batch32"  # what a new submission gets without --recipe (docs/BENCHMARKS.md)
# What a stored spec that names no recipe ran: every job queued before recipes existed. Not DEFAULT,
# so that changing the default never changes how an old job is extended, forked or described.
UNNAMED = SEED
SWITCHES = ("loss", "spectral_norm", "ema", "augment", "r1", "mode_seeking",
            "lr_g", "lr_d", "beta_1", "beta_2")


def names() -> list[str]:
    return list(RECIPES)


def get(name: str) -> Recipe:
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; available: {', '.join(RECIPES)}") from None


def parse_augment(value) -> tuple[str, ...]:
    """'translation,cutout' (or a list) -> the policies in canonical order; '' / 'none' -> ()."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    items = {str(i).strip().lower() for i in items} - {""}
    if "none" in items and len(items) > 1:  # "none,cutout" must not quietly mean cutout
        raise ValueError(f"augmentation none turns it off; it cannot be combined with "
                         f"{', '.join(sorted(items - {'none'}))}")
    items -= {"none"}
    bad = sorted(items - set(AUGMENTS))
    if bad:
        raise ValueError(f"unknown augmentation {', '.join(bad)}; use a comma list of {', '.join(AUGMENTS)}")
    return tuple(a for a in AUGMENTS if a in items)


def resolve(name: str, **overrides) -> Recipe:
    """The named recipe with each given (not None) switch replacing its field."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = set(given) - set(SWITCHES)
    assert not unknown, unknown
    return replace(get(name), **given)


def refusal(recipe: Recipe, label_smoothing: float, label_noise: float | None) -> str | None:
    """Why this combination cannot be honoured (one line for the user), or None."""
    if recipe.loss not in LOSSES:
        return f"--loss: unknown loss {recipe.loss!r}; available: {', '.join(LOSSES)}"
    if recipe.r1 and recipe.loss == "wgan-gp":
        return "--r1 with --loss wgan-gp: wgan-gp already has its own gradient penalty; use one of them"
    if recipe.loss != "bce" and (label_smoothing > 0 or label_noise):
        return (f"--label-smoothing/--label-noise are BCE label tricks; --loss {recipe.loss} has no labels "
                f"(use --loss bce)")
    if not 0.0 <= recipe.ema < 1.0:
        return f"--ema: decay must be in [0, 1), not {recipe.ema}"
    if recipe.r1 < 0:
        return f"--r1: gamma must be >= 0, not {recipe.r1}"
    if recipe.mode_seeking < 0:
        return f"--mode-seeking: lambda must be >= 0, not {recipe.mode_seeking}"
    for label, beta in (("--beta1", recipe.beta_1), ("--beta2", recipe.beta_2)):
        if beta is not None and not 0.0 <= beta < 1.0:
            return f"{label}: must be in [0, 1), not {beta}"
    return None


def describe(spec: dict) -> str:
    """One line for `ganctl status`: a stored train spec's recipe with its switches applied."""
    name = str(spec.get("recipe") or UNNAMED)
    try:
        r = resolve(name, **{k: spec.get(k) for k in SWITCHES})
    except (ValueError, TypeError):
        return name
    parts = [name, f"loss {r.loss}", *switches_set(r)]
    parts += [f"batch {r.batch_size}"] if r.batch_size and not spec.get("batch_size") else []  # else --batch-size's
    return "  ".join(parts)


def switches_set(r: Recipe) -> list[str]:
    """The switches a recipe turns on or sets, as `status` names them (its loss and batch aside)."""
    parts = ["spectral-norm"] if r.spectral_norm else []
    parts += [f"ema {r.ema:g}"] if r.ema else []
    parts += [f"augment {','.join(r.augment)}"] if r.augment else []
    parts += [f"r1 {r.r1:g}"] if r.r1 else []
    parts += [f"mode-seeking {r.mode_seeking:g}"] if r.mode_seeking else []
    return parts + [f"{k} {getattr(r, k):g}" for k in ("lr_g", "lr_d", "beta_1", "beta_2") if getattr(r, k) is not None]
