"""GAN quality per training recipe: FD after every epoch, and the time to the seed recipe's FD.

    python -m bench.quality --archs dcgan --epochs 10 --limit 20000 --n 2000 --seeds 0,1,2 \\
        --recipes "seed; modern; seed ema=0.999; seed loss=hinge spectral_norm=true" \\
        --default modern --out /tmp/quality

Every run is a real ganctl training job (ganctl.jobs.train.run with --eval-every 1): after each
epoch n images from the job's sampler (the EMA generator where the recipe has one) are scored by
ganctl.jobs.quality in the feature space of the shipped classifier (fmnist-cnn-v1) against real
TEST images of the same classes, exactly as `ganctl submit --eval-every 1 --eval-n N` records them.
--conditional makes every run a class-conditional job and adds the classifier's accuracy on the
images asked for each class. A run is `RECIPE [switch=value ...]`, the switches being TrainSpec's (loss, spectral_norm, ema,
augment, r1, lr_g, lr_d, beta_1, beta_2) or the job option batch_size; runs are separated by `;`.

Reported, per arch: each run's final figures as mean ± sd over the seeds (FD with its floor, KID,
precision, recall, coverage, diversity, the class histogram against uniform, any collapse alarm
at any epoch), FD at equal training seconds, and the time-to-quality figure: the training seconds
the --default run needs to reach, seed by seed, the FD the `seed` recipe reaches after all its
epochs, against those epochs' seconds. Training seconds are the epochs' own (grids and
evaluation excluded). --out writes quality.md, quality.json, an FD-per-epoch chart and the
seed-vs-default grids of the first seed; run again with the same --out and settings, it keeps the
runs quality.json holds and trains only the missing ones (more seeds, more recipes, a stopped run).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED_RECIPE = "seed"
JOB_OPTIONS = ("batch_size",)  # not recipe switches, but what a run may vary besides them


@dataclass
class Run:
    arch: str
    label: str      # "seed", "modern", "seed ema=0.999"
    seed: int
    precision: str = ""
    epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)   # per epoch, training only
    quality: list[dict] = field(default_factory=list)    # per epoch, Quality.to_dict()
    grids: dict[int, bytes] = field(default_factory=dict)

    @property
    def fd(self) -> list[float]:
        return [q["fd"] for q in self.quality]

    @property
    def elapsed(self) -> list[float]:
        """Cumulative training seconds at the end of each epoch."""
        out, total = [], 0.0
        for s in self.seconds:
            total += s
            out.append(total)
        return out

    @property
    def final(self) -> dict:
        return self.quality[-1]


def parse_run(text: str) -> tuple[str, dict]:
    """'seed ema=0.999 augment=translation,cutout' -> ('seed', {'ema': '0.999', 'augment': ...})."""
    from ganctl.jobs import recipes

    words = text.split()
    if not words:
        raise ValueError("empty run in --recipes")
    name, switches = words[0], {}
    recipes.get(name)
    allowed = (*recipes.SWITCHES, *JOB_OPTIONS)
    for word in words[1:]:
        key, sep, value = word.partition("=")
        if not sep or key not in allowed:
            raise ValueError(f"run {text!r}: {word!r} is not SWITCH=VALUE with a switch among "
                             f"{', '.join(allowed)}")
        switches[key] = value
    return name, switches


def train_run(arch: str, label: str, seed: int, args, classes, workdir: Path, keep_grids: bool) -> Run:
    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    recipe, switches = parse_run(label)
    # A new submission's spec, as `ganctl submit` builds it (conditional: the class code's design).
    spec = TrainSpec.submitted(arch=arch, epochs=args.epochs, limit=args.limit, classes=classes, seed=seed,
                               recipe=recipe, precision=args.precision, eval_every=1, eval_n=args.n,
                               checkpoint_every=10_000, grid_every=1, conditional=args.conditional,
                               **switches)
    run = Run(arch, label, seed)

    def on_epoch(report):
        run.epochs.append(report.epoch)
        run.seconds.append(report.seconds)
        run.quality.append(report.quality)
        if keep_grids and report.grid_png:
            run.grids[report.epoch] = report.grid_png
        print(f"  {arch} {label!r} seed {seed} epoch {report.epoch}: {report.seconds:.0f}s "
              f"FD {report.quality['fd']:.1f}", flush=True)

    result = train.run(spec, workdir, train.Hooks(on_epoch=on_epoch))
    run.precision = result.precision
    return run


# --------------------------------------------------------------------------- figures


def uniformity(histogram: dict, wanted: list[str]) -> float:
    """How far the class histogram is from uniform over the wanted classes: the max over them of
    max(p*k, 1/(p*k)) (1: uniform; a class at half or double its share: 2; a missing one: inf)."""
    k, worst = len(wanted), 1.0
    for name in wanted:
        p = float(histogram.get(name, 0.0))
        if p <= 0:
            return float("inf")
        worst = max(worst, p * k, 1.0 / (p * k))
    return worst


def mean_sd(values) -> str:
    values = [float(v) for v in values]
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.fmean(values):.2f} ± {statistics.stdev(values):.2f}"


def fd_at(run: Run, seconds: float) -> float:
    """FD of the last epoch that ended within `seconds` of training (nan if none did)."""
    done = [fd for fd, t in zip(run.fd, run.elapsed) if t <= seconds * 1.0001]
    return done[-1] if done else float("nan")


def time_to(run: Run, target_fd: float) -> tuple[int, float] | None:
    """(epoch, cumulative seconds) of the first epoch whose FD is at most target_fd."""
    for epoch, fd, t in zip(run.epochs, run.fd, run.elapsed):
        if fd <= target_fd:
            return epoch, t
    return None


def summary_table(runs: list[Run], wanted: list[str]) -> str:
    labels = list(dict.fromkeys(r.label for r in runs))
    base = statistics.fmean(r.final["fd"] for r in runs if r.label == SEED_RECIPE) \
        if any(r.label == SEED_RECIPE for r in runs) else float("nan")
    head = ("| run | seeds | s/epoch | FD | FD vs seed | FD floor | KID | precision | recall | coverage "
            "| diversity | classes vs uniform | collapse alarms |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        fds = [r.final["fd"] for r in rs]
        alarms = sum(1 for r in rs for q in r.quality if q.get("collapse"))
        uni = max(uniformity(r.final["class_histogram"], wanted) for r in rs)
        lines.append(
            f"| {label} | {len(rs)} | {statistics.fmean(s for r in rs for s in r.seconds):.1f} | {mean_sd(fds)} "
            f"| {statistics.fmean(fds) / base:.2f}x | {statistics.fmean(r.final['fd_floor'] for r in rs):.2f} "
            f"| {mean_sd(r.final['kid'] for r in rs)} | {mean_sd(r.final['precision'] for r in rs)} "
            f"| {mean_sd(r.final['recall'] for r in rs)} | {mean_sd(r.final['coverage'] for r in rs)} "
            f"| {mean_sd(r.final['diversity'] for r in rs)} | {uni:.2f}x (worst seed) "
            f"| {alarms} of {sum(len(r.quality) for r in rs)} epochs |")
    return "\n".join(lines)


def curve_table(runs: list[Run]) -> str:
    labels = list(dict.fromkeys(r.label for r in runs))
    epochs = sorted({e for r in runs for e in r.epochs})
    head = "| run | " + " | ".join(f"ep {e}" for e in epochs) + " |"
    lines = [head, "|" + "---|" * (len(epochs) + 1)]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        cells = []
        for i, _ in enumerate(epochs):
            vals = [r.fd[i] for r in rs if i < len(r.fd)]
            cells.append(f"{statistics.fmean(vals):.1f}" if vals else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def equal_seconds_table(runs: list[Run]) -> tuple[float, str]:
    budget = min(r.elapsed[-1] for r in runs)
    labels = list(dict.fromkeys(r.label for r in runs))
    lines = ["| run | FD at equal seconds | epochs done |", "|---|---|---|"]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        done = [sum(1 for t in r.elapsed if t <= budget * 1.0001) for r in rs]
        lines.append(f"| {label} | {mean_sd(fd_at(r, budget) for r in rs)} | "
                     f"{', '.join(map(str, done))} |")
    return budget, "\n".join(lines)


def time_to_quality_table(runs: list[Run], default: str) -> str:
    lines = ["| seed | `seed` recipe FD after its epochs | its training s | "
             f"`{default}` reaches it at epoch | after s | time ratio |", "|---|---|---|---|---|---|"]
    for base in (r for r in runs if r.label == SEED_RECIPE):
        other = next((r for r in runs if r.label == default and r.seed == base.seed), None)
        if other is None:
            continue
        target, total = base.final["fd"], base.elapsed[-1]
        hit = time_to(other, target)
        if hit is None:
            lines.append(f"| {base.seed} | {target:.1f} | {total:.0f} | not within {other.epochs[-1]} "
                         f"(best FD {min(other.fd):.1f}) | - | - |")
        else:
            lines.append(f"| {base.seed} | {target:.1f} | {total:.0f} | {hit[0]} | {hit[1]:.0f} | "
                         f"{hit[1] / total:.2f} |")
    return "\n".join(lines)


def histogram_table(runs: list[Run], names: list[str]) -> str:
    labels = list(dict.fromkeys(r.label for r in runs))
    lines = ["| run | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        cells = [f"{statistics.fmean(r.final['class_histogram'].get(n, 0.0) for r in rs):.3f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def class_accuracy_table(runs: list[Run], names: list[str]) -> str:
    """A conditional job's per-class accuracy at the final epoch (does "trouser" give trousers?)."""
    labels = list(dict.fromkeys(r.label for r in runs))
    lines = ["| run | mean | worst | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 3)]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        acc = {n: statistics.fmean(r.final["per_class"][n]["accuracy"] for r in rs) for n in names}
        lines.append(f"| {label} | {statistics.fmean(acc.values()):.2f} | {min(acc.values()):.2f} | "
                     + " | ".join(f"{a:.2f}" for a in acc.values()) + " |")
    return "\n".join(lines)


# --------------------------------------------------------------------------- pictures


def fd_chart(runs: list[Run], path: Path, arch: str) -> None:
    from ganctl.jobs import pictures

    series = {}
    for label in dict.fromkeys(r.label for r in runs):
        rs = [r for r in runs if r.label == label]
        n = min(len(r.fd) for r in rs)
        series[label] = (rs[0].epochs[:n], [statistics.fmean(r.fd[i] for r in rs) for i in range(n)])
    # Against epochs, not seconds: on a shared machine an epoch's seconds vary more than recipes do.
    pictures.line_chart_png(series, path, (760, 460), title=f"{arch}: FD after each epoch (mean over seeds)",
                            x_label="epoch", y_label="FD", integer_x=True)


def grids_picture(runs: list[Run], labels: list[str], path: Path) -> None:
    """The first seed's fixed-noise grids, one row per run, one column per chosen epoch."""
    import io

    from PIL import Image, ImageDraw

    from ganctl.jobs import pictures

    seed = min(r.seed for r in runs)
    chosen = [r for label in labels for r in runs if r.label == label and r.seed == seed and r.grids]
    if not chosen:
        return
    epochs = sorted(set.intersection(*(set(r.grids) for r in chosen)))
    epochs = sorted({epochs[0], epochs[len(epochs) // 2], epochs[-1]})
    tiles = [[Image.open(io.BytesIO(r.grids[e])).convert("RGB") for e in epochs] for r in chosen]
    w, h = tiles[0][0].size
    f = pictures.font(13)
    widest = max(pictures.text_size(ImageDraw.Draw(Image.new("RGB", (1, 1))), r.label, f)[0] for r in chosen)
    left, top, gap = widest + 16, 24, 8
    sheet = Image.new("RGB", (left + len(epochs) * (w + gap), top + len(chosen) * (h + gap)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for j, e in enumerate(epochs):
        pictures.draw_text(draw, (left + j * (w + gap) + w / 2, 4), f"epoch {e}", f, (40, 40, 40), "center")
    for i, (r, row) in enumerate(zip(chosen, tiles)):
        y = top + i * (h + gap)
        pictures.draw_text(draw, (6, y + h / 2), r.label, f, (40, 40, 40), "left", "middle")
        for j, tile in enumerate(row):
            sheet.paste(tile, (left + j * (w + gap), y))
    pictures.write_atomic(path, pictures.png_bytes(sheet))


# --------------------------------------------------------------------------- main


def machine() -> str:
    model = flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                have = set(line.split(":", 1)[1].split())
                flags = " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in have)
    except OSError:
        pass
    return f"{model or platform.processor()} ({flags or 'flags unknown'}), {os.cpu_count()} cores"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000, help="generated images scored after every epoch")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--classes", default="", help="comma-separated class names or indices")
    parser.add_argument("--archs", default="dcgan")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16 or fp16")
    parser.add_argument("--recipes", default="seed; modern", help="runs separated by ';': RECIPE [switch=value ...]")
    parser.add_argument("--default", default=None, help="the run timed against `seed` (default: the last run)")
    parser.add_argument("--out", type=Path, default=None, help="folder for quality.md/.json and the pictures")
    parser.add_argument("--conditional", action="store_true",
                        help="class-conditional jobs: also the classifier's accuracy per requested class")
    args = parser.parse_args(argv)

    from ganctl.jobs import data
    from ganctl.jobs.labels import CLASS_NAMES

    labels = [" ".join(r.split()) for r in args.recipes.split(";") if r.strip()]
    for label in labels:
        parse_run(label)  # refuse a bad run before hours of training
    default = " ".join(args.default.split()) if args.default else labels[-1]
    if default not in labels:
        parser.error(f"--default {default!r} is not one of the runs: {', '.join(labels)}")
    classes = tuple(data.parse_classes([c for c in args.classes.split(",") if c.strip()]))
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    wanted = [CLASS_NAMES[c] for c in (classes or range(len(CLASS_NAMES)))]
    started, load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()[0]
    config = {"epochs": args.epochs, "n": args.n, "limit": args.limit, "classes": list(classes),
              "precision": args.precision} | ({"conditional": True} if args.conditional else {})
    runs = load_runs(args.out, config) if args.out else []
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        for seed in seeds:  # seed-major: a stopped benchmark has every recipe for the seeds it did
            for label in labels:
                if any((r.arch, r.label, r.seed) == (arch, label, seed) for r in runs):
                    print(f"  {arch} {label!r} seed {seed}: in {args.out / 'quality.json'} already")
                    continue
                with tempfile.TemporaryDirectory(prefix=f"ganctl-quality-{arch}-") as tmp:
                    keep = seed == seeds[0] and label in (SEED_RECIPE, default)
                    runs.append(train_run(arch, label, seed, args, classes, Path(tmp), keep))
                if args.out:
                    save_runs(args.out, config, runs)
                    write(args, runs, default, wanted, started, load)
    print(write(args, runs, default, wanted, started, load))


def load_runs(out: Path, config: dict) -> list[Run]:
    """The runs an earlier invocation with the same settings saved in out/quality.json (a stopped
    or extended benchmark goes on where it was; other settings start afresh)."""
    path = out / "quality.json"
    if not path.is_file():
        return []
    saved = json.loads(path.read_text())
    if saved.get("config") != config:
        print(f"  {path}: other settings ({saved.get('config')}); starting afresh")
        return []
    runs = []
    for r in saved["runs"]:
        run = Run(**{k: v for k, v in r.items() if k != "grids"})
        run.grids = {int(e): (out / name).read_bytes() for e, name in r.get("grids", {}).items()
                     if (out / name).is_file()}
        runs.append(run)
    return runs


def save_runs(out: Path, config: dict, runs: list[Run]) -> None:
    from ganctl.jobs.layout import write_atomic

    (out / "grids").mkdir(parents=True, exist_ok=True)
    rows = []
    for r in runs:
        names = {}
        for epoch, png in r.grids.items():
            name = f"grids/{r.arch}-{r.label.replace(' ', '_').replace('=', '-')}-{r.seed}-{epoch}.png"
            if not (out / name).is_file():
                write_atomic(out / name, png)
            names[epoch] = name
        rows.append({**{k: v for k, v in asdict(r).items() if k != "grids"}, "grids": names})
    write_atomic(out / "quality.json", json.dumps({"config": config, "runs": rows}, indent=1).encode())


def write(args, runs: list[Run], default: str, wanted: list[str], started: str, load: float) -> str:
    names = ", ".join(wanted) if args.classes else "all classes"
    out = [f"Machine: {machine()}; started {started}, load average {load:.1f} at the start, "
           f"{os.getloadavg()[0]:.1f} at the end.",
           f"Training: {args.limit or 'all'} training images ({names}), {args.epochs} epochs, "
           f"precision {runs[0].precision if runs else args.precision}; FD etc. on {args.n} samples "
           f"after every epoch against the real test split."]
    for arch in dict.fromkeys(r.arch for r in runs):
        rs = [r for r in runs if r.arch == arch]
        budget, equal = equal_seconds_table(rs)
        out += [f"\n### {arch}\n", "Final epoch, mean ± sd over seeds:\n", summary_table(rs, wanted),
                "\nFD after each epoch (mean over seeds):\n", curve_table(rs),
                f"\nAt equal training seconds ({budget:.0f} s, the shortest run's total):\n", equal,
                "\nClass shares of the samples at the final epoch (uniform: "
                f"{1 / len(wanted):.3f}):\n", histogram_table(rs, wanted),
                f"\nTime to quality (`{default}` against the `{SEED_RECIPE}` recipe's final FD):\n",
                time_to_quality_table(rs, default)]
        if args.conditional:
            out += ["\nConditional: the classifier's accuracy on images asked for each class, final epoch "
                    "(mean over seeds; target 0.90 each):\n", class_accuracy_table(rs, wanted)]
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            fd_chart(rs, args.out / f"quality-{arch}-fd.png", arch)
            grids_picture(rs, [SEED_RECIPE, default], args.out / f"quality-{arch}-grids.png")
    text = "\n".join(out)
    if args.out:
        from ganctl.jobs.layout import write_atomic

        write_atomic(args.out / "quality.md", (text + "\n").encode())
    return text


if __name__ == "__main__":
    main()
