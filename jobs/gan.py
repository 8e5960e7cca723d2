"""The two networks, their optimizers and one compiled joint train step (both losses from one
generator pass), in the spirit of keras-io's dcgan_overriding_train_step.

The step is assembled from (networks, recipe): the recipe (jobs/recipes.py, `spec.training`) picks
the loss, spectral norm on D, DiffAugment before D, an R1 penalty and an EMA of the generator's
weights, all inside the one compiled step. The `seed` recipe runs exactly the seed's BCE step.
A conditional job (spec.conditional), or a self-conditioned one (spec.clusters: its images' pixel
clusters as the classes), wraps both networks in jobs/conditional.py's class embeddings; its step
takes (images, labels) and draws the fakes' classes uniformly; the unconditional step is the same
code path as before. A self-conditioned job without cluster layers (conditional.by_centres) wraps G
in a fixed code only, keeps D the seed's, and scores G's clusters by the pixel centres.
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs import conditional, recipes
from ganctl.jobs.spec import TrainSpec

STANDING_PASSES, STANDING_BATCH = 16, 256  # EMA BatchNorm statistics: 4,096 noise draws
# The EMA's warm-up ramp, decay = min(ema, (1 + t) / (EMA_WARMUP + t)): an average over about the
# last t / (EMA_WARMUP - 1) steps until the recipe's decay takes over.
EMA_WARMUP = 10.0


def _paired(values):
    """The batch's second half repeats its first half (an odd batch keeps its last entry): mode
    seeking's pairs (i, i + batch // 2) then share those entries (a conditional job's classes)."""
    half = tf.shape(values)[0] // 2
    return tf.concat([values[:half], values[:half], values[2 * half:]], 0)


def _mode_seeking(fake, noise):
    """MSGAN's term (Mao et al. 2019), to be minimised by G: 1 / (mean |G(z1) - G(z2)| / mean |z1 - z2|)
    over the pairs (i, i + batch // 2). Sums over counts of at least 1, so that a batch of one (no
    pair) adds 0, not NaN."""
    half = tf.shape(fake)[0] // 2

    def mean_gap(x):
        gap = tf.abs(tf.cast(x[:half], tf.float32) - tf.cast(x[half:2 * half], tf.float32))
        return tf.reduce_sum(gap) / tf.cast(tf.maximum(tf.size(gap), 1), tf.float32)

    ratio = tf.math.divide_no_nan(mean_gap(fake), mean_gap(noise))
    return tf.cast(half > 0, tf.float32) / (ratio + 1e-5)


def _toward_half(label: float, amount):
    """Move a 0/1 label towards 0.5 by `amount`: label smoothing and label noise both do this."""
    return label + (0.5 - label) * 2.0 * amount


def linear_output(discriminator):
    """THE one place a loss that needs a linear score adapts the seed discriminators: their last
    Dense(1, sigmoid) computes its pre-sigmoid logit instead. Same layers, same parameters; the
    exported discriminator then outputs logits."""
    last = discriminator.layers[-1]
    assert isinstance(last, keras.layers.Dense) and last.units == 1, last
    last.activation = keras.activations.linear
    return discriminator


def spectral_norm(discriminator):
    """The same built layers, each Conv2D/Dense wrapped in keras.layers.SpectralNormalization.
    Trainable kernels are unchanged; each wrapper adds one non-trainable vector u (1, filters or
    units): the power iteration's estimate of the kernel's top singular vector, checkpointed."""
    wrapped = [keras.layers.SpectralNormalization(layer)
               if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) else layer
               for layer in discriminator.layers]
    return keras.Sequential([keras.layers.Input(discriminator.input_shape[1:]), *wrapped],
                            name=discriminator.name)


def _all_layers(model) -> list:
    """Every layer inside model, nested models' included: a conditional generator holds the seed
    generator (and its BatchNorms) as one nested layer."""
    out = []
    for layer in model.layers:
        out += [layer, *(_all_layers(layer) if hasattr(layer, "layers") else [])]
    return out


def exact_dropout(model) -> None:
    """Mixed precision: each Dropout layer of `model` draws 16 integer bits per decision instead of
    Keras' uniform in the layer's dtype. A bfloat16 uniform has 7 bits, so Keras' rate 0.4 drops
    40.6% while scaling by 1/0.6 (kept activations 1% low on average), and that draw is much of
    upsample's discriminator time (docs/BENCHMARKS.md). Here the rate holds to 1/65536. Only the
    training call changes: the saved layers are Keras' Dropout. float32 keeps Keras' draw (the
    seed recipe's pinned losses)."""
    import types

    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.Dropout) and layer.noise_shape is None:
            layer.call = types.MethodType(_dropout_16bit, layer)


