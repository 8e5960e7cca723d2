"""Mixed precision: upsample's discriminator drops 40% as the seed asks (Keras' bfloat16 draw drops
40.6%), replays its masks from a checkpointed RNG state, and saves as Keras' own Dropout layers."""
import keras
import numpy as np
import tensorflow as tf

from ganctl.jobs import device, train
from ganctl.jobs.spec import TrainSpec


def _dropouts(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]


def test_bf16_dropout_keeps_the_seeds_rate_and_replays_from_its_state(tmp_path):
    ones = tf.ones([1000, 1000], tf.bfloat16)
    kept = {}
    for precision in ("bf16", "fp32"):
        gan, _ = train.build(TrainSpec(arch="upsample"), precision)
        layer = _dropouts(gan.discriminator)[0]
        with device.precision_scope(precision):
            x = tf.cast(ones, layer.compute_dtype)
            state = layer.seed_generator.state.numpy()
            first = layer(x, training=True).numpy().astype(np.float32)
            again = layer(x, training=True).numpy().astype(np.float32)
            layer.seed_generator.state.assign(state)  # as a resumed run restores it
            replay = layer(x, training=True).numpy().astype(np.float32)
            assert np.array_equal(layer(x, training=False).numpy(), x.numpy())  # sampling: no dropout
        kept[precision] = (first != 0).mean()
        assert np.array_equal(first, replay) and not np.array_equal(first, again)
        assert set(np.unique(first)) == {0.0, float(np.asarray(1 / 0.6, layer.compute_dtype))}
    assert abs(kept["bf16"] - 0.6) < 0.002 and abs(kept["fp32"] - 0.6) < 0.002  # Keras' bf16 draw: 0.594
    # Keras' own bfloat16 draw, for contrast: 7-bit uniforms, so 76 of 128 values kept.
    keras_bf16 = keras.layers.Dropout(0.4, dtype="mixed_bfloat16", seed=1)
    assert abs((keras_bf16(ones, training=True).numpy() != 0).mean() - 76 / 128) < 0.002

    gan, _ = train.build(TrainSpec(arch="upsample"), "bf16")
    gan.discriminator.save(tmp_path / "d.h5")  # the exported discriminator: plain Keras layers
    loaded = keras.models.load_model(tmp_path / "d.h5", compile=False)
    assert [type(layer) for layer in _dropouts(loaded)] == [keras.layers.Dropout] * 5
