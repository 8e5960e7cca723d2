"""Class-conditional generation (`ganctl submit --conditional`): THE one place the class enters.

The seed networks' layers stay exactly as they are; the class comes in through added embedding
layers only (jobs/gan.py calls `generator` and `discriminator` here):

- generator: a learned Embedding(K, CLASS_DIMS) of the class, initialised N(0, CLASS_SCALE^2), in
  place of the noise's last CLASS_DIMS entries (z[:noise_dim - CLASS_DIMS] ++ e_y): the seed's
  first Dense keeps its (noise_dim, ...) kernel and the class has entries of its own, so the rest
  of the noise is free to vary the image. Measured (bench.quality --conditional, dcgan, default
  recipe, ten classes, 10,000 images, 5 epochs, one seed; docs/BENCHMARKS.md), FD / mean class
  accuracy / worst class / diversity: init std 3 (chosen: every class >= 0.90) 38.2 / 0.97 / 0.94 /
  0.39; std 2 36.8 / 0.92 / 0.58 / 0.42; std 1 34.7 / 0.90 / 0.44 / 0.52. Adding an
  Embedding(K, noise_dim) to the whole noise (z + e_y; conditional jobs submitted before
  2026-12-03, spec.class_dims 0, still built so) gave 49.2 / 0.88 / 0.45 / 0.35, and there the
  class and the noise traded off: init std 3 made identical columns, 0.3 accuracy 0.70.
  Multiplying (z * e_y) made bags of every class. Adds K * CLASS_DIMS parameters (K * noise_dim
  for class_dims 0).
- discriminator: a projection discriminator (Miyato & Koyama 2018): D(x, y) = last_dense(h) +
  <embed_D(y), h>, h the features feeding the seed D's last Dense(1). For a sigmoid-ending D the
  projection is added to the pre-sigmoid logit and the sigmoid applied after, so the seed's BCE
  path keeps working; hinge / wgan-gp already score the logit (gan.linear_output). Spectral norm
  (applied before this wrapping) covers D's Conv/Dense layers, not the embedding. Adds K * dim(h).
- class loss (AC-GAN, Odena et al. 2017, as StudioGAN's ACGAN; spec.class_loss, the weight): an
  added Dense(K) head on the same h predicts the class; D also minimises its cross-entropy on real
  images, G its cross-entropy on the fakes' requested classes. The projection alone let classes the
  classifier itself confuses (coat, shirt, pullover, t-shirt) swap from epoch to epoch and seed to
  seed (per-class accuracy 0.48-1.00 at epoch 5, docs/BENCHMARKS.md). Adds dim(h) * K + K; the
  exported discriminator then has two outputs (score, class logits).
- mode seeking (jobs/gan.py, a recipe switch): with the class loss alone the images of a class
  came out alike; new conditional jobs get both (CLASS_LOSS, MODE_SEEKING below), and a
  mode-seeking pair shares its class.

A self-conditioned unconditional job (`--clusters K`, jobs/clusters.py) takes this same path with
its images' K pixel clusters as the classes: `count`, `has_codes` and `labels_for` say which.
`--no-cluster-layers` (`by_centres`) adds no trained layer instead: its code is a constant (the
same std-3 draw, not trained), D stays the seed's and unconditional, and G's class loss is a
nearest-centre softmax over its images' pixels, the centres being the clusters' mean images
(jobs/clusters.pixel_centres): the seed's networks keep their trainable parameter counts. At K = 20
it measured level with the layers on dcgan and upsample and worse on dcgan64 (docs/BENCHMARKS.md),
so the layers stay what --clusters gets.

Classes are the job's classes remapped to 0..K-1 in sorted order (Fashion-MNIST indices, or a
folder's sub-folder names). Keras, TensorFlow and numpy are imported inside the functions: the
CLI uses the spec-side helpers (names, `pick`) and must not pay for them.
"""
from __future__ import annotations

from ganctl.jobs.labels import CLASS_NAMES, fashion_index

ALL = "all"          # `ganctl sample --class all`: one grid row per class
CLASS_DIMS = 10      # new conditional jobs: the noise entries the class code replaces (spec.class_dims)
CLASS_SCALE = 3.0    # their code's init std (the noise's is 1): see the measurements above
# New conditional jobs' training, unless --recipe seed (spec.class_loss, spec.mode_seeking; the
# job's options override them). The class loss alone made every class right on three seeds but cost
# 1.15x the FD and diversity alarms; with mode seeking at 0.1 beside it the FD fell to 0.63-0.74x
# the projection alone's at 5 epochs (0.44x on the full split), with more diversity and no alarm
# (docs/BENCHMARKS.md).
CLASS_LOSS = 1.0
MODE_SEEKING = 0.1
# New --clusters submissions without --cluster-layers/--no-cluster-layers (spec.cluster_layers).
CLUSTER_LAYERS = True
GRID_MIN_COLS = 4    # epoch grids: grid_size // K columns, at least this many


