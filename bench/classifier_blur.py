"""What the shipped quality classifier makes of blurred real images: its accuracy and class shares
on the real test split after a Gaussian blur of each sigma (pixels). bench.quality reads the class
histogram of generated images against uniform; this shows how much of an excess a lack of detail
alone produces (blurred shirts and coats read as pullovers).

    python -m bench.classifier_blur --sigmas 0,0.5,1,1.5
"""
from __future__ import annotations

import argparse

import numpy as np

from bench.common import cpu_name


def gaussian_blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of (N, H, W) images, zero outside the frame (Fashion-MNIST's black)."""
    if sigma <= 0:
        return images.astype(np.float32)
    r = int(3 * sigma + 0.5)
    t = np.arange(-r, r + 1)
    k = np.exp(-t ** 2 / (2 * sigma ** 2))
    k /= k.sum()
    x = np.pad(images.astype(np.float32), ((0, 0), (r, r), (r, r)))
    h, w = images.shape[1:]
    x = sum(k[i] * x[:, i:i + h, :] for i in range(2 * r + 1))
    return sum(k[i] * x[:, :, i:i + w] for i in range(2 * r + 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sigmas", default="0,0.5,0.75,1,1.5", help="comma-separated blur sigmas in pixels")
    args = parser.parse_args()
    try:
        sigmas = [float(s) for s in args.sigmas.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sigmas: numbers separated by commas, not {args.sigmas!r}")
    if not sigmas or min(sigmas) < 0:
        parser.error("--sigmas: at least one sigma, none below 0")

    from ganctl.jobs import data
    from ganctl.jobs.labels import CLASS_NAMES
    from ganctl.jobs.quality.classifier import get_classifier

    images, labels = data.load_split("test")
    classifier = get_classifier()
    print(f"Machine: {cpu_name()}; classifier {classifier.version}, {len(images)} real test images")
    print("| blur sigma | accuracy | classes vs uniform | " + " | ".join(CLASS_NAMES) + " |")
    print("|---" * (3 + len(CLASS_NAMES)) + "|")
    for sigma in sigmas:
        blurred = np.clip(np.rint(gaussian_blur(images, sigma)), 0, 255).astype(np.uint8)
        predicted = np.asarray(classifier.predict_classes(blurred[..., None])).ravel()
        shares = np.bincount(predicted, minlength=len(CLASS_NAMES)) / len(predicted)
        uniform = 1 / len(CLASS_NAMES)
        ratio = max(shares.max() / uniform, uniform / max(shares.min(), 1e-9))
        print(f"| {sigma:g} | {np.mean(predicted == labels):.3f} | {ratio:.2f}x | "
              + " | ".join(f"{s:.3f}" for s in shares) + " |")


if __name__ == "__main__":
    main()
