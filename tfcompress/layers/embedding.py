"""Token embedding whose padding row is always zero, so padding adds nothing to a pooled sum."""

from __future__ import annotations

import numpy as np

from tfcompress.backend import keras, tf
from tfcompress.tokenizer import PAD_ID


@keras.utils.register_keras_serializable(package="tfcompress")
class PaddedEmbedding(keras.layers.Layer):
    def __init__(self, vocab_size: int, output_dim: int, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.output_dim = output_dim

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            "embeddings",
            shape=(self.vocab_size, self.output_dim),
            initializer=keras.initializers.RandomUniform(-0.05, 0.05),
        )
        mask = np.ones((self.vocab_size, 1), dtype=np.float32)
        mask[PAD_ID] = 0.0
        self._row_mask = tf.constant(mask)
        super().build(input_shape)

    def call(self, token_ids):
        # The converter folds table * mask into one constant table.
        return tf.gather(self.embeddings * self._row_mask, token_ids)

    def count_params_dense(self) -> int:
        return self.vocab_size * self.output_dim

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "output_dim": self.output_dim}
