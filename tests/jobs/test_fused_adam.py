"""FusedAdam (jobs/gan.py) is Keras' Adam computed as one kernel per variable: the same weights and
optimizer slots after training steps, so checkpoints and the seed recipe's pinned losses hold."""
import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs.device import precision_scope
from ganctl.jobs.gan import FusedAdam


def _trained(optimizer_class, steps=5):
    keras.utils.set_random_seed(3)
    with precision_scope("fp32"):  # float32 whatever policy an earlier test left: rounding alike
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(1)])
    opt = optimizer_class(2e-3, beta_1=0.5, beta_2=0.99)
    x = tf.random.stateless_normal([16, 8], [1, 2])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - 1.0))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))

    for _ in range(steps):
        step()
    return model, opt


def test_fused_adam_updates_as_keras_adam_does():
    (m_keras, o_keras), (m_fused, o_fused) = _trained(keras.optimizers.Adam), _trained(FusedAdam)
    assert int(o_fused.iterations.numpy()) == 5
    for a, b in zip(m_keras.get_weights(), m_fused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    # The same slots in the same order: a checkpoint written by either restores into the other.
    # (compared by shape: Keras names a second optimizer in one process 'adam_1', and layer names differ)
    assert [tuple(v.shape) for v in o_keras.variables] == [tuple(v.shape) for v in o_fused.variables]
    for a, b in zip(o_keras.variables, o_fused.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-9)
    assert not np.allclose(m_fused.get_weights()[0], _trained(FusedAdam, steps=0)[0].get_weights()[0])


def test_fused_adam_falls_back_to_keras_where_it_has_no_kernel():
    """amsgrad has no fused kernel: Keras' own update runs, the same as keras.optimizers.Adam's."""
    (m_keras, _), (m_fused, _) = (_trained(lambda *a, **k: cls(*a, amsgrad=True, **k))
                                  for cls in (keras.optimizers.Adam, FusedAdam))
    for a, b in zip(m_keras.get_weights(), m_fused.get_weights()):
        np.testing.assert_array_equal(a, b)
