import numpy as np
import pytest

from tfcompress.backend import keras, tf
from tfcompress.layers import UnrolledRNN


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_matches_keras_reference_cell(cell):
    """Same weights, same outputs as Keras' own LSTM / GRU (reset_after) over the whole window."""
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype(np.float32)
    ours = UnrolledRNN(4, cell=cell)
    ours(x)
    if cell == "lstm":
        ref = keras.layers.LSTM(4)
        ref(x)
        ref.set_weights([ours.input_kernel.to_dense(), ours.recurrent_kernel.to_dense(), ours.bias.numpy()])
    else:
        ref = keras.layers.GRU(4, reset_after=True)
        ref(x)
        bias = np.stack([ours.bias.numpy(), np.random.default_rng(1).normal(size=12).astype(np.float32)])
        ours.recurrent_bias.assign(bias[1])
        ref.set_weights([ours.input_kernel.to_dense(), ours.recurrent_kernel.to_dense(), bias])
    np.testing.assert_allclose(ours(x).numpy(), ref(x).numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradients_reach_every_weight(cell):
    layer = UnrolledRNN(3, cell=cell)
    x = tf.constant(np.random.default_rng(2).normal(size=(2, 4, 5)).astype(np.float32))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x) ** 2)
    grads = tape.gradient(loss, layer.trainable_weights)
    assert all(g is not None and float(tf.reduce_sum(tf.abs(g))) > 0 for g in grads)


def test_config_roundtrip_and_bad_cell():
    layer = UnrolledRNN(5, cell="gru", name="enc")
    again = UnrolledRNN.from_config(layer.get_config())
    assert (again.units, again.cell, again.name) == (5, "gru", "enc")
    with pytest.raises(ValueError, match="cell must be one of"):
        UnrolledRNN(3, cell="rnn")
