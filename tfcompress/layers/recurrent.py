"""LSTM and GRU encoders unrolled over the fixed token window.

Unrolling turns each step into plain FULLY_CONNECTED / LOGISTIC / TANH / MUL / ADD builtin
ops that every int8 interpreter runs, with no float island; TFLM and LiteRT still differ by
one LSB on some FULLY_CONNECTED outputs (their requantisation rounds differently,
docs/interpreters.md), so TFLM is the golden. The input projection of all steps is one
matrix product. The encoder returns the last hidden state (the tokenizer left-pads, so the
last step is always the last word), or every step's state for a language model.
"""

from __future__ import annotations

from tfcompress.backend import keras, tf, tfmot
from tfcompress.layers.structured import Structure, StructuredMatrix
from tfcompress.options import CELLS

_GATES = {"lstm": 4, "gru": 3}


@keras.utils.register_keras_serializable(package="tfcompress")
class UnrolledRNN(keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    """LSTM or GRU; its input and recurrent matrices may each be any structure."""

    def __init__(self, units: int, cell: str = "lstm", input_structure: Structure | dict | None = None,
                 recurrent_structure: Structure | dict | None = None, return_sequences: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.return_sequences = return_sequences
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        self.units = units
        self.cell = cell
        as_structure = lambda s: s if isinstance(s, Structure) else Structure.from_json(s)  # noqa: E731
        self.input_structure = as_structure(input_structure)
        self.recurrent_structure = as_structure(recurrent_structure)

    def build(self, input_shape):
        gates = _GATES[self.cell] * self.units
        self.input_kernel = StructuredMatrix(self, "input_kernel", int(input_shape[-1]), gates, self.input_structure,
                                             role="recurrent")
        self.recurrent_kernel = StructuredMatrix(self, "recurrent_kernel", self.units, gates,
                                                 self.recurrent_structure, "orthogonal", role="recurrent")
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

    def call(self, inputs, training=None):
        steps = inputs.shape[1]
        projected = self.input_kernel.matmul(inputs, training=training) + self.bias  # [batch, steps, gates]
        # The state starts at zero; step 0 is written without it, so no all-zero tensor (which the
        # converter would leave in float) enters the graph.
        h = c = None
        outputs = []
        for t in range(steps):
            x_t = projected[:, t, :]
            if self.cell == "lstm":
                h, c = self._lstm_step(x_t, h, c, training)
            else:
                h = self._gru_step(x_t, h, training)
            outputs.append(h)
        return tf.stack(outputs, axis=1) if self.return_sequences else h

    def _lstm_step(self, x_t, h, c, training):
        u = self.units
        if h is None:  # c = 0: no forget gate; slices, since a SPLIT with an unused output stays float
            i, g, o = x_t[:, :u], x_t[:, 2 * u:3 * u], x_t[:, 3 * u:]
            c = tf.sigmoid(i) * tf.tanh(g)
            return tf.sigmoid(o) * tf.tanh(c), c
        i, f, g, o = tf.split(x_t + self.recurrent_kernel.matmul(h, training=training), 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), c

    def _gru_step(self, x_t, h, training):
        # Keras' reset_after variant: r gates the recurrent projection after the product.
        # With h = 0 that projection is just the recurrent bias.
        recurrent = self.recurrent_bias if h is None else \
            self.recurrent_kernel.matmul(h, training=training) + self.recurrent_bias
        hz, hr, hn = tf.split(recurrent, 3, axis=-1)
        xz, xr, xn = tf.split(x_t, 3, axis=-1)
        z = tf.sigmoid(xz + hz)
        r = tf.sigmoid(xr + hr)
        n = tf.tanh(xn + r * hn)
        return n - z * n if h is None else n + z * (h - n)

    def matrices(self) -> dict[str, StructuredMatrix]:
        return {"input_kernel": self.input_kernel, "recurrent_kernel": self.recurrent_kernel}

    def get_prunable_weights(self):
        return [m.w for m in self.matrices().values() if m.structure.kind == "dense"]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.units) if self.return_sequences else (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "cell": self.cell,
                "input_structure": self.input_structure.to_json(),
                "recurrent_structure": self.recurrent_structure.to_json(), "return_sequences": self.return_sequences}
