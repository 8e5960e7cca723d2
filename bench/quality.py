"""GAN quality per training recipe: FD after every epoch, and the time to the seed recipe's FD.

    python -m bench.quality --archs dcgan --epochs 10 --limit 20000 --n 2000 --seeds 0,1,2 \\
        --recipes "seed; modern; seed ema=0.999; seed loss=hinge spectral_norm=true" \\
        --default modern --out /tmp/quality

Every run is a real ganctl training job (ganctl.jobs.train.run with --eval-every 1): after each
epoch n images from the job's sampler (the EMA generator where the recipe has one) are scored by
ganctl.jobs.quality in the feature space of the shipped classifier (fmnist-cnn-v1) against real
TEST images of the same classes, exactly as `ganctl submit --eval-every 1 --eval-n N` records them.
--conditional makes every run a class-conditional job, built as `ganctl submit --conditional`
builds one (so with the class loss and mode seeking unless the run sets class_loss= or
mode_seeking=, or is `seed`), and adds the classifier's accuracy on the images asked for each
class. A run is `RECIPE [switch=value ...]`, the switches being TrainSpec's (loss, spectral_norm,
ema, augment, r1, mode_seeking, lr_g, lr_d, beta_1, beta_2) or the job options batch_size,
class_loss, label_noise and label_smoothing; runs are separated by `;`. dcgan64 trains on
Fashion-MNIST resized to 64x64 and is scored at 28x28, as its jobs are.

Reported, per arch: each run's final figures as mean ± sd over the seeds (FD with its floor, KID,
precision, recall, coverage, diversity, the class histogram against uniform, any collapse alarm
at any epoch), FD and the class histogram against uniform after every epoch, FD at equal training
seconds, and the time-to-quality figure: the training seconds the --default run needs to reach,
seed by seed, the FD the `seed` recipe reaches after all its epochs, against those epochs' seconds.
Training seconds are the epochs' own (grids and evaluation excluded). --probe-every STEPS also
measures the --default run's FD every STEPS steps until it reaches that FD, so the crossing is
found inside an epoch. --out writes quality.md, quality.json, an FD-per-epoch chart and the grids
of the first seed's runs trained by this call (`seed` first, the default last); run again with
the same --out and settings, it keeps the runs quality.json holds and trains only the
missing ones (more seeds, more recipes, a stopped run).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from bench.common import cpu_name

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEED_RECIPE = "seed"
# Not recipe switches, but job options a run may vary besides them.
JOB_OPTIONS = ("batch_size", "class_loss", "clusters", "cluster_layers", "label_noise", "label_smoothing")


@dataclass
class Run:
    arch: str
    label: str      # "seed", "modern", "seed ema=0.999"
    seed: int
    precision: str = ""
    epochs: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)   # per epoch, training only
    quality: list[dict] = field(default_factory=list)    # per epoch, Quality.to_dict()
    # --probe-every: mid-epoch FDs {epoch, step, steps, seconds (cumulative training), fd}
    probes: list[dict] = field(default_factory=list)
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


def train_run(arch: str, label: str, seed: int, args, classes, workdir: Path, keep_grids: bool,
              probe_target: float | None = None) -> Run:
    """One real training job; with probe_target, its FD is also measured every --probe-every steps
    until it reaches probe_target (the probes' own seconds are taken out of the epoch's)."""
    from ganctl.jobs import train
    from ganctl.jobs.spec import TrainSpec

    recipe, switches = parse_run(label)
    # A new submission's spec, as `ganctl submit` builds it (conditional: the class code's design).
    spec = TrainSpec.submitted(arch=arch, epochs=args.epochs, limit=args.limit, classes=classes, seed=seed,
                               recipe=recipe, precision=args.precision, eval_every=1, eval_n=args.n,
                               checkpoint_every=10_000, grid_every=1, conditional=args.conditional,
                               **switches)
    run = Run(arch, label, seed)
    probe = Probe(spec, run, args.probe_every, probe_target)

    def on_epoch(report):
        run.epochs.append(report.epoch)
        run.seconds.append(probe.end_epoch(report.seconds))
        run.quality.append(report.quality)
        probe.epoch_scored(report.quality["fd"])
        if keep_grids and report.grid_png:
            run.grids[report.epoch] = report.grid_png
        print(f"  {arch} {label!r} seed {seed} epoch {report.epoch}: {report.seconds:.0f}s "
              f"FD {report.quality['fd']:.1f}", flush=True)

    hooks = train.Hooks(on_epoch=on_epoch, on_batch=probe.on_batch, on_built=probe.on_built)
    result = train.run(spec, workdir, hooks)
    run.precision = result.precision
    return run


class Probe:
    """Mid-epoch FD of a run's sampler every `every` steps until it is at most `target` (the `seed`
    recipe's final FD): an epoch's evaluation alone cannot say where inside the epoch the crossing
    was. A probe's seconds are taken out of the epoch's training seconds; its time stamp is the
    training seconds before it, measured from the epoch's start (train.run's own clock)."""

    def __init__(self, spec, run: Run, every: int, target: float | None):
        self.spec, self.run, self.every, self.target = spec, run, every, target
        self.active = bool(every) and target is not None
        self.gan = self.first = self.last = None
        self.spent, self.pending = 0.0, []   # this epoch's probe seconds; probes awaiting a time stamp

    def on_built(self, gan) -> None:
        self.gan = gan
        if self.active:  # what the epoch-end evaluation uses, loaded once
            from ganctl.jobs.quality import scoring
            from ganctl.jobs.quality.classifier import get_classifier

            self.classifier = get_classifier()
            self.reference = scoring.real_reference(self.spec.classes, 2 * self.spec.eval_n, seed=0)

    def on_batch(self, epoch: int, step: int, steps: int) -> None:
        now = time.perf_counter()
        if step == 1:
            self.first = now
        self.last = now
        if not self.active or step % self.every or step == steps:  # the epoch's own evaluation follows
            return
        from ganctl.jobs import data
        from ganctl.jobs.conditional import caller, has_codes
        from ganctl.jobs.noise import eval_seed, fixed_noise
        from ganctl.jobs.quality import scoring

        codes = has_codes(self.spec)
        grid = data.unscale(self.gan.generate(fixed_noise(self.spec)), self.spec.info.output) if not codes else None
        fd = scoring.score_generator(self.spec, caller(self.gan.sampler, codes),
                                     self.classifier, self.reference, grid, eval_seed(self.spec))["fd"]
        self.pending.append({"epoch": epoch, "step": step, "steps": steps,
                             "since_first": now - self.first - self.spent, "fd": fd})
        print(f"  {self.run.arch} {self.run.label!r} seed {self.run.seed} epoch {epoch} step {step}/{steps}: "
              f"FD {fd:.1f}", flush=True)
        self.spent += time.perf_counter() - now
        self.last = time.perf_counter()
        if fd <= self.target:
            self.active = False

    def end_epoch(self, seconds: float) -> float:
        """The epoch's training seconds without its probes; time-stamps this epoch's probes."""
        training = seconds - self.spent
        if self.pending:
            # training seconds before the first on_batch (data pipeline set-up and the first step)
            before_first = training - (self.last - self.first - self.spent)
            prior = sum(self.run.seconds)
            for p in self.pending:
                since_first = p.pop("since_first")
                self.run.probes.append({**p, "seconds": prior + before_first + since_first})
        self.spent, self.pending = 0.0, []
        return training

    def epoch_scored(self, fd: float) -> None:
        if self.target is not None and fd <= self.target:  # crossed by the epoch's own evaluation
            self.active = False


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


def time_to(run: Run, target_fd: float) -> tuple[str, float] | None:
    """(where, cumulative training seconds) of the first evaluation, an epoch's or a mid-epoch
    probe's, whose FD is at most target_fd."""
    points = [(f"epoch {e}", t, fd) for e, t, fd in zip(run.epochs, run.elapsed, run.fd)]
    points += [(f"epoch {p['epoch']}, step {p['step']} of {p['steps']}", p["seconds"], p["fd"])
               for p in run.probes]
    for where, t, fd in sorted(points, key=lambda p: p[1]):
        if fd <= target_fd:
            return where, t
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
        vs_seed = f"{statistics.fmean(fds) / base:.2f}x" if base == base else "-"  # nan: no `seed` run
        lines.append(
            f"| {label} | {len(rs)} | {statistics.fmean(s for r in rs for s in r.seconds):.1f} | {mean_sd(fds)} "
            f"| {vs_seed} | {statistics.fmean(r.final['fd_floor'] for r in rs):.2f} "
            f"| {mean_sd(r.final['kid'] for r in rs)} | {mean_sd(r.final['precision'] for r in rs)} "
            f"| {mean_sd(r.final['recall'] for r in rs)} | {mean_sd(r.final['coverage'] for r in rs)} "
            f"| {mean_sd(r.final['diversity'] for r in rs)} | {uni:.2f}x (worst seed) "
            f"| {alarms} of {sum(len(r.quality) for r in rs)} epochs |")
    return "\n".join(lines)


