import numpy as np

from tfcompress.layers import PaddedEmbedding
from tfcompress.tokenizer import PAD_ID


def test_padding_row_is_zero_even_after_training_updates():
    layer = PaddedEmbedding(10, 4)
    ids = np.array([[PAD_ID, 3, PAD_ID, 9]], dtype=np.int32)
    layer(ids)
    layer.embeddings.w.assign(np.ones((10, 4), np.float32))
    out = layer(ids).numpy()
    assert np.all(out[0, [0, 2]] == 0) and np.all(out[0, [1, 3]] == 1)


def test_config_roundtrip():
    layer = PaddedEmbedding(12, 3, name="emb")
    again = PaddedEmbedding.from_config(layer.get_config())
    assert (again.vocab_size, again.output_dim, again.name) == (12, 3, "emb")