def _dropout_16bit(layer, inputs, training=False):
    if not training or layer.rate == 0:
        return inputs
    n = tf.size(inputs)  # two 16-bit decisions from each 32-bit draw
    bits = tf.random.stateless_uniform([(n + 1) // 2], layer.seed_generator.next(), minval=None, maxval=None,
                                       dtype=tf.uint32)
    halves = tf.cast(tf.reshape(tf.bitcast(bits, tf.uint16), [-1])[:n], tf.int32)
    keep = tf.reshape(halves >= round(layer.rate * 65536), tf.shape(inputs))
    return inputs * tf.cast(keep, inputs.dtype) * tf.cast(1.0 / (1.0 - layer.rate), inputs.dtype)


def joint_d_call(discriminator) -> bool:
    """Whether D may score reals and fakes in one call on their concatenation: only when no layer
    sees the batch as a whole or draws per-call randomness. BatchNorm would mix the two halves'
    statistics (a different model), Dropout would draw other masks (the seed recipe's pinned losses
    change), spectral norm would run one power iteration instead of two per step."""
    batchwise = (keras.layers.BatchNormalization, keras.layers.Dropout, keras.layers.SpectralNormalization)
    return not any(isinstance(layer, batchwise) for layer in discriminator.layers)


class FusedAdam(keras.optimizers.Adam):
    """Keras 3's Adam with each dense update as one tf.raw_ops.ResourceApplyAdam kernel: the same
    formula (lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)) and the same variables, so
    checkpoints are unchanged, in one pass over memory where Keras' ops make about a dozen; over
    dcgan's 9 M parameters that pass is a measurable share of a float32 step (docs/BENCHMARKS.md)."""

    def __init__(self, *args, name="adam", **kwargs):  # named as Keras' Adam is
        super().__init__(*args, name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        if self.amsgrad or isinstance(gradient, tf.IndexedSlices):
            return super().update_step(gradient, variable, learning_rate)
        var = variable.value if isinstance(variable, keras.Variable) else variable
        i = self._get_variable_index(variable)
        dtype = var.dtype
        t = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=var.handle, m=self._momentums[i].value.handle, v=self._velocities[i].value.handle,
            beta1_power=tf.pow(beta_1, t), beta2_power=tf.pow(beta_2, t), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype))


