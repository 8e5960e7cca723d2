"""Job specs: validated, frozen, JSON round-trip. No TensorFlow here (the CLI imports this)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from . import archs
from .data import SPLITS, parse_classes

Precision = Literal["auto", "fp32", "bf16", "fp16"]


class TrainSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    arch: str = "upsample"
    epochs: int = Field(20, ge=1, le=100_000)
    dataset: str = "fashion-mnist"
    split: Literal["train", "test", "all"] = "train"
    # Class indices 0..9, sorted; empty means all classes.
    classes: tuple[int, ...] = ()
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

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, v: str) -> str:
        archs.get(v)  # raises ValueError with the list of known ones
        return v

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, v: str) -> str:
        if v != "fashion-mnist":
            raise ValueError(f"unknown dataset {v!r}; available: fashion-mnist")
        return v

    @field_validator("classes", mode="before")
    @classmethod
    def _parse_classes(cls, v):
        if isinstance(v, str):
            v = [c for c in v.split(",") if c.strip()]
        return tuple(parse_classes(list(v or [])))

    @model_validator(mode="after")
    def _split_known(self):
        assert self.split in SPLITS
        return self

    # Effective hyper-parameters: the spec's override, else the architecture's default.
    @property
    def info(self) -> archs.ArchInfo:
        return archs.get(self.arch)

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size or self.info.batch_size

    @property
    def effective_lr_g(self) -> float:
        return self.lr_g or self.info.lr_g

    @property
    def effective_lr_d(self) -> float:
        return self.lr_d or self.info.lr_d

    @property
    def effective_label_noise(self) -> float:
        return self.info.label_noise if self.label_noise is None else self.label_noise


class SampleSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    n: int = Field(12, ge=1, le=100_000)
    seed: int | None = Field(None, ge=0, le=2**31 - 1)
    format: Literal["h5", "savedmodel"] = "h5"
