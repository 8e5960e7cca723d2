"""Discriminator rejection sampling (Azadi et al. 2019, "DRS") at sampling time: does keeping the
samples the trained discriminator finds most data-like bring the quality classifier's class
histogram nearer uniform (issue 12's 1.3x target), and at what FD? (docs/BENCHMARKS.md; output:
drs.txt.) Trains the default on the class-balance screen's budget, draws 40,000 samples from the
EMA generator (what `ganctl sample` draws) and from the raw one (what D was trained against),
scores them with D (no augmentation, dropout off), and keeps 2,000 by DRS's acceptance
probability sigmoid(F), F = d - d_max - log(1 - exp(d - d_max - eps)) - gamma, gamma a percentile
of F (a higher percentile rejects more); as controls, the 2,000 D likes best and least.

    PYTHONPATH=. python docs/quality-screen-drs/drs.py dcgan 5 10000 0
"""
import sys
import tempfile
import time

import numpy as np

from bench.common import cpu_name
from bench.quality import uniformity
from ganctl.jobs import data, train
from ganctl.jobs.noise import latent
from ganctl.jobs.quality import classifier, metrics, scoring
from ganctl.jobs.spec import TrainSpec

arch, epochs, limit, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
POOL, KEEP = 40_000, 2_000
print(f"Machine: {cpu_name()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
spec = TrainSpec.submitted(arch=arch, epochs=epochs, limit=limit or None, classes=(), seed=seed,
                           precision="auto", eval_every=epochs, eval_n=KEEP, checkpoint_every=10_000,
                           grid_every=epochs)
built = []
t = time.time()
with tempfile.TemporaryDirectory(prefix="ganctl-drs-") as work:
    train.run(spec, work, train.Hooks(
        on_built=built.append,
        on_epoch=lambda r: print("epoch", r.epoch, round(r.seconds), r.quality and round(r.quality["fd"], 1), flush=True)))
print(f"trained in {time.time() - t:.0f} s ({spec.recipe}, batch {spec.effective_batch_size})", flush=True)
gan = built[0]
clf = classifier.get_classifier()
real = scoring.real_reference((), 4000, seed=0)
names = list(metrics.CLASS_NAMES)


def score(generator, z):
    """Images in the data's scale and D's logit of each (D as trained, unaugmented, training=False)."""
    imgs, logits = [], []
    for i in range(0, len(z), 1000):
        x = generator(gan._g_inputs(z[i:i + 1000], None), training=False)
        logits.append(np.asarray(gan.discriminator(x, training=False), np.float64).reshape(-1))
        imgs.append(np.asarray(x, np.float32))
    return data.unscale(np.concatenate(imgs), spec.info.output), np.concatenate(logits)


def report(tag, fake):
    q = metrics.evaluate(fake, real, clf, classes=()).to_dict()
    h = q["class_histogram"]
    print(f"{tag}: n {len(fake)} FD {q['fd']:.1f} KID {q['kid']:.2f} prec {q['precision']:.2f} rec {q['recall']:.2f} "
          f"cov {q['coverage']:.2f} div {q['diversity']:.2f} classes {uniformity(h, names):.2f}x "
          + " ".join(f"{k} {v * 100:.1f}" for k, v in h.items()), flush=True)
    return q


def drs(logits, percentile, rng):
    eps = 1e-6
    d = logits - logits.max()
    f = d - np.log1p(-np.exp(d - eps))
    f = f - np.percentile(f, percentile)
    accept = rng.random(len(f)) < 1.0 / (1.0 + np.exp(-f))
    return np.flatnonzero(accept)


z = latent(spec, POOL, 123)
for name, generator in (("EMA", gan.sampler), ("raw", gan.generator)):
    pool, logits = score(generator, z)
    print(f"\n{name} generator: D logit mean {logits.mean():.2f} sd {logits.std():.2f}; by class read:", flush=True)
    read = clf.predict_classes(pool)
    print("  " + " ".join(f"{names[c]} {logits[read == c].mean():+.2f} ({(read == c).mean() * 100:.1f}%)"
                          for c in range(10)), flush=True)
    report(f"{name} plain 1-{KEEP}", pool[:KEEP])
    report(f"{name} plain {KEEP + 1}-{2 * KEEP}", pool[KEEP:2 * KEEP])
    order = np.argsort(-logits)
    report(f"{name} D's best {KEEP}", pool[order[:KEEP]])
    report(f"{name} D's worst {KEEP}", pool[order[-KEEP:]])
    for pct in (50, 80, 95):
        kept = drs(logits, pct, np.random.default_rng(7))
        report(f"{name} DRS gamma p{pct} (accepted {len(kept) / POOL * 100:.0f}%)", pool[kept[:KEEP]])
