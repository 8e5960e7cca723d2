"""Control for upsample's `--clusters 20` (docs/BENCHMARKS.md): the same job, the same added
parameters, but each image's "cluster" drawn at random (balanced: 250 images each). If it trains as
well, the gain came from the larger discriminator and its class head, not from the clusters.

    python docs/quality-upsample5/clusters-random/experiment.py --archs upsample --seeds 1 --epochs 5 \
        --limit 5000 --n 2000 --recipes "ema-augment-batch32 clusters=20 cluster_layers=true" \
        --out docs/quality-upsample5/clusters-random
"""
import sys

import numpy as np

from ganctl.jobs import conditional

_clusters = conditional.labels_for


def random_clusters(spec, subset):
    if conditional.is_conditional(spec):
        return _clusters(spec, subset)
    n, k = len(subset.images), conditional.count(spec)
    return np.random.default_rng([spec.seed, 0xAA]).permutation(np.arange(n) % k).astype(np.int32)


conditional.labels_for = random_clusters
from bench import quality  # noqa: E402

quality.main(sys.argv[1:])
