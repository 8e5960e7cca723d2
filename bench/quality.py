"""GAN quality per architecture: train, sample, score against the real test split.

    python -m bench.quality [--epochs 5] [--n 2000] [--limit 2048] [--classes trouser,dress]
                            [--precisions auto,fp32]

Each arch trains with its default settings (ganctl.jobs.train.run) in a temp dir, then n images
are sampled from its exported generator (ganctl.jobs.sample) and scored by ganctl.jobs.quality.metrics
in the feature space of the shipped Fashion-MNIST classifier (fmnist-cnn-v1), against 2n real TEST images of the
same classes (fewer where the split holds fewer; FD then uses n_real/2 per side, see evaluate).
With several --precisions each arch trains once per precision from the same seed, so the rows show
what mixed precision costs in quality at equal epochs.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def score_arch(arch: str, precision: str, epochs: int, n: int, limit: int | None,
               classes: tuple[int, ...], seed: int, real, clf, workdir: Path, recipe: str = "seed"):
    from ganctl.jobs import data, sample, train
    from ganctl.jobs.noise import fixed_noise
    from ganctl.jobs.quality import metrics
    from ganctl.jobs.layout import JobFolder
    from ganctl.jobs.spec import TrainSpec

    spec = TrainSpec(arch=arch, epochs=epochs, limit=limit, classes=classes, seed=seed, recipe=recipe,
                     precision=precision, checkpoint_every=10_000, grid_every=10_000)
    t0 = time.perf_counter()
    result = train.run(spec, workdir)
    seconds = time.perf_counter() - t0
    gen = sample.load_generator(spec, JobFolder(workdir).export)
    fake = sample.generate(spec, gen, n, seed=seed + 1)
    grid = data.unscale(gen(fixed_noise(spec)), spec.info.output)
    q = metrics.evaluate(fake, real, clf, classes=spec.classes, grid_images=grid, seed=seed)
    return q, seconds, result.precision


def table(rows) -> str:
    head = ("| arch | recipe | seed | dtype | epochs | train s | FD | FD floor | KID | precision | recall "
            "| density | coverage "
            "| diversity | grid spread | collapse |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for arch, recipe, seed, precision, epochs, seconds, q in rows:
        collapse = ("yes: " + "; ".join(q.collapse_reasons)) if q.collapse else "no"
        lines.append(f"| {arch} | {recipe} | {seed} | {precision} | {epochs} | {seconds:.0f} | {q.fd:.2f} | "
                     f"{q.fd_floor:.2f} | "
                     f"{q.kid:.3f} ± {q.kid_std:.3f} | {q.precision:.3f} | {q.recall:.3f} | "
                     f"{q.density:.3f} | {q.coverage:.3f} | {q.diversity:.3f} | {q.grid_spread:.3f} | {collapse} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000, help="generated images to score")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--classes", default="", help="comma-separated class names or indices")
    parser.add_argument("--archs", default="upsample,dcgan")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--precisions", default="auto", help="comma-separated: auto, fp32, bf16, fp16")
    parser.add_argument("--recipes", default="seed", help="comma-separated training recipes: seed, modern")
    parser.add_argument("--seeds", default="", help="comma-separated seeds (default: --seed alone)")
    args = parser.parse_args(argv)

    from ganctl.jobs import data
    from ganctl.jobs.quality import classifier, scoring

    classes = tuple(data.parse_classes([c for c in args.classes.split(",") if c.strip()]))
    t0 = time.perf_counter()
    clf = classifier.get_classifier()
    print(f"classifier {clf.version}: test accuracy {clf.test_accuracy:.4f}, "
          f"{'trained' if clf.trained else 'loaded'} in {time.perf_counter() - t0:.0f}s ({clf.path})")
    real = scoring.real_reference(classes, 2 * args.n, seed=args.seed)
    rows = []
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()] or [args.seed]
    runs = [(a.strip(), p.strip(), r.strip(), sd) for a in args.archs.split(",") if a.strip()
            for p in args.precisions.split(",") if p.strip()
            for r in args.recipes.split(",") if r.strip() for sd in seeds]
    for arch, precision, recipe, sd in runs:
        with tempfile.TemporaryDirectory(prefix=f"ganctl-quality-{arch}-") as tmp:
            q, seconds, resolved = score_arch(arch, precision, args.epochs, args.n, args.limit, classes,
                                              sd, real, clf, Path(tmp), recipe=recipe)
        rows.append((arch, recipe, sd, resolved, args.epochs, seconds, q))
        print(f"{arch} {recipe} seed {sd} ({resolved}): done ({seconds:.0f}s training)", flush=True)
    names = ", ".join(data.CLASS_NAMES[c] for c in classes) if classes else "all classes"
    print(f"\n{args.n} samples vs {len(real)} real test images ({names}); "
          f"training images: {args.limit or 'all'}; FD n per side: {rows[0][-1].fd_n if rows else '-'}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