class GAN:
    def __init__(self, spec: TrainSpec, precision: str):
        info = spec.info
        self.spec, self.info, self.precision = spec, info, precision
        self.recipe = recipe = spec.training
        self.classes = conditional.count(spec)  # K; 0: unconditional
        self._by_centres = conditional.by_centres(spec)
        self.generator = self._build_generator()
        self.discriminator = info.build_discriminator(info.image_shape)
        if recipe.linear_output:
            linear_output(self.discriminator)
        if recipe.spectral_norm:
            self.discriminator = spectral_norm(self.discriminator)
        if self._by_centres:  # D stays the seed's; set_centres gives the step its class judge
            self._centres = tf.Variable(tf.zeros([self.classes, int(np.prod(info.image_shape))]),
                                        trainable=False, name="cluster_centres")
            self._temperature = tf.Variable(1.0, trainable=False, name="centre_temperature")
        elif self.classes:  # after spectral norm: the projection's embedding is not normalised
            self.discriminator = conditional.discriminator(self.discriminator, self.classes,
                                                           class_head=spec.class_loss > 0)
        if precision != "fp32":
            exact_dropout(self.discriminator)
        self._class_loss = float(spec.class_loss) if self.classes else 0.0
        # The EMA generator: same builder, the raw weights copied in; never trained directly.
        self.ema_generator = None
        if recipe.ema > 0:
            self.ema_generator = self._build_generator()
            self.ema_generator.set_weights(self.generator.get_weights())
        self._standing_at = -1  # the step whose EMA weights the BatchNorm statistics belong to
        self.g_opt = self._optimizer(spec.effective_lr_g)
        self.d_opt = self._optimizer(spec.effective_lr_d)
        self.g_opt.build(self.generator.trainable_variables)
        self.d_opt.build(self.discriminator.trainable_variables)
        # Drives the stateless noise RNG: restoring it on resume replays the same noise.
        self.steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")
        self._seed = tf.constant(spec.seed, tf.int64)
        real = info.real_label
        self._y_real = _toward_half(real, spec.label_smoothing)
        self._y_fake = 1.0 - real
        self._noise_amount = spec.effective_label_noise
        lo, span = (0.0, 1.0) if info.output == "sigmoid" else (-1.0, 2.0)
        self._pixels = (lo, span)
        # In float32 two calls measured 2-5% faster on an idle AVX-512 EPYC (also with oneDNN held
        # to AVX2); in bfloat16 the two were level (docs/BENCHMARKS.md, bench.steps --two-calls).
        self._joint_d = precision != "fp32" and joint_d_call(self.discriminator)
        self.train_step = tf.function(self._train_step, reduce_retracing=True)

    def _build_generator(self):
        return conditional.build_generator(self.spec)

    def set_centres(self, images: np.ndarray, labels: np.ndarray) -> None:
        """A by-centres job's class judge: its training images' cluster centres and temperature
        (jobs/clusters.pixel_centres), recomputed from the images whenever the job (re)starts."""
        from ganctl.jobs.clusters import pixel_centres

        centres, temperature = pixel_centres(images, labels, self.classes, *self._pixels, self.spec.seed)
        self._centres.assign(centres)
        self._temperature.assign(temperature)

    def _g_inputs(self, noise, labels):
        return noise if labels is None else [noise, labels]

    def _optimizer(self, lr: float):
        beta_1, beta_2 = self.spec.effective_betas
        opt = FusedAdam(lr, beta_1=beta_1, beta_2=beta_2)
        # float16 needs loss scaling to keep small gradients; bfloat16 has float32's range.
        return keras.optimizers.LossScaleOptimizer(opt) if self.precision == "fp16" else opt

    @staticmethod
    def _scaled(opt, loss):
        """float16's loss scaling; called inside the tape, or the scaled loss has no gradient."""
        return opt.scale_loss(loss) if isinstance(opt, keras.optimizers.LossScaleOptimizer) else loss

    def _augment(self, images, seed):
        """DiffAugment's draw `seed` of images when the recipe has it; the images otherwise."""
        if not self.recipe.augment:
            return images
        from ganctl.jobs.augment import diff_augment

        return diff_augment(images, self.recipe.augment, seed, *self._pixels)

    def _scores(self, images, labels=None):
        """D's float32 score and its class head's logits (None without a class loss)."""
        inputs = images if labels is None else [images, labels]
        out = self.discriminator(inputs, training=True)
        score, logits = out if isinstance(out, (list, tuple)) else (out, None)
        return tf.cast(score, tf.float32), logits

    def _score(self, images, labels=None):
        return self._scores(images, labels)[0]

    def _d(self, images, seed, labels=None):
        """D's float32 score of images (of classes `labels`, conditional jobs), after DiffAugment
        when the recipe has it."""
        return self._score(self._augment(images, seed), labels)

    def _bce_losses(self, p_real, p_fake, batch, seed):
        y_real = tf.fill(tf.shape(p_real), self._y_real)
        y_fake = tf.fill(tf.shape(p_fake), self._y_fake)
        if self._noise_amount > 0:
            u = tf.random.stateless_uniform([2 * batch, 1], seed + 1) * self._noise_amount
            y_real, y_fake = _toward_half(y_real, u[:batch]), _toward_half(y_fake, u[batch:])
        d_loss = tf.reduce_mean(keras.losses.binary_crossentropy(
            tf.concat([y_real, y_fake], 0), tf.concat([p_real, p_fake], 0)))
        # The generator wins when its images get the "real" label.
        g_loss = tf.reduce_mean(keras.losses.binary_crossentropy(
            tf.fill(tf.shape(p_fake), self.info.real_label), p_fake))
        return d_loss, g_loss

    def _penalty(self, images, seed, labels=None):
        """E[||grad_x D(x)||^2] at `images` (R1 on reals; wgan-gp passes interpolates and wants the
        norm, so this returns the per-image squared norms)."""
        with tf.GradientTape() as tape:
            tape.watch(images)
            score = tf.reduce_sum(self._d(images, seed, labels))
        grads = tf.cast(tape.gradient(score, images), tf.float32)
        return tf.reduce_sum(tf.square(grads), axis=[1, 2, 3])

    def _train_step(self, real, labels=None):
        batch = tf.shape(real)[0]
        seed = tf.stack([self._seed, self.steps])
        noise = tf.random.stateless_normal([batch, self.info.noise_dim], seed)
        loss, r1, mode_seeking = self.recipe.loss, self.recipe.r1, self.recipe.mode_seeking
        aug_r, aug_f = seed + [0, 2**20], seed + [0, 2**21]  # independent draws for real and fake
        # Conditional jobs: real images come with their classes, fakes get uniform ones.
        fake_y = None if labels is None else conditional.draw(batch, self.classes, seed + [0, 2**22])
        if mode_seeking > 0 and fake_y is not None:
            fake_y = _paired(fake_y)  # a pair then differs in its noise only
        # What D sees of the classes: nothing when the pixel centres judge them (the seed's D).
        d_real_y, d_fake_y = (None, None) if self._by_centres else (labels, fake_y)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(self._g_inputs(noise, fake_y), training=True)
            if self._joint_d:
                # One pass over 2x the batch: bigger, fewer oneDNN calls (docs/BENCHMARKS.md). Each
                # half keeps its own augmentation draw, as in two calls.
                both = None if d_real_y is None else tf.concat([d_real_y, d_fake_y], 0)
                images = tf.concat([self._augment(real, aug_r), self._augment(fake, aug_f)], 0)
                s, c = self._scores(images, both)
                s_real, s_fake = tf.split(s, 2)
                c_real, c_fake = tf.split(c, 2) if c is not None else (None, None)
            else:
                s_real, c_real = self._scores(self._augment(real, aug_r), d_real_y)
                s_fake, c_fake = self._scores(self._augment(fake, aug_f), d_fake_y)
            if loss == "bce":
                d_loss, g_loss = self._bce_losses(s_real, s_fake, batch, seed)
            elif loss == "hinge":  # s_* are logits: real high, fake low
                d_loss = tf.reduce_mean(tf.nn.relu(1.0 - s_real)) + tf.reduce_mean(tf.nn.relu(1.0 + s_fake))
                g_loss = -tf.reduce_mean(s_fake)
            else:  # wgan-gp: one critic step per generator step (the joint step), lambda 10
                eps = tf.random.stateless_uniform([batch, 1, 1, 1], seed + 2)
                mixed = eps * real + (1.0 - eps) * tf.stop_gradient(fake)
                # Conditional: the interpolates are scored as the real images' classes.
                gp = tf.reduce_mean(tf.square(tf.sqrt(self._penalty(mixed, aug_r, d_real_y) + 1e-12) - 1.0))
                d_loss = tf.reduce_mean(s_fake) - tf.reduce_mean(s_real) + recipes.WGAN_GP_WEIGHT * gp
                g_loss = -tf.reduce_mean(s_fake)
            if r1 > 0:  # zero-centred, on the (augmented) reals D sees
                d_loss += 0.5 * r1 * tf.reduce_mean(self._penalty(real, aug_r, d_real_y))
            if self._class_loss and self._by_centres:  # G's images of cluster c nearer centre c
                g_loss += self._class_loss * conditional.class_loss(
                    conditional.centre_logits(fake, self._centres, self._temperature), fake_y)
            elif self._class_loss:  # AC-GAN: D learns the real images' classes, G is scored on its requested ones
                d_loss += self._class_loss * conditional.class_loss(c_real, labels)
                g_loss += self._class_loss * conditional.class_loss(c_fake, fake_y)
            if mode_seeking > 0:
                g_loss += mode_seeking * _mode_seeking(fake, noise)
            d_scaled, g_scaled = self._scaled(self.d_opt, d_loss), self._scaled(self.g_opt, g_loss)
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        # Both gradients before either update: the generator's must see the discriminator it was
        # scored by, and the two backward passes can then run side by side.
        d_grads = d_tape.gradient(d_scaled, d_vars)
        g_grads = g_tape.gradient(g_scaled, g_vars)
        self.d_opt.apply_gradients(zip(d_grads, d_vars))
        self.g_opt.apply_gradients(zip(g_grads, g_vars))
        if self.ema_generator is not None:
            # StyleGAN's warm-up ramp: an average from step 0 at 0.999 is mostly the initial weights.
            t = tf.cast(self.steps, tf.float32)
            decay = tf.minimum(self.recipe.ema, (1.0 + t) / (EMA_WARMUP + t))
            for e, w in zip(self.ema_generator.trainable_variables, g_vars):
                e.assign(decay * e + (1.0 - decay) * w)
        self.steps.assign_add(1)
        return d_loss, g_loss

    def standing_statistics(self) -> None:
        """Recompute the EMA generator's BatchNorm moving statistics for its own weights: the raw
        generator's do not belong to the averaged weights (issue 12's probe: FD 90.6 copied vs 62.0
        recomputed). Forward passes in training mode over seeded noise, each BatchNorm's momentum set
        so its moving statistics end as the plain mean over the passes."""
        g, step = self.ema_generator, int(self.steps.numpy())
        if g is None or step == self._standing_at:
            return
        bns = [layer for layer in _all_layers(g) if isinstance(layer, keras.layers.BatchNormalization)]
        if bns:
            saved = [bn.momentum for bn in bns]
            try:
                for k in range(STANDING_PASSES):
                    for bn in bns:
                        bn.momentum = k / (k + 1.0)  # pass k contributes 1/(k+1): a running mean
                    z = tf.random.stateless_normal([STANDING_BATCH, self.info.noise_dim],
                                                   tf.constant([self.spec.seed, -1 - k], tf.int64))
                    y = None if not self.classes else conditional.draw(
                        STANDING_BATCH, self.classes, tf.constant([self.spec.seed, -1 - k - 2**22], tf.int64))
                    g(self._g_inputs(z, y), training=True)
            finally:
                for bn, m in zip(bns, saved):
                    bn.momentum = m
        self._standing_at = step

    @property
    def sampler(self):
        """The generator that grids, evaluation and the export use: the EMA one (its BatchNorm
        statistics made current) when the recipe has an EMA, else the raw one."""
        if self.ema_generator is None:
            return self.generator
        self.standing_statistics()
        return self.ema_generator

    def generate(self, noise: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        return np.asarray(self.sampler(self._g_inputs(noise, labels), training=False), dtype=np.float32)

    # Everything a resumed run needs, in a fixed order: weights, dropout RNG states, optimizer slots,
    # then (EMA recipes) the averaged weights, so a resumed run continues the same average.
    def state_variables(self) -> list:
        ema = [*self.ema_generator.variables] if self.ema_generator is not None else []
        return [*self.generator.variables, *self.discriminator.variables,
                *self.g_opt.variables, *self.d_opt.variables, self.steps, *ema]
