"""Dense layers whose kernel is a structured matrix (layers/structured.py)."""

from __future__ import annotations

from tfcompress.backend import keras, tfmot
from tfcompress.layers.structured import Structure, StructuredMatrix


@keras.utils.register_keras_serializable(package="tfcompress")
class StructuredDense(keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    """y = activation(x @ W + bias) with W dense, LMF, HMF, KP or DKP."""

    kind = None  # subclasses fix the structure's kind

    def __init__(self, units: int, structure: Structure | dict | None = None, activation=None,
                 use_bias: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.structure = structure if isinstance(structure, Structure) else Structure.from_json(structure)
        if self.kind is not None and self.structure.kind != self.kind:
            raise ValueError(f"{type(self).__name__} needs a {self.kind!r} structure, got {self.structure.kind!r}")
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias

    def build(self, input_shape):
        self.kernel = StructuredMatrix(self, "kernel", int(input_shape[-1]), self.units, self.structure)
        self.bias = self.add_weight("bias", shape=(self.units,), initializer="zeros") if self.use_bias else None
        super().build(input_shape)

    def call(self, x, training=None):
        y = self.kernel.matmul(x, training=training)
        if self.bias is not None:
            y = y + self.bias
        return self.activation(y)

    def matrices(self) -> dict[str, StructuredMatrix]:
        return {"kernel": self.kernel}

    def get_prunable_weights(self):
        return [m.w for m in self.matrices().values() if m.structure.kind == "dense"]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "structure": self.structure.to_json(),
                "activation": keras.activations.serialize(self.activation), "use_bias": self.use_bias}


@keras.utils.register_keras_serializable(package="tfcompress")
class FactorizedDense(StructuredDense):
    """Low-rank matrix factorisation (LMF): W = U V."""

    kind = "lmf"


@keras.utils.register_keras_serializable(package="tfcompress")
class HybridFactorizedDense(StructuredDense):
    """Hybrid matrix factorisation (HMF): the first r rows of W dense, the rest U V."""

    kind = "hmf"


@keras.utils.register_keras_serializable(package="tfcompress")
class KroneckerDense(StructuredDense):
    """Kronecker product (KP): W = A (x) B."""

    kind = "kp"


@keras.utils.register_keras_serializable(package="tfcompress")
class DopedKroneckerDense(StructuredDense):
    """Doped Kronecker product (DKP): W = A (x) B + S with S sparse, annealed and CMR-regularised."""

    kind = "dkp"
