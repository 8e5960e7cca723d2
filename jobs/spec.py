"""Job specs: validated, frozen, JSON round-trip. No TensorFlow here (the CLI imports this).

Datasets: `fashion-mnist` (28x28x1) or `folder:PATH`, a folder of images whose first-level
sub-folders are the class names (see jobs/folder.py), resized to `image_size` with `channels`.

`TrainSpec.submitted(**fields)` is a new submission (what `ganctl submit` builds): besides the
fields it checks the image folder on this host (exists, holds an image, the classes are
sub-folders) and the rules that stored jobs predate (the SUBMISSION context below).
`TrainSpec(...)` and `TrainSpec.model_validate(...)` check the fields only, so a stored job reads
back on a worker or for sampling even where its folder is absent; the worker checks its own copy
of the folder when it loads the images (data.load_for -> folder.load).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator,
                      model_serializer, model_validator)

from ganctl.jobs import archs, recipes
from ganctl.jobs.data import SPLITS, class_items, parse_classes

Precision = Literal["auto", "fp32", "bf16", "fp16"]
FASHION_MNIST = "fashion-mnist"
FOLDER_PREFIX = "folder:"
FASHION_SHAPE = (28, 28, 1)
# model_validate's context key of a new submission (TrainSpec.submitted): the checks that need this
# host's folder, and the refusals that jobs stored before them must not meet when they read back.
SUBMISSION = "submission"


def quality_refused(dataset: str, tense: str = "trains") -> str | None:
    """Why quality metrics cannot score a job on `dataset`, or None: they are for Fashion-MNIST
    only (the classifier behind them knows its ten classes). The one place of that rule."""
    if dataset == FASHION_MNIST:
        return None
    return f"quality metrics are for Fashion-MNIST jobs; this job {tense} on {dataset}"


def _parsed(kind: type, value, refused):
    """A raw field as pydantic will parse it ("false" is False, "8.0" is 8); `refused` for a value
    it will refuse, so that the model's own validation names the field in its error."""
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError:
        return refused


def _as_bool(value) -> bool:
    return _parsed(bool, value, False)


def raw_clusters(fields: dict) -> int:
    """A submission's --clusters as the model will read it; 0 (off) for a value it will refuse."""
    return _parsed(int, fields.get("clusters") or 0, 0)


def _design_defaults(fields: dict) -> dict:
    """What a new conditional or self-conditioned submission gets for the design fields it leaves
    out (jobs/conditional.py), read from the raw fields so that the model's validation, and
    conditional.refusal with it, judges the spec that will train."""
    clusters = raw_clusters(fields)
    if not (_as_bool(fields.get("conditional", False)) or clusters):
        return {}
    from ganctl.jobs.conditional import CLASS_DIMS, CLASS_LOSS, CLUSTER_LAYERS, MODE_SEEKING

    design = {"class_dims": CLASS_DIMS} | ({"cluster_layers": CLUSTER_LAYERS} if clusters else {})
    if (fields.get("recipe") or recipes.DEFAULT) != recipes.SEED:  # the seed recipe trains the projection alone
        design |= {"class_loss": CLASS_LOSS, "mode_seeking": MODE_SEEKING}
    return design


class TrainSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # nan would pass no bound clearly

    arch: str = "upsample"
    epochs: int = Field(20, ge=1, le=100_000)
    # "fashion-mnist" or "folder:/absolute/path" (a relative path is made absolute here).
    dataset: str = FASHION_MNIST
    # Fashion-MNIST only.
    split: Literal["train", "test", "all"] = "train"
    # Fashion-MNIST: class indices 0..9; folders: sub-folder names. Sorted; empty means all classes.
    classes: tuple[int | str, ...] = ()
    # Folders only: square side in pixels (default: the arch's first size), 1 (grey) or 3 (RGB)
    # channels (default 3), and how to make the picture square (centre crop, or pad with black).
    image_size: int | None = Field(None, ge=8, le=1024)
    channels: Literal[1, 3] | None = None
    resize: Literal["crop", "pad"] = "crop"
    limit: int | None = Field(None, ge=1)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    # None means "the architecture's default".
    batch_size: int | None = Field(None, ge=1, le=65_536)
    lr_g: float | None = Field(None, gt=0, le=1.0)
    lr_d: float | None = Field(None, gt=0, le=1.0)
    label_smoothing: float = Field(0.0, ge=0.0, lt=0.5)
    label_noise: float | None = Field(None, ge=0.0, lt=0.5)
    precision: Precision = "auto"
    checkpoint_every: int = Field(1, ge=1)
    grid_every: int = Field(1, ge=1)
    grid_size: int = Field(12, ge=1, le=256)
    # Quality metrics (Fashion-MNIST only): every eval_every epochs and at the last one (0: off),
    # on eval_n generated images against the real test split of the job's classes.
    eval_every: int = Field(0, ge=0, le=100_000)
    eval_n: int = Field(1000, ge=50, le=50_000)
    # The training recipe (jobs/recipes.py) and its switches; None means "the recipe's". A spec
    # without one is an old job's (recipes.UNNAMED); a new submission gets recipes.DEFAULT.
    recipe: str = recipes.UNNAMED
    loss: Literal["bce", "hinge", "wgan-gp"] | None = None
    spectral_norm: bool | None = None
    ema: float | None = Field(None, ge=0.0, lt=1.0)
    augment: tuple[str, ...] | None = None
    r1: float | None = Field(None, ge=0.0, le=1e4)
    mode_seeking: float | None = Field(None, ge=0.0, le=100.0)
    beta_1: float | None = Field(None, ge=0.0, lt=1.0)
    beta_2: float | None = Field(None, ge=0.0, lt=1.0)
    # Class-conditional networks (jobs/conditional.py): G takes (noise, class), D sees the class.
    conditional: bool = False
    # How the class enters G (jobs/conditional.generator): the noise entries its code replaces; 0
    # (a stored spec without it) adds it to the whole noise. New conditional submissions get CLASS_DIMS.
    class_dims: int = Field(0, ge=0, le=64)
    # The weight of D's auxiliary class loss (jobs/conditional.py, AC-GAN); 0 (a stored spec without
    # it): none. New conditional submissions get CLASS_LOSS (and MODE_SEEKING), unless --recipe seed.
    class_loss: float = Field(0.0, ge=0.0, le=100.0)
    # Self-conditioning (jobs/clusters.py): an unconditional job's networks condition on this many
    # balanced clusters of its training images' pixels, drawn uniformly; 0: off.
    clusters: int = Field(0, ge=0, le=1000)
    # How those clusters enter the networks (jobs/conditional.py): True, the conditional design's
    # learned codes and a projection discriminator with a class head (added layers; what a stored
    # --clusters spec without the field trained); False, a fixed code in G's noise and the clusters'
    # pixel centres as G's class loss, the seed's networks unchanged. New submissions: CLUSTER_LAYERS.
    cluster_layers: bool = True

    @model_serializer(mode="wrap")
    def _without_unused_newer_fields(self, handler):
        # 0 (None for mode_seeking: the recipe's) is what a spec without the field means: left out,
        # so stored specs (and workers that predate the field) see the jobs that do not use it as before.
        data = handler(self)
        for name in ("class_dims", "class_loss", "clusters"):
            if not getattr(self, name):
                data.pop(name, None)
        if self.mode_seeking is None:
            data.pop("mode_seeking", None)
        if self.cluster_layers or not self.clusters:
            data.pop("cluster_layers", None)
        return data

    @field_validator("recipe")
    @classmethod
    def _known_recipe(cls, v: str) -> str:
        recipes.get(v)
        return v

    @field_validator("augment", mode="before")
    @classmethod
    def _parse_augment(cls, v):
        return None if v is None else recipes.parse_augment(v)

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, v: str) -> str:
        archs.get(v)  # raises ValueError with the list of known ones
        return v

    @classmethod
    def submitted(cls, **fields: Any) -> "TrainSpec":
        """A new submission: the fields, and the image folder on this host (exists, holds images,
        the classes are sub-folders). Raises pydantic.ValidationError with the reason.

        A conditional job on a folder without --classes gets all its sub-folders as its classes
        here: the networks' K must be known wherever the job is built (a worker, a sampler)."""
        try:
            given = class_items(fields.get("classes"))
        except ValueError:
            given = None  # refused below by the model's validation, which names the field
        if str(fields.get("dataset", "")).startswith(FOLDER_PREFIX) and given == [] \
                and _as_bool(fields.get("conditional", False)):
            from ganctl.jobs import folder

            # Only the folder is wanted here: read as a plain job, so without the conditional design
            # fields (a plain spec refuses --class-loss and --cluster-layers).
            plain = {k: v for k, v in fields.items()
                     if k not in ("class_loss", "mode_seeking", "class_dims", "clusters", "cluster_layers")}
            plain = cls.model_validate({**plain, "conditional": False}, context={SUBMISSION: True})
            fields = {**fields, "classes": folder.subfolders(plain.folder)}
        fields = {**fields, **{k: v for k, v in _design_defaults(fields).items() if fields.get(k) is None}}
        return cls.model_validate({"recipe": recipes.DEFAULT, **fields}, context={SUBMISSION: True})

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        if v == FASHION_MNIST:
            return v
        if v.startswith(FOLDER_PREFIX):
            path = v[len(FOLDER_PREFIX):].strip()
            if not path:
                raise ValueError("folder dataset needs a path: --dataset folder:/path/to/pictures")
            # Absolute but not resolved: a symlink or mount point here must mean the same on workers.
            return FOLDER_PREFIX + os.path.abspath(os.path.expanduser(path))
        raise ValueError(f"unknown dataset {v!r}; available: {FASHION_MNIST}, {FOLDER_PREFIX}PATH")

    @field_validator("classes", mode="before")
    @classmethod
    def _parse_classes(cls, v, info: ValidationInfo):
        v = class_items(v)
        if str(info.data.get("dataset", "")).startswith(FOLDER_PREFIX):
            names = {str(c).strip() for c in (v or [])}
            bad = sorted(n for n in names if n in (".", "..") or "/" in n or "\\" in n)
            if bad:
                raise ValueError(f"folder classes are sub-folder names, not paths: {', '.join(bad)}")
            return tuple(sorted(names))
        return tuple(parse_classes(list(v or [])))

    @model_validator(mode="after")
    def _dataset_fits_arch(self, info: ValidationInfo):
        assert self.split in SPLITS
        submission = bool((info.context or {}).get(SUBMISSION))
        if self.folder is None and self.channels not in (None, FASHION_SHAPE[2]):
            raise ValueError(f"Fashion-MNIST images are grey: --channels is for "
                             f"--dataset {FOLDER_PREFIX}PATH")
        if submission and self.folder is None and "resize" in self.model_fields_set:
            raise ValueError(f"--resize is for --dataset {FOLDER_PREFIX}PATH: Fashion-MNIST's images are square")
        if submission and self.folder is not None and self.split != "train":
            raise ValueError(f"--split picks Fashion-MNIST's files: a {FOLDER_PREFIX} dataset trains on all its images")
        archs.get(self.arch).check_shape(self.image_shape)
        if self.eval_every > 0 and (why := quality_refused(self.dataset)):
            raise ValueError(f"--eval-every: {why}")
        why = recipes.refusal(self.training, self.label_smoothing, self.label_noise)
        if why:
            raise ValueError(why)
        from ganctl.jobs import conditional

        if why := conditional.refusal(self):
            raise ValueError(why)
        if submission and (why := conditional.submission_refusal(self, self.model_fields_set)):
            raise ValueError(why)
        if self.folder is not None and submission:
            from ganctl.jobs import folder

            # --clusters K needs K images for its k-means: counted here, not found short at training.
            folder.check(self.folder, self.classes, at_least=max(1, self.clusters),
                         needed_by=f"--clusters {self.clusters}")
        return self

    # The dataset.
    @property
    def folder(self) -> Path | None:
        """The image folder of a `folder:` dataset, else None."""
        if self.dataset.startswith(FOLDER_PREFIX):
            return Path(self.dataset[len(FOLDER_PREFIX):])
        return None

    @property
    def effective_image_size(self) -> int:
        """--image-size, else the arch's first size; Fashion-MNIST's own 28 where the arch makes it
        (its images are resized for an arch that does not: dcgan64 trains on them at 64x64)."""
        sizes = archs.get(self.arch).sizes
        if self.folder is None and not self.image_size and FASHION_SHAPE[0] in sizes:
            return FASHION_SHAPE[0]
        return self.image_size or sizes[0]

    @property
    def effective_channels(self) -> int:
        return FASHION_SHAPE[2] if self.folder is None else (self.channels or 3)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(h, w, c) of the training images, hence of the generator's output."""
        size = self.effective_image_size
        return (size, size, self.effective_channels)

    # Effective hyper-parameters: the spec's override, else the architecture's default.
    @property
    def info(self) -> archs.ArchInfo:
        """The arch, its builders set to this job's image shape."""
        return archs.get(self.arch).for_shape(self.image_shape)

    @property
    def training(self) -> recipes.Recipe:
        """The job's recipe with the spec's switches applied (lr/betas None: the arch's)."""
        return recipes.resolve(self.recipe, **{k: getattr(self, k) for k in recipes.SWITCHES})

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size or self.training.batch_size or self.info.batch_size

    @property
    def effective_lr_g(self) -> float:
        return self.training.lr_g or self.info.lr_g

    @property
    def effective_lr_d(self) -> float:
        return self.training.lr_d or self.info.lr_d

    @property
    def effective_betas(self) -> tuple[float, float]:
        t = self.training
        return (self.info.beta_1 if t.beta_1 is None else t.beta_1,
                self.info.beta_2 if t.beta_2 is None else t.beta_2)

    @property
    def effective_label_noise(self) -> float:
        return self.info.label_noise if self.label_noise is None else self.label_noise


