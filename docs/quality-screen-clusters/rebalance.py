"""Does matching the fakes' pixel-cluster histogram to the real images' (a rejection step at sampling
time, no labels) bring the quality classifier's class histogram nearer uniform? (docs/BENCHMARKS.md;
its output: rebalance.txt.) Trains the default (or reuses the training in /tmp/q/), draws 40,000
samples, then keeps 2,000 whose nearest k-means centre (K of the training images' balanced pixel
clusters) follows the real images' shares, and scores them.

    PYTHONPATH=. python docs/quality-screen-clusters/rebalance.py dcgan 5 10000 0
"""
import sys, json, time
from pathlib import Path
import numpy as np
from ganctl.jobs import train, sample, data, clusters
from ganctl.jobs.spec import TrainSpec
from ganctl.jobs.quality import classifier, metrics, scoring
from bench.quality import uniformity

arch, epochs, limit, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
extra = dict(kv.split("=") for kv in sys.argv[5:])
work = Path(f"/tmp/q/rebal-{arch}-{epochs}-{limit}-{seed}")
spec = TrainSpec.submitted(arch=arch, epochs=epochs, limit=limit or None, classes=(), seed=seed, recipe="ema-augment-batch32",
                           precision="auto", eval_every=epochs, eval_n=2000, checkpoint_every=10_000, grid_every=epochs, **extra)
if not list(work.rglob("generator.h5")):
    t = time.time()
    train.run(spec, work, train.Hooks(on_epoch=lambda r: print("epoch", r.epoch, round(r.seconds), r.quality and r.quality["fd"], flush=True)))
    print("trained", time.time() - t)
exp = next(work.rglob("generator.h5")).parent
gen = sample.load_generator(spec, exp, "h5")
clf = classifier.get_classifier()
real = scoring.real_reference((), 4000, seed=0)
train_imgs = data.select("train", ()).images[: limit or None]
names = list(metrics.CLASS_NAMES)
pool = sample.generate(spec, gen, 40000, 123)
def report(tag, fake):
    q = metrics.evaluate(fake, real, clf, classes=()).to_dict()
    print(f"{tag}: FD {q['fd']:.1f} KID {q['kid']:.2f} rec {q['recall']:.2f} cov {q['coverage']:.2f} div {q['diversity']:.2f} "
          f"uni {uniformity(q['class_histogram'], names):.2f}x", {k: round(v*100, 1) for k, v in q['class_histogram'].items()}, flush=True)
report("raw first 2000", pool[:2000])
report("raw next 2000", pool[2000:4000])
for k in (10, 20, 50, 100):
    lab = clusters.balanced_kmeans(train_imgs, k, 0)
    x = clusters._pixels(train_imgs)
    cent = np.stack([x[lab == j].mean(0) for j in range(k)])
    def nearest(imgs):
        f = clusters._pixels(imgs)
        d = (f**2).sum(1)[:, None] - 2 * f @ cent.T + (cent**2).sum(1)[None]
        return d.argmin(1)
    target = np.bincount(nearest(train_imgs), minlength=k) / len(train_imgs)
    fk = nearest(pool)
    have = np.bincount(fk, minlength=k)
    print(f"K={k}: fake cluster share / real share min {np.min(have/len(pool)/target):.2f} max {np.max(have/len(pool)/target):.2f}")
    n = 2000
    quota = np.round(target * n).astype(int)
    pick = np.concatenate([np.flatnonzero(fk == j)[:quota[j]] for j in range(k)])
    short = (quota - np.minimum(quota, have)).sum()
    report(f"K={k} matched (short {short})", pool[np.sort(pick)])