# ----------------------------------------------------------------------------- the spec side

def _get(spec, key, default=None):
    return spec.get(key, default) if isinstance(spec, dict) else getattr(spec, key, default)


def is_conditional(spec) -> bool:
    return bool(_get(spec, "conditional", False))


def _is_folder(spec) -> bool:
    return str(_get(spec, "dataset", "") or "").startswith("folder:")


def classes_of(spec) -> tuple:
    """The job's classes in label order 0..K-1: Fashion-MNIST indices (all ten when none were
    chosen) or a folder's sub-folder names (filled in at submit time, see TrainSpec.submitted)."""
    chosen = tuple(_get(spec, "classes", ()) or ())
    if _is_folder(spec):
        return tuple(sorted(str(c) for c in chosen))
    return tuple(sorted(int(c) for c in chosen)) or tuple(range(len(CLASS_NAMES)))


def names_of(spec) -> tuple[str, ...]:
    return tuple(c if isinstance(c, str) else CLASS_NAMES[c] for c in classes_of(spec))


def clusters_of(spec) -> int:
    """K of a self-conditioned unconditional job (`--clusters K`, jobs/clusters.py); 0: none."""
    return int(_get(spec, "clusters", 0) or 0)


def count(spec) -> int:
    """K, the number of codes the networks condition on: a conditional job's classes, a
    self-conditioned job's clusters, 0 for a plain unconditional job."""
    return len(classes_of(spec)) if is_conditional(spec) else clusters_of(spec)


def by_centres(spec) -> bool:
    """Whether a self-conditioned job keeps the seed's networks: a fixed code per cluster, and the
    clusters' pixel centres, not a layer of D, judge the fakes' clusters (`--no-cluster-layers`)."""
    return not is_conditional(spec) and clusters_of(spec) > 0 and not _get(spec, "cluster_layers", True)


def has_codes(spec) -> bool:
    """Whether the networks take a code beside the noise (a class or a cluster): G is then called
    as (noise, labels), and a sample without --class draws the codes uniformly."""
    return count(spec) > 0


def describe(spec) -> str:
    """`ganctl status`'s line: '3 classes: 0 trouser, 1 bag, 2 sneaker' (+ '  class loss 1'), or
    a self-conditioned job's "20 clusters of its training images' pixels, drawn uniformly"."""
    weight = float(_get(spec, "class_loss", 0.0) or 0.0)
    loss = f"  class loss {weight:g}" if weight else ""
    if not is_conditional(spec):
        design = ("the seed's networks (fixed codes, pixel-centre class loss)" if by_centres(spec)
                  else "added layers (learned codes, projection, class head)")
        return f"{clusters_of(spec)} clusters of its training images' pixels, drawn uniformly; {design}{loss}"
    names = names_of(spec)
    return f"{len(names)} classes: " + ", ".join(f"{i} {n}" for i, n in enumerate(names)) + loss


def refusal(spec) -> str | None:
    """Why a conditional or self-conditioned spec cannot train (one line), or None."""
    why = (_classes_refusal if is_conditional(spec) else _clusters_refusal)(spec)
    if why is None and has_codes(spec) and spec.class_dims >= spec.info.noise_dim:
        why = (f"class_dims {spec.class_dims} leaves no noise: {spec.arch}'s noise has "
               f"{spec.info.noise_dim} entries")
    return why


def _classes_refusal(spec) -> str | None:
    if spec.clusters:
        return ("--clusters is for unconditional jobs: a --conditional job already conditions on "
                "its classes; drop one of the two")
    names = names_of(spec)
    if _is_folder(spec) and not names:
        return "--conditional: the folder has no class sub-folders to condition on"
    if len(names) < 2:
        return (f"--conditional needs at least two classes to condition on; this job has one "
                f"({', '.join(names)}): list more with --classes, or drop --conditional")
    return None


