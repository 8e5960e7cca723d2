"""Prototype: an unconditional job trained as a conditional one on k-means clusters of its own
pixels (balanced: equal-size clusters, so the uniform class draw matches the data)."""
import sys, time
import numpy as np
from ganctl.jobs import conditional

def balanced_kmeans(x, k, seed, iters=15):
    rng = np.random.default_rng(seed)
    n = len(x)
    # k-means++ init
    c = [x[rng.integers(n)]]
    d2 = ((x - c[0]) ** 2).sum(1)
    for _ in range(1, k):
        c.append(x[rng.choice(n, p=d2 / d2.sum())])
        d2 = np.minimum(d2, ((x - c[-1]) ** 2).sum(1))
    c = np.stack(c)
    xn = (x ** 2).sum(1)[:, None]
    for it in range(iters):
        d = xn - 2 * x @ c.T + (c ** 2).sum(1)[None]
        # balanced assignment: greedy over (point, cluster) pairs by distance, capacity ceil(n/k)
        cap = -(-n // k)
        order = np.argsort(d, axis=None, kind="stable")
        lab = np.full(n, -1); fill = np.zeros(k, int); left = n
        for flat in order:
            i, j = divmod(int(flat), k)
            if lab[i] < 0 and fill[j] < cap:
                lab[i] = j; fill[j] += 1; left -= 1
                if not left: break
        c = np.stack([x[lab == j].mean(0) for j in range(k)])
    return lab.astype(np.int32)

CACHE = {}
def labels_for(spec, subset):
    key = (len(subset.images), spec.seed)
    if key not in CACHE:
        t = time.time()
        x = subset.images.reshape(len(subset.images), -1).astype(np.float32) / 255.0
        lab = balanced_kmeans(x, conditional.count(spec), spec.seed)
        true = np.asarray(subset.labels)
        purity = sum(np.bincount(true[lab == j]).max() for j in range(lab.max() + 1)) / len(lab)
        print(f"[selfcond] clusters of {len(lab)} images in {time.time()-t:.1f}s, sizes {np.bincount(lab).tolist()}, purity {purity:.3f}", flush=True)
        CACHE[key] = lab
    return CACHE[key]

conditional.labels_for = labels_for
from bench import quality
quality.main(sys.argv[1:])
