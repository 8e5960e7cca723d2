"""The architecture registry: each arch's defaults and its two network builders.

Adding an architecture means adding one ArchInfo to REGISTRY. Keras is imported inside the
builders only, so the CLI can read names and defaults without loading TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal


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
    image_shape: tuple[int, int, int]
    build_generator: Callable
    build_discriminator: Callable


def _upsample_generator(noise_dim: int):
    from keras import Sequential, layers

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
            layers.Conv2D(1, 4, padding="same", activation="sigmoid", dtype="float32"),
        ],
        name="generator",
    )


def _upsample_discriminator(shape=(28, 28, 1)):
    from keras import Sequential, layers

    blocks = []
    for filters in (32, 64, 128, 256):
        blocks += [layers.Conv2D(filters, 5), layers.LeakyReLU(0.2), layers.Dropout(0.4)]
    return Sequential(
        [layers.Input(shape), *blocks, layers.Flatten(), layers.Dropout(0.4),
         layers.Dense(1, activation="sigmoid", dtype="float32")],
        name="discriminator",
    )


def _dcgan_generator(noise_dim: int):
    from keras import Sequential, layers

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
            layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False,
                                   activation="tanh", dtype="float32"),
        ],
        name="generator",
    )


def _dcgan_discriminator(shape=(28, 28, 1)):
    from keras import Sequential, layers

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
    )
}


def names() -> list[str]:
    return sorted(REGISTRY)


def get(name: str) -> ArchInfo:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown arch {name!r}; available: {', '.join(names())}") from None