def _clusters_refusal(spec) -> str | None:
    k = spec.clusters
    if not k:
        if spec.class_loss:
            return ("--class-loss needs --conditional or --clusters: an unconditional job has no "
                    "classes to predict")
        return None
    if k < 2:
        return f"--clusters needs at least 2 clusters, not {k} (0: off)"
    if spec.limit is not None and k > spec.limit:
        return f"--clusters {k} is more than the {spec.limit} training images (--limit)"
    return None


def submission_refusal(spec, given: set[str]) -> str | None:
    """Why a new submission cannot train (one line), or None, by the rules that jobs stored before
    them predate (those must still read back, train and sample); `given`: the fields it set."""
    if "cluster_layers" in given and not spec.clusters:
        return ("--cluster-layers/--no-cluster-layers says how --clusters K enters the networks: "
                "add --clusters K, or drop it")
    if spec.clusters and not spec.cluster_layers and not spec.class_loss:
        return ("--no-cluster-layers needs a class loss (--class-loss > 0; --recipe seed has none): "
                "without it nothing ties a fixed code to its cluster")
    return None


def pick(spec, text: str, job: str = "this job") -> int | str:
    """`--class TEXT` of a sample: the class's label (0..K-1, by name or by that index) or ALL.
    ValueError in one line: an unconditional job, or a class the job does not have."""
    if not is_conditional(spec):
        raise ValueError(f"--class: job {job} is not class-conditional (submitted without --conditional); "
                         f"sample it without --class")
    key = str(text).strip().lower().replace("_", "-")
    if key == ALL:
        return ALL
    names = names_of(spec)
    if key.isdigit() and int(key) < len(names):
        return int(key)
    lowered = [n.lower() for n in names]
    if not _is_folder(spec) and (index := fashion_index(key)) is not None:
        key = CLASS_NAMES[index]  # an alias (`boot`) of one of the job's classes
    if key in lowered:
        return lowered.index(key)
    if str(text).strip() in names:  # a folder name whose case matters
        return names.index(str(text).strip())
    listed = ", ".join(f"{i} {n}" for i, n in enumerate(names))
    raise ValueError(f"--class: unknown class {text!r} for job {job}; its classes: {listed} (or all)")


# ----------------------------------------------------------------------------- labels and grids

def labels_for(spec, subset):
    """The training images' labels remapped to 0..K-1 (int32), from a Fashion-MNIST or folder Subset;
    a self-conditioned job's: the images' balanced pixel clusters (jobs/clusters.py)."""
    import numpy as np

    if not is_conditional(spec):
        from ganctl.jobs.clusters import balanced_kmeans

        return balanced_kmeans(subset.images, count(spec), spec.seed)
    classes = classes_of(spec)
    if _is_folder(spec):  # folder labels index subset.class_names (the sub-folders that had images)
        index = {name: i for i, name in enumerate(classes)}
        names = subset.class_names
        return np.array([index[names[int(lbl)]] for lbl in subset.labels], dtype=np.int32)
    return np.searchsorted(np.array(classes), np.asarray(subset.labels)).astype(np.int32)


def uniform_labels(spec, n: int, seed: int | None):
    """n labels drawn uniformly from 0..K-1 (numpy, from `seed`; None: fresh entropy)."""
    import numpy as np

    return np.random.default_rng(None if seed is None else [seed, 0xC1A55]).integers(
        0, count(spec), n).astype(np.int32)


def rows(z, k: int):
    """(noise, labels) of a grid with one row per class: the same noise in each column of every row."""
    import numpy as np

    return np.tile(z, (k, 1)), np.repeat(np.arange(k, dtype=np.int32), len(z))


