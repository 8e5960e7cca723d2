"""The architecture registry: each arch's defaults and its two network builders.

Adding an architecture means adding one ArchInfo to REGISTRY. Keras is imported inside the
builders only, so the CLI can read names and defaults without loading TensorFlow.

Builders take the image shape (h, w, c): `build_generator(noise_dim, shape)` and
`build_discriminator(shape)`; both default to the arch's `image_shape`. An arch makes square
images of the sizes in `sizes` only, with 1 or 3 channels (the channels come from the dataset).
`info.for_shape(shape)` is the same arch whose builders and `image_shape` are fixed to `shape`:
that is what `TrainSpec.info` returns, so code that calls `info.build_generator(info.noise_dim)`
and `info.build_discriminator(info.image_shape)` builds the networks for the job's images.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Literal

CHANNELS = (1, 3)


class ShapeError(ValueError):
    """An image shape the architecture cannot produce; the message is meant for the user."""


@dataclass(frozen=True)
class ArchInfo:
    name: str
    description: str
    source: str
    noise_dim: int
    batch_size: int
    lr_g: float
    lr_d: float
    beta_1: float
    beta_2: float
    # "sigmoid" generators want pixels in [0, 1]; "tanh" ones in [-1, 1].
    output: Literal["sigmoid", "tanh"]
    # The upsample notebook labels real 0 / fake 1 and adds uniform noise to the labels.
    real_label: float
    label_noise: float
    # The default shape (Fashion-MNIST's for the 28x28 archs); a job's shape comes from its dataset.
    image_shape: tuple[int, int, int]
    build_generator: Callable
    build_discriminator: Callable
    # Square image sizes the networks produce (h == w).
    sizes: tuple[int, ...] = (28,)

    def check_shape(self, shape) -> tuple[int, int, int]:
        """The shape as a tuple of ints, or ShapeError saying which archs make such images."""
        shape = tuple(int(x) for x in shape)
        if len(shape) != 3:
            raise ShapeError(f"arch {self.name}: image shape must be (height, width, channels), not {shape}")
        if shape[0] != shape[1] or shape[0] not in self.sizes:
            size = f"{shape[0]}x{shape[1]}"
            made = " or ".join(f"{z}x{z}" for z in self.sizes)
            others = [n for n, i in REGISTRY.items() if shape[0] == shape[1] and shape[0] in i.sizes]
            hint = (f"use --arch {' or '.join(others)} for {size}" if others else
                    "sizes available: " + ", ".join(str(z) for z in sorted({z for i in REGISTRY.values()
                                                                             for z in i.sizes})))
            raise ShapeError(f"arch {self.name} makes {made} images only, not {size}; {hint}")
        if shape[2] not in CHANNELS:
            raise ShapeError(f"arch {self.name}: images need 1 or 3 channels, not {shape[2]}")
        return shape

    def for_shape(self, shape) -> "ArchInfo":
        """This arch with `image_shape` and both builders' defaults set to `shape` (checked)."""
        shape = self.check_shape(shape)
        return self if shape == self.image_shape else _for_shape(self, shape)


@lru_cache(maxsize=64)
def _for_shape(info: ArchInfo, shape: tuple[int, int, int]) -> ArchInfo:
    gen, disc = info.build_generator, info.build_discriminator

    def build_generator(noise_dim: int, shape=shape):
        return gen(noise_dim, shape)

    def build_discriminator(shape=shape):
        return disc(shape)

    return replace(info, image_shape=shape, build_generator=build_generator,
                   build_discriminator=build_discriminator)


def _require(arch: str, shape) -> tuple[int, int, int]:
    """Builders refuse shapes their layers cannot produce, with the same message as the spec."""
    return REGISTRY[arch].check_shape(shape)