def curve_table(runs: list[Run], value=lambda q: q["fd"], combine=statistics.fmean, fmt="{:.1f}") -> str:
    """One row per run, one column per epoch: value(epoch's quality), combined over the seeds."""
    labels = list(dict.fromkeys(r.label for r in runs))
    epochs = sorted({e for r in runs for e in r.epochs})
    head = "| run | " + " | ".join(f"ep {e}" for e in epochs) + " |"
    lines = [head, "|" + "---|" * (len(epochs) + 1)]
    for label in labels:
        rs = [r for r in runs if r.label == label]
        cells = []
        for i, _ in enumerate(epochs):
            vals = [value(r.quality[i]) for r in rs if i < len(r.quality)]
            cells.append(fmt.format(combine(vals)) if vals else "")
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
             f"`{default}` reaches it at | after s | time ratio |", "|---|---|---|---|---|---|"]
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
    lines = ["| run | " + " | ".join(names) + " | vs uniform |", "|" + "---|" * (len(names) + 2)]
    real = real_histogram(names)
    lines.append("| real test images | " + " | ".join(f"{real[n]:.3f}" for n in names)
                 + f" | {uniformity(real, names):.2f}x |")
    for label in labels:
        rs = [r for r in runs if r.label == label]
        cells = [f"{statistics.fmean(r.final['class_histogram'].get(n, 0.0) for r in rs):.3f}" for n in names]
        worst = max(uniformity(r.final["class_histogram"], names) for r in rs)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {worst:.2f}x (worst seed) |")
    return "\n".join(lines)


