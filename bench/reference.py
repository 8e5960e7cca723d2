"""Faithful float32 references of the seeds' own training code, for the benchmark's ratio.

upsample: the FashionGAN notebook (seeds 000/004): a keras.Model subclass whose train_step runs the
generator twice (once for the discriminator step, once for its own), compiled and driven by fit().
dcgan: the TensorFlow DCGAN tutorial's @tf.function train_step, with seed 002's layers.
"""
from __future__ import annotations

import keras
import tensorflow as tf

from ganctl.jobs import archs


class FashionGAN(keras.Model):
    def __init__(self, generator, discriminator, noise_dim, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator = generator, discriminator
        self.noise_dim, self.batch_size = noise_dim, batch_size

    def compile(self, g_opt, d_opt, g_loss, d_loss, *args, **kwargs):
        super().compile(*args, **kwargs)
        self.g_opt, self.d_opt, self.g_loss, self.d_loss = g_opt, d_opt, g_loss, d_loss

    def train_step(self, batch):
        real_images = batch
        fake_images = self.generator(tf.random.normal((self.batch_size, self.noise_dim)), training=False)
        with tf.GradientTape() as d_tape:
            yhat_real = self.discriminator(real_images, training=True)
            yhat_fake = self.discriminator(fake_images, training=True)
            yhat_realfake = tf.concat([yhat_real, yhat_fake], axis=0)
            y_realfake = tf.concat([tf.zeros_like(yhat_real), tf.ones_like(yhat_fake)], axis=0)
            noise_real = 0.15 * tf.random.uniform(tf.shape(yhat_real))
            noise_fake = -0.15 * tf.random.uniform(tf.shape(yhat_fake))
            y_realfake += tf.concat([noise_real, noise_fake], axis=0)
            total_d_loss = self.d_loss(y_realfake, yhat_realfake)
        dgrad = d_tape.gradient(total_d_loss, self.discriminator.trainable_variables)
        self.d_opt.apply_gradients(zip(dgrad, self.discriminator.trainable_variables))
        with tf.GradientTape() as g_tape:
            gen_images = self.generator(tf.random.normal((self.batch_size, self.noise_dim)), training=True)
            predicted_labels = self.discriminator(gen_images, training=False)
            total_g_loss = self.g_loss(tf.zeros_like(predicted_labels), predicted_labels)
        ggrad = g_tape.gradient(total_g_loss, self.generator.trainable_variables)
        self.g_opt.apply_gradients(zip(ggrad, self.generator.trainable_variables))
        return {"d_loss": total_d_loss, "g_loss": total_g_loss}


def upsample_trainer(batch_size: int):
    """Returns train(dataset) running one epoch the notebook's way."""
    info = archs.get("upsample")
    gan = FashionGAN(info.build_generator(info.noise_dim), info.build_discriminator(),
                     info.noise_dim, batch_size)
    gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-5),
                keras.losses.BinaryCrossentropy(), keras.losses.BinaryCrossentropy())
    return lambda ds: gan.fit(ds, epochs=1, verbose=0)


def dcgan_trainer(batch_size: int):
    info = archs.get("dcgan")
    generator, discriminator = info.build_generator(info.noise_dim), info.build_discriminator()
    cross_entropy = keras.losses.BinaryCrossentropy()
    g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)
    d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.999)

    @tf.function
    def train_step(images):
        noise = tf.random.normal([tf.shape(images)[0], info.noise_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated_images = generator(noise, training=True)
            real_output = discriminator(images, training=True)
            fake_output = discriminator(generated_images, training=True)
            gen_loss = cross_entropy(tf.ones_like(fake_output), fake_output)
            disc_loss = (cross_entropy(tf.ones_like(real_output), real_output)
                         + cross_entropy(tf.zeros_like(fake_output), fake_output))
        g_grads = gen_tape.gradient(gen_loss, generator.trainable_variables)
        d_grads = disc_tape.gradient(disc_loss, discriminator.trainable_variables)
        g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
        d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))

    def epoch(ds):
        for batch in ds:
            train_step(batch)
    return epoch


TRAINERS = {"upsample": upsample_trainer, "dcgan": dcgan_trainer}