def _upsample_generator(noise_dim: int, shape=(28, 28, 1)):
    from keras import Sequential, layers

    _require("upsample", shape)

    return Sequential(
        [
            layers.Input((noise_dim,)),
            layers.Dense(7 * 7 * 128),
            layers.LeakyReLU(0.2),
            layers.Reshape((7, 7, 128)),
            layers.UpSampling2D(),
            layers.Conv2D(128, 5, padding="same"),
            layers.LeakyReLU(0.2),
            layers.UpSampling2D(),
            layers.Conv2D(128, 5, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(128, 4, padding="same"),
            layers.LeakyReLU(0.2),
            layers.Conv2D(128, 4, padding="same"),
            layers.LeakyReLU(0.2),
            # float32 output even under mixed precision: pixels and losses stay exact.
            layers.Conv2D(shape[2], 4, padding="same", activation="sigmoid", dtype="float32"),
        ],
        name="generator",
    )


def _upsample_discriminator(shape=(28, 28, 1)):
    from keras import Sequential, layers

    shape = _require("upsample", shape)

    blocks = []
    for filters in (32, 64, 128, 256):
        blocks += [layers.Conv2D(filters, 5), layers.LeakyReLU(0.2), layers.Dropout(0.4)]
    return Sequential(
        [layers.Input(shape), *blocks, layers.Flatten(), layers.Dropout(0.4),
         layers.Dense(1, activation="sigmoid", dtype="float32")],
        name="discriminator",
    )


def _dcgan_generator(noise_dim: int, shape=(28, 28, 1)):
    from keras import Sequential, layers

    _require("dcgan", shape)

    return Sequential(
        [
            layers.Input((noise_dim,)),
            layers.Dense(7 * 7 * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((7, 7, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(shape[2], 5, strides=2, padding="same", use_bias=False,
                                   activation="tanh", dtype="float32"),
        ],
        name="generator",
    )


def _dcgan_discriminator(shape=(28, 28, 1)):
    from keras import Sequential, layers

    shape = _require("dcgan", shape)

    return Sequential(
        [
            layers.Input(shape),
            layers.Conv2D(64, 5, strides=2, padding="same", use_bias=False),
            layers.LeakyReLU(),
            layers.Conv2D(128, 5, strides=2, padding="same", use_bias=False),
            layers.LeakyReLU(),
            layers.Flatten(),
            layers.Dense(1024, use_bias=False),
            layers.LeakyReLU(),
            layers.Dense(1, activation="sigmoid", dtype="float32"),
        ],
        name="discriminator",
    )


def _dcgan64_generator(noise_dim: int, shape=(64, 64, 3)):
    """DCGAN paper (Radford et al. 2015), 64x64: project to 4x4x512, four stride-2 kernel-4
    transposed convolutions (512 -> 256 -> 128 -> 64 -> channels), BatchNorm + ReLU, tanh output."""
    from keras import Sequential, layers

    shape = _require("dcgan64", shape)
    blocks = []
    for filters in (256, 128, 64):
        blocks += [layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False),
                   layers.BatchNormalization(), layers.ReLU()]
    return Sequential(
        [
            layers.Input((noise_dim,)),
            layers.Dense(4 * 4 * 512, use_bias=False),
            layers.Reshape((4, 4, 512)),
            layers.BatchNormalization(),
            layers.ReLU(),
            *blocks,
            layers.Conv2DTranspose(shape[2], 4, strides=2, padding="same", activation="tanh",
                                   dtype="float32"),
        ],
        name="generator",
    )


def _dcgan64_discriminator(shape=(64, 64, 3)):
    """DCGAN paper, 64x64: stride-2 kernel-4 convolutions 64 -> 128 -> 256 -> 512 with LeakyReLU(0.2)
    (BatchNorm on all but the first), then one sigmoid unit."""
    from keras import Sequential, layers

    shape = _require("dcgan64", shape)
    blocks = []
    for filters in (128, 256, 512):
        blocks += [layers.Conv2D(filters, 4, strides=2, padding="same", use_bias=False),
                   layers.BatchNormalization(), layers.LeakyReLU(0.2)]
    return Sequential(
        [
            layers.Input(shape),
            layers.Conv2D(64, 4, strides=2, padding="same"),
            layers.LeakyReLU(0.2),
            *blocks,
            layers.Flatten(),
            layers.Dense(1, activation="sigmoid", dtype="float32"),
        ],
        name="discriminator",
    )


REGISTRY: dict[str, ArchInfo] = {
    info.name: info
    for info in (
        ArchInfo(
            name="upsample",
            description="FashionGAN notebook: UpSampling2D+Conv2D generator, dropout conv discriminator",
            source="seeds 000/004",
            noise_dim=128, batch_size=128, lr_g=1e-4, lr_d=1e-5, beta_1=0.9, beta_2=0.999,
            output="sigmoid", real_label=0.0, label_noise=0.15, image_shape=(28, 28, 1),
            build_generator=_upsample_generator, build_discriminator=_upsample_discriminator,
        ),
        ArchInfo(
            name="dcgan",
            description="DCGAN trousers exercise: Conv2DTranspose generator with BatchNorm",
            source="seed 002",
            noise_dim=100, batch_size=128, lr_g=2e-4, lr_d=2e-4, beta_1=0.5, beta_2=0.999,
            output="tanh", real_label=1.0, label_noise=0.0, image_shape=(28, 28, 1),
            build_generator=_dcgan_generator, build_discriminator=_dcgan_discriminator,
        ),
        ArchInfo(
            name="dcgan64",
            description="DCGAN paper's 64x64 networks (4x4x512 -> 64x64), for colour image folders "
                        "(Fashion-MNIST too, upscaled to 64x64)",
            source="Radford et al. 2015",
            noise_dim=100, batch_size=128, lr_g=2e-4, lr_d=2e-4, beta_1=0.5, beta_2=0.999,
            output="tanh", real_label=1.0, label_noise=0.0, image_shape=(64, 64, 3), sizes=(64,),
            build_generator=_dcgan64_generator, build_discriminator=_dcgan64_discriminator,
        ),
    )
}


def names() -> list[str]:
    return sorted(REGISTRY)


def get(name: str) -> ArchInfo:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; available: {', '.join(names())}") from None
