"""The structured matrices of a model, by the names configs and compression plans use."""

from __future__ import annotations

from tfcompress.backend import keras
from tfcompress.layers import StructuredMatrix


def matrices(model: keras.Model) -> dict[str, StructuredMatrix]:
    """Every weight matrix of a model by name: a layer's name, or `layer.matrix` for layers with
    several (encoder.input, encoder.recurrent): the keys of a config's `structures`."""
    found = {}
    for layer in model.layers:
        for key, matrix in getattr(layer, "matrices", dict)().items():
            found[layer.name if len(layer.matrices()) == 1 else f"{layer.name}.{key.split('_')[0]}"] = matrix
    return found
