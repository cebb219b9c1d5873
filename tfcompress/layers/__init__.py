"""Keras layers of tfcompress models; importing this registers them for model loading."""

from tfcompress.layers.embedding import PaddedEmbedding
from tfcompress.layers.recurrent import CELLS, UnrolledRNN

__all__ = ["PaddedEmbedding", "UnrolledRNN", "CELLS"]
