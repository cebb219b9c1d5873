"""LSTM and GRU encoders unrolled over the fixed token window.

Unrolling turns each step into plain FULLY_CONNECTED / LOGISTIC / TANH / MUL / ADD ops that
every int8 interpreter (LiteRT, TFLM, the firmware kernels) runs the same way; the input
projection of all steps is one matrix product. The encoder returns the last hidden state:
the tokenizer left-pads, so the last step is always the last word.
"""

from __future__ import annotations

from tfcompress.backend import keras, tf

CELLS = ("lstm", "gru")
_GATES = {"lstm": 4, "gru": 3}


@keras.utils.register_keras_serializable(package="tfcompress")
class UnrolledRNN(keras.layers.Layer):
    def __init__(self, units: int, cell: str = "lstm", **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.units = units
        self.cell = cell

    def build(self, input_shape):
        gates = _GATES[self.cell] * self.units
        self.input_kernel = self.add_weight(
            "input_kernel", shape=(int(input_shape[-1]), gates), initializer="glorot_uniform"
        )
        self.recurrent_kernel = self.add_weight(
            "recurrent_kernel", shape=(self.units, gates), initializer="orthogonal"
        )
        bias_init = "zeros"
        if self.cell == "lstm":  # forget-gate bias 1, as Keras' unit_forget_bias
            u = self.units
            bias_init = lambda shape, dtype=None: tf.concat(  # noqa: E731
                [tf.zeros([u]), tf.ones([u]), tf.zeros([2 * u])], axis=0
            )
        self.bias = self.add_weight("bias", shape=(gates,), initializer=bias_init)
        if self.cell == "gru":
            self.recurrent_bias = self.add_weight("recurrent_bias", shape=(gates,), initializer="zeros")
        super().build(input_shape)

    def call(self, inputs):
        steps = inputs.shape[1]
        projected = tf.matmul(inputs, self.input_kernel) + self.bias  # [batch, steps, gates]
        h = tf.zeros_like(projected[:, 0, : self.units])
        c = h
        for t in range(steps):
            x_t = projected[:, t, :]
            if self.cell == "lstm":
                h, c = self._lstm_step(x_t, h, c)
            else:
                h = self._gru_step(x_t, h)
        return h

    def _lstm_step(self, x_t, h, c):
        z = x_t + tf.matmul(h, self.recurrent_kernel)
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    def _gru_step(self, x_t, h):
        # Keras' reset_after variant: r gates the recurrent projection after the product.
        hz, hr, hn = tf.split(tf.matmul(h, self.recurrent_kernel) + self.recurrent_bias, 3, axis=-1)
        xz, xr, xn = tf.split(x_t, 3, axis=-1)
        z = tf.sigmoid(xz + hz)
        r = tf.sigmoid(xr + hr)
        n = tf.tanh(xn + r * hn)
        return n + z * (h - n)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "cell": self.cell}
