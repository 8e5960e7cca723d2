"""The two networks, their optimizers and one compiled joint train step (both losses from one
generator pass), in the spirit of keras-io's dcgan_overriding_train_step."""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs.spec import TrainSpec


def _toward_half(label: float, amount):
    """Move a 0/1 label towards 0.5 by `amount`: label smoothing and label noise both do this."""
    return label + (0.5 - label) * 2.0 * amount


class GAN:
    def __init__(self, spec: TrainSpec, precision: str):
        info = spec.info
        self.spec, self.info, self.precision = spec, info, precision
        self.generator = info.build_generator(info.noise_dim)
        self.discriminator = info.build_discriminator(info.image_shape)
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
        self.train_step = tf.function(self._train_step, reduce_retracing=True)

    def _optimizer(self, lr: float):
        opt = keras.optimizers.Adam(lr, beta_1=self.info.beta_1, beta_2=self.info.beta_2)
        # float16 needs loss scaling to keep small gradients; bfloat16 has float32's range.
        return keras.optimizers.LossScaleOptimizer(opt) if self.precision == "fp16" else opt

    @staticmethod
    def _gradients(opt, tape, loss, variables):
        scaled = opt.scale_loss(loss) if isinstance(opt, keras.optimizers.LossScaleOptimizer) else loss
        return tape.gradient(scaled, variables)

    def _train_step(self, real):
        batch = tf.shape(real)[0]
        seed = tf.stack([self._seed, self.steps])
        noise = tf.random.stateless_normal([batch, self.info.noise_dim], seed)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            p_real = tf.cast(self.discriminator(real, training=True), tf.float32)
            p_fake = tf.cast(self.discriminator(fake, training=True), tf.float32)
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
        d_vars, g_vars = self.discriminator.trainable_variables, self.generator.trainable_variables
        # Both gradients before either update: the generator's must see the discriminator it was
        # scored by, and the two backward passes can then run side by side.
        d_grads = self._gradients(self.d_opt, d_tape, d_loss, d_vars)
        g_grads = self._gradients(self.g_opt, g_tape, g_loss, g_vars)
        self.d_opt.apply_gradients(zip(d_grads, d_vars))
        self.g_opt.apply_gradients(zip(g_grads, g_vars))
        self.steps.assign_add(1)
        return d_loss, g_loss

    def generate(self, noise: np.ndarray) -> np.ndarray:
        return np.asarray(self.generator(noise, training=False), dtype=np.float32)

    # Everything a resumed run needs, in a fixed order: weights, dropout RNG states, optimizer slots.
    def state_variables(self) -> list:
        return [*self.generator.variables, *self.discriminator.variables,
                *self.g_opt.variables, *self.d_opt.variables, self.steps]