def trains_with(spec: dict) -> dict:
    """A stored train spec as the job trains: the defaults it leaves out filled in, and the learning
    rates, betas and batch its recipe or architecture gives (None in the spec), so that a value left
    to the recipe and the same value given read alike (`ganctl compare`, the job page)."""
    from ganctl.jobs.jsonsafe import jsonable

    try:
        parsed = TrainSpec.model_validate(spec)
    except ValueError:  # a spec this version cannot read: what was stored
        return dict(spec)
    recipe, info = parsed.training, archs.get(parsed.arch)
    out = {key: getattr(parsed, key) for key in TrainSpec.model_fields}  # the dump leaves some defaults out
    for key in recipes.SWITCHES:
        value = getattr(recipe, key)
        out[key] = value if value is not None else getattr(info, key)
    return jsonable(out | {"batch_size": parsed.effective_batch_size, "label_noise": parsed.effective_label_noise})


class EvalSpec(BaseModel):
    """`ganctl eval`: score n images of a training job's exported generator (noise seed `seed`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # nan would pass no bound clearly

    n: int = Field(10_000, ge=50, le=100_000)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    epoch: int | None = Field(None, ge=1)  # score this epoch's checkpoint, not the export (jobs/experiments.py)


class SampleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # nan would pass no bound clearly

    n: int = Field(12, ge=1, le=100_000)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    format: Literal["h5", "savedmodel"] = "h5"
    epoch: int | None = Field(None, ge=1)  # sample this epoch's checkpoint, not the export (jobs/experiments.py)
    # BigGAN's truncation trick (psi) and an animated walk through `interpolate` random points.
    truncation: float | None = Field(None, gt=0, le=10)
    interpolate: int | None = Field(None, ge=2, le=32)
    # Conditional jobs (`--class`): the class's label 0..K-1, or all_classes (one grid row per class,
    # n columns); neither: uniformly drawn classes.
    label: int | None = Field(None, ge=0)
    all_classes: bool = False

    @model_validator(mode="after")
    def _walk_size(self):
        if self.interpolate is not None and self.n > 64:
            raise ValueError(f"--interpolate animates a grid of at most 64 images; got --n {self.n}")
        if self.all_classes and self.label is not None:
            raise ValueError("--class: one class or all, not both")
        if self.all_classes and self.interpolate is not None:
            raise ValueError("--interpolate walks one class at a time: use --class NAME, not --class all")
        return self
