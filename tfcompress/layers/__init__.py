"""Keras layers of tfcompress models; importing this registers them for model loading."""

from tfcompress.layers.dense import (DopedKroneckerDense, FactorizedDense, HybridFactorizedDense, KroneckerDense,
                                     StructuredDense)
from tfcompress.layers.embedding import PaddedEmbedding
from tfcompress.layers.recurrent import CELLS, UnrolledRNN
from tfcompress.layers.structured import StructuredMatrix
from tfcompress.structures.spec import KINDS, Structure

__all__ = ["PaddedEmbedding", "UnrolledRNN", "CELLS", "StructuredDense", "FactorizedDense", "HybridFactorizedDense",
           "KroneckerDense", "DopedKroneckerDense", "Structure", "StructuredMatrix", "KINDS"]