@functools.cache
def real_predictions() -> tuple[np.ndarray, np.ndarray]:
    """(labels, the classifier's predictions) of the real test split: what generated images'
    figures are read against (the classifier confuses real shirts, coats and pullovers too)."""
    from ganctl.jobs import data
    from ganctl.jobs.quality.classifier import get_classifier

    images, labels = data.load_split("test")
    return labels, np.asarray(get_classifier().predict_classes(images[..., None])).ravel()


def real_accuracy(names: list[str]) -> dict[str, float]:
    from ganctl.jobs.labels import CLASS_NAMES

    labels, pred = real_predictions()
    return {n: float(np.mean(pred[labels == CLASS_NAMES.index(n)] == CLASS_NAMES.index(n))) for n in names}


def real_histogram(names: list[str]) -> dict[str, float]:
    """The classifier's class shares of the real test images of `names` (uniform by construction:
    what is left is the classifier's own confusion)."""
    from ganctl.jobs.labels import CLASS_NAMES

    labels, pred = real_predictions()
    wanted = np.isin(labels, [CLASS_NAMES.index(n) for n in names])
    return {n: float(np.mean(pred[wanted] == CLASS_NAMES.index(n))) for n in names}


def class_accuracy_table(runs: list[Run], names: list[str]) -> str:
    """A conditional job's per-class accuracy at the final epoch (does "trouser" give trousers?),
    under the classifier's accuracy on real test images of each class."""
    labels = list(dict.fromkeys(r.label for r in runs))
    lines = ["| run | mean | worst | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 3)]
    real = real_accuracy(names)
    lines.append(f"| real test images | {statistics.fmean(real.values()):.2f} | {min(real.values()):.2f} | "
                 + " | ".join(f"{a:.2f}" for a in real.values()) + " |")
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
    """The fixed-noise grids of the first seed that has any, one row per run, one column per chosen epoch."""
    import io

    from PIL import Image, ImageDraw

    from ganctl.jobs import pictures

    with_grids = [r for r in runs if r.grids]  # runs loaded from quality.json may have none
    if not with_grids:
        return
    seed = min(r.seed for r in with_grids)
    chosen = [r for label in labels for r in with_grids if r.label == label and r.seed == seed]
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
    parser.add_argument("--probe-every", type=int, default=0, metavar="STEPS",
                        help="time to quality finer than an epoch: the --default run's FD every STEPS "
                             "steps until it reaches the `seed` recipe's final FD (`seed` must run first)")
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
    if args.probe_every < 0 or args.probe_every and (
            SEED_RECIPE not in labels or labels.index(SEED_RECIPE) > labels.index(default)):
        parser.error(f"--probe-every needs a STEPS > 0 and the `{SEED_RECIPE}` run listed before "
                     f"--default (its final FD is what the probes look for)")
    classes = tuple(data.parse_classes([c for c in args.classes.split(",") if c.strip()]))
    seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    wanted = [CLASS_NAMES[c] for c in (classes or range(len(CLASS_NAMES)))]
    started, load = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.getloadavg()[0]
    config = {"epochs": args.epochs, "n": args.n, "limit": args.limit, "classes": list(classes),
              "precision": args.precision} | ({"conditional": True} if args.conditional else {}) \
        | ({"probe_every": args.probe_every} if args.probe_every else {})
    runs = load_runs(args.out, config) if args.out else []
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        for seed in seeds:  # seed-major: a stopped benchmark has every recipe for the seeds it did
            for label in labels:
                if any((r.arch, r.label, r.seed) == (arch, label, seed) for r in runs):
                    print(f"  {arch} {label!r} seed {seed}: in {args.out / 'quality.json'} already")
                    continue
                base = next((r for r in runs if (r.arch, r.label, r.seed) == (arch, SEED_RECIPE, seed)), None)
                target = base.final["fd"] if base is not None and label == default else None
                with tempfile.TemporaryDirectory(prefix=f"ganctl-quality-{arch}-") as tmp:
                    keep = seed == seeds[0]  # the grids picture's runs
                    runs.append(train_run(arch, label, seed, args, classes, Path(tmp), keep, target))
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
    # a relabelled run's pictures are written under its new name: drop what no run names any more
    kept = {name for row in rows for name in row["grids"].values()}
    for png in (out / "grids").glob("*.png"):
        if f"grids/{png.name}" not in kept:
            png.unlink()


def write(args, runs: list[Run], default: str, wanted: list[str], started: str, load: float) -> str:
    names = ", ".join(wanted) if args.classes else "all classes"
    out = [f"Machine: {cpu_name()}; started {started}, load average {load:.1f} at the start, "
           f"{os.getloadavg()[0]:.1f} at the end.",
           f"Training: {args.limit or 'all'} training images ({names}), {args.epochs} epochs, "
           f"precision {runs[0].precision if runs else args.precision}; FD etc. on {args.n} samples "
           f"after every epoch against the real test split."]
    for arch in dict.fromkeys(r.arch for r in runs):
        rs = [r for r in runs if r.arch == arch]
        budget, equal = equal_seconds_table(rs)
        out += [f"\n### {arch}\n", "Final epoch, mean ± sd over seeds:\n", summary_table(rs, wanted),
                "\nFD after each epoch (mean over seeds):\n", curve_table(rs),
                "\nClasses vs uniform after each epoch (worst seed; the histogram moves from epoch to "
                "epoch):\n", curve_table(rs, lambda q: uniformity(q["class_histogram"], wanted), max, "{:.2f}x"),
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
            # `seed` first, the default last, the others between, as listed
            listed = dict.fromkeys(r.label for r in rs)
            order = [SEED_RECIPE, *(x for x in listed if x not in (SEED_RECIPE, default)), default]
            grids_picture(rs, order, args.out / f"quality-{arch}-grids.png")
    text = "\n".join(out)
    if args.out:
        from ganctl.jobs.layout import write_atomic

        write_atomic(args.out / "quality.md", (text + "\n").encode())
    return text


if __name__ == "__main__":
    main()
