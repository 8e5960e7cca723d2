"""The prototype of `--clusters K --no-cluster-layers` (docs/BENCHMARKS.md), kept as the record of
the upsample seeds 1 and 2 it ran: the switch reproduced its seed 0 to the last digit.
Self-conditioning with no added trainable layers. The cluster enters G as a FIXED code (the
conditional design's std-3 code in the noise's last 10 entries, not trained) and D stays the
seed's, unconditional; the class loss is a
nearest-centroid softmax over the fakes' pixels, the centres being the k-means centres of the
job's images (constants): G is pushed to make code c's images nearer centre c than the others.
Temperature: half the median gap, over the real images, between the nearest and second-nearest
centre's squared distance (real images then score a cross-entropy of about 0.4 at K = 20).

    PYTHONPATH=. python docs/quality-upsample5/clusters-centres/experiment.py --archs upsample --seeds 0 \
        --epochs 5 --limit 5000 --n 2000 --recipes "ema-augment-batch32 clusters=20" --out OUT
"""
import sys

import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs import conditional, gan

_labels_for, _generator = conditional.labels_for, conditional.generator
STATE = {}


def fixed_code_generator(seed_generator, k, noise_dim, class_dims):
    model = _generator(seed_generator, k, noise_dim, class_dims)
    model.get_layer("class_embedding").trainable = False
    return model


def plain_discriminator(seed_discriminator, k, class_head=False):
    return seed_discriminator


def labels_and_centres(spec, subset):
    labels = _labels_for(spec, subset)
    if not conditional.is_conditional(spec):
        g = STATE["gan"]
        lo, span = g._pixels
        x = lo + span * subset.images.reshape(len(subset.images), -1).astype(np.float64) / 255.0
        c = np.stack([x[labels == j].mean(0) for j in range(g.classes)])
        d = np.sort((x ** 2).sum(1)[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None], 1)
        temperature = float(np.median(d[:, 1] - d[:, 0]) / 2)
        g.centres.assign(c.astype(np.float32))
        g.temperature.assign(temperature)
        print(f"pixel centres: {c.shape}, temperature {temperature:.2f}", flush=True)
    return labels


class PixelCentroidGAN(gan.GAN):
    def __init__(self, spec, precision):
        super().__init__(spec, precision)
        dims = int(np.prod(self.info.image_shape))
        self.centres = tf.Variable(tf.zeros([self.classes, dims]), trainable=False)
        self.temperature = tf.Variable(1.0, trainable=False)
        STATE["gan"] = self

    def _pixel_logits(self, fake):
        x = tf.reshape(tf.cast(fake, tf.float32), [tf.shape(fake)[0], -1])
        d = (tf.reduce_sum(x * x, 1, keepdims=True) - 2.0 * tf.matmul(x, self.centres, transpose_b=True)
             + tf.reduce_sum(self.centres * self.centres, 1)[None])
        return -d / self.temperature

    def _train_step(self, real, labels=None):
        batch = tf.shape(real)[0]
        seed = tf.stack([self._seed, self.steps])
        noise = tf.random.stateless_normal([batch, self.info.noise_dim], seed)
        aug_r, aug_f = seed + [0, 2**20], seed + [0, 2**21]
        fake_y = gan._paired(conditional.draw(batch, self.classes, seed + [0, 2**22]))
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator([noise, fake_y], training=True)
            s_real = self._score(self._augment(real, aug_r))
            s_fake = self._score(self._augment(fake, aug_f))
            assert self.recipe.loss == "bce"
            d_loss, g_loss = self._bce_losses(s_real, s_fake, batch, seed)
            g_loss += self._class_loss * conditional.class_loss(self._pixel_logits(fake), fake_y)
            if self.recipe.mode_seeking > 0:
                g_loss += self.recipe.mode_seeking * gan._mode_seeking(fake, noise)
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        d_grads = d_tape.gradient(d_loss, d_vars)
        g_grads = g_tape.gradient(g_loss, g_vars)
        self.d_opt.apply_gradients(zip(d_grads, d_vars))
        self.g_opt.apply_gradients(zip(g_grads, g_vars))
        t = tf.cast(self.steps, tf.float32)
        decay = tf.minimum(self.recipe.ema, (1.0 + t) / (gan.EMA_WARMUP + t))
        for e, w in zip(self.ema_generator.trainable_variables, g_vars):
            e.assign(decay * e + (1.0 - decay) * w)
        self.steps.assign_add(1)
        return d_loss, g_loss


conditional.generator = fixed_code_generator
conditional.discriminator = plain_discriminator
conditional.labels_for = labels_and_centres
gan.GAN = PixelCentroidGAN

from bench import quality  # noqa: E402

quality.main(sys.argv[1:])