def grid_inputs(spec, plain_noise):
    """The epoch grid of a conditional job: K rows (one per class) of cols = max(grid_size // K,
    GRID_MIN_COLS) fixed noise vectors; returns (noise, labels, cols). A self-conditioned job's is
    an unconditional job's grid (`plain_noise`, cols None: the usual layout) with the clusters
    taken in turn."""
    import numpy as np

    k = count(spec)
    if not is_conditional(spec):
        return plain_noise, (np.arange(len(plain_noise)) % k).astype(np.int32), None
    cols = max(spec.grid_size // k, GRID_MIN_COLS)
    z = np.random.default_rng([spec.seed, 0x6A1D]).standard_normal((cols, spec.info.noise_dim)).astype(np.float32)
    return (*rows(z, k), cols)


# ----------------------------------------------------------------------------- the networks

def build_generator(spec):
    """The job's generator as ganctl trains and samples it: the seed's network, upsample's
    (UpSampling2D, Conv2D) pairs run on the small image (jobs/subpixel.py: the same function),
    wrapped to take a code beside the noise where the job has one. (Not in archs: bench's
    references build the seed's networks there, unfused.)"""
    from ganctl.jobs.subpixel import fuse_upsampling

    g = spec.info.build_generator(spec.info.noise_dim)
    fuse_upsampling(g)
    if not has_codes(spec):
        return g
    return generator(g, count(spec), spec.info.noise_dim, spec.class_dims, learned=not by_centres(spec))


def generator(seed_generator, k: int, noise_dim: int, class_dims: int, learned: bool = True):
    """The seed generator behind a class code: inputs [noise (noise_dim,), class ()]. class_dims > 0:
    the code replaces the noise's last class_dims entries; 0: it is added to the whole noise (the
    first conditional jobs' design, kept so that they extend, fork and sample as they trained).
    learned False: the codes keep their seeded draw (saved with the weights, never trained)."""
    import keras

    z = keras.Input((noise_dim,), name="noise")
    y = keras.Input((), dtype="int32", name="label")
    # Old design: N(0, 1) like the noise it is added to (std 3 there drowned the noise).
    std = CLASS_SCALE if class_dims else 1.0
    embedding = keras.layers.Embedding(k, class_dims or noise_dim, name="class_embedding",
                                       embeddings_initializer=keras.initializers.RandomNormal(0.0, std))
    embedding.trainable = learned
    e = embedding(y)
    if class_dims:
        h = keras.layers.Concatenate(name="noise_and_class")([z[:, : noise_dim - class_dims], e])
    else:
        h = keras.layers.Add(name="noise_plus_class")([z, e])
    return keras.Model([z, y], seed_generator(h), name="conditional_generator")


def discriminator(seed_discriminator, k: int, class_head: bool = False):
    """The seed discriminator's layers (shared, not copied) with a class projection added to the
    logit: inputs [images, class ()]; with class_head, outputs [score, class logits (K,)]."""
    import keras

    x = keras.Input(seed_discriminator.input_shape[1:], name="images")
    y = keras.Input((), dtype="int32", name="label")
    *body, last = seed_discriminator.layers
    h = x
    for layer in body:
        h = layer(h)
    dense = getattr(last, "layer", last)  # SpectralNormalization wraps the Dense
    assert isinstance(dense, keras.layers.Dense) and dense.units == 1, last
    sigmoid = getattr(dense.activation, "__name__", "") == "sigmoid"
    if sigmoid:
        dense.activation = keras.activations.linear  # the sigmoid comes after the projection
    e = keras.layers.Embedding(k, int(h.shape[-1]), dtype="float32", name="class_projection")(y)
    proj = keras.layers.Dot(axes=1, dtype="float32", name="projection")([h, e])
    score = keras.layers.Add(dtype="float32", name="logit_plus_projection")([last(h), proj])
    if sigmoid:
        score = keras.layers.Activation("sigmoid", dtype="float32", name="sigmoid")(score)
    if class_head:
        logits = keras.layers.Dense(k, dtype="float32", name="class_head")(h)
        return keras.Model([x, y], [score, logits], name=seed_discriminator.name)
    return keras.Model([x, y], score, name=seed_discriminator.name)


def centre_logits(images, centres, temperature):
    """A nearest-centre classifier's logits: -||x - c_j||^2 / temperature over the images' pixels
    (float32), for `by_centres` jobs' class loss."""
    import tensorflow as tf

    x = tf.reshape(tf.cast(images, tf.float32), [tf.shape(images)[0], -1])
    sq = (tf.reduce_sum(x * x, 1, keepdims=True) - 2.0 * tf.matmul(x, centres, transpose_b=True)
          + tf.reduce_sum(centres * centres, 1)[None])
    return -sq / temperature


def class_loss(logits, labels):
    """The AC-GAN term: mean cross-entropy of the class head's logits against `labels`."""
    import tensorflow as tf

    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, tf.cast(logits, tf.float32)))


def draw(batch, k: int, seed):
    """The fake images' classes inside the train step: uniform on 0..K-1, stateless from `seed`."""
    import tensorflow as tf

    return tf.random.stateless_uniform([batch], seed, 0, k, dtype=tf.int32)


def caller(model, conditional: bool):
    """model as a callable: (noise) -> images, or (noise, labels) -> images for a conditional one."""
    if conditional:
        return lambda z, y: model([z, y], training=False)
    return lambda z: model(z, training=False)
