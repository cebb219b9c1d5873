"""Token embedding with a dense or structured table; the padding id always looks up zeros."""

from __future__ import annotations

from tfcompress.backend import keras, tf, tfmot
from tfcompress.layers.structured import Structure, StructuredMatrix
from tfcompress.tokenizer import PAD_ID

if PAD_ID != 0:
    raise ImportError("PaddedEmbedding's padding mask assumes PAD_ID == 0")


@keras.utils.register_keras_serializable(package="tfcompress")
class PaddedEmbedding(keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    def __init__(self, vocab_size: int, output_dim: int, structure: Structure | dict | None = None, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.output_dim = output_dim
        self.structure = structure if isinstance(structure, Structure) else Structure.from_json(structure)

    def build(self, input_shape):
        init = keras.initializers.RandomUniform(-0.05, 0.05)
        self.embeddings = StructuredMatrix(self, "embeddings", self.vocab_size, self.output_dim, self.structure, init,
                                           role="lookup")
        super().build(input_shape)

    def call(self, token_ids, training=None):
        if self.structure.kind == "dense":  # the converter folds the masked table into one constant
            pad_row_mask = tf.one_hot([PAD_ID], self.vocab_size, on_value=0.0, off_value=1.0)
            return tf.gather(self.embeddings.w * tf.transpose(pad_row_mask), token_ids)
        rows = self.embeddings.gather_rows(token_ids, training=training)
        # A structured table cannot hold an exact zero row: mask with min(id, 1), in int32 ops.
        return rows * tf.cast(tf.minimum(token_ids, 1), rows.dtype)[..., None]

    def matrices(self) -> dict[str, StructuredMatrix]:
        return {"embeddings": self.embeddings}

    def get_prunable_weights(self):
        return [self.embeddings.w] if self.structure.kind == "dense" else []

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "output_dim": self.output_dim,
                "structure": self.structure.to_json()}
