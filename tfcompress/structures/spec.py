"""The structure of a weight matrix and its storage bytes: TensorFlow-free, so the Keras layers,
the planner, the converter and the code generator share one spec and one byte count.

A rows x cols matrix W is stored in one of five forms (see tfcompress.layers.structured for
the math of each as `x @ W` and as a row lookup):

    dense  W
    lmf    W = U V                       U rows x r, V r x cols
    hmf    W[:r] = H, W[r:] = U V        the first r rows dense, the rest at rank r
    kp     W = (A (x) B)[:rows, :cols]   A a_in x a_out, B b_in x b_out
    dkp    W = kp + S                    S sparse ("doping")
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from tfcompress.structures import sparse

KINDS = ("dense", "lmf", "hmf", "kp", "dkp")
SCALE_BYTES = 4  # a float32 scale in a TFC_ op's `scales` input
CHANNEL_QUANTIZATION_BYTES = 12  # a builtin tensor's float32 scale and int64 zero point
ROLES = ("fully_connected", "lookup", "recurrent")  # how a matrix is used: x @ W, W[id], inside an RNN op


@dataclass(frozen=True)
class Structure:
    kind: str = "dense"
    rank: int = 0  # lmf, hmf
    a_shape: tuple[int, int] = (0, 0)  # kp, dkp: (a_in, a_out)
    b_shape: tuple[int, int] = (0, 0)  # kp, dkp: (b_in, b_out)
    density: float = 0.0  # dkp: fraction of S's entries kept once annealed
    cmr: float = 0.0  # dkp: co-matrix dropout rate on S's contribution

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"structure kind must be one of {KINDS}, got {self.kind!r}")
        object.__setattr__(self, "a_shape", tuple(int(v) for v in self.a_shape))
        object.__setattr__(self, "b_shape", tuple(int(v) for v in self.b_shape))

    def to_json(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict | None) -> "Structure":
        return cls(**data) if data else cls()

    def describe(self, rows: int, cols: int) -> str:
        """One line a person reads, e.g. `Kronecker A 8x16 * B 8x8 + sparse S 3.10% (412 entries)`."""
        if self.kind == "dense":
            return "dense"
        if self.kind == "lmf":
            return f"low rank {self.rank} (U {rows}x{self.rank}, V {self.rank}x{cols})"
        if self.kind == "hmf":
            return f"hybrid rank {self.rank} ({self.rank} dense rows, U {rows - self.rank}x{self.rank}, " \
                   f"V {self.rank}x{cols})"
        text = "Kronecker A {}x{} * B {}x{}".format(*self.a_shape, *self.b_shape)
        if self.kind == "dkp":
            text += f" + sparse S {self.density:.2%} ({final_nonzeros(self.density, rows, cols):,} entries)"
            text += f", co-matrix dropout {self.cmr:g}" if self.cmr else ""
        return text

    def check(self, rows: int, cols: int) -> None:
        if self.kind in ("lmf", "hmf") and not 0 < self.rank <= min(rows, cols):
            raise ValueError(f"{self.kind} rank must be in [1, {min(rows, cols)}] for a {rows}x{cols} matrix")
        if self.kind in ("kp", "dkp"):
            (a_in, a_out), (b_in, b_out) = self.a_shape, self.b_shape
            if a_in * b_in < rows or a_out * b_out < cols:
                raise ValueError(f"Kronecker factors {self.a_shape} (x) {self.b_shape} do not cover {rows}x{cols}")

    def parameter_count(self, rows: int, cols: int, nonzeros: int | None = None) -> int:
        """Stored values: factor entries, plus S's nonzeros for dkp (final density unless given)."""
        if self.kind == "dense":
            return rows * cols
        if self.kind == "lmf":
            return self.rank * (rows + cols)
        if self.kind == "hmf":
            return self.rank * cols + (rows - self.rank) * self.rank + self.rank * cols
        kp = int(np.prod(self.a_shape)) + int(np.prod(self.b_shape))
        if self.kind == "kp":
            return kp
        return kp + (nonzeros if nonzeros is not None else final_nonzeros(self.density, rows, cols))

    def storage_bytes(self, rows: int, cols: int, value_bytes: int = 1, nonzeros: int | None = None,
                      role: str = "fully_connected") -> int:
        """Bytes the deployed op stores for W: values at `value_bytes` each, S's indices in the
        sparse format the kernels read, and the quantisation parameters (`quantization_bytes`)."""
        quantization = self.quantization_bytes(rows, cols, role)
        if self.kind != "dkp":
            return self.parameter_count(rows, cols) * value_bytes + quantization
        nnz = nonzeros if nonzeros is not None else final_nonzeros(self.density, rows, cols)
        kp = (int(np.prod(self.a_shape)) + int(np.prod(self.b_shape))) * value_bytes
        return kp + sparse_storage_bytes(rows, cols, nnz, value_bytes) + quantization

    def quantization_bytes(self, rows: int, cols: int, role: str = "fully_connected") -> int:
        """The quantisation parameters of W's op (converters.custom_model), by the matrix's `role`
        (ROLES): a dense matrix is a builtin tensor with a float32 scale and an int64 zero point per
        output channel (one for an embedding table), or inside TFC_LSTM / TFC_GRU one float32 scale
        per column; a structured one is a TFC_ op with one float32 scale per factor or per factor
        column (docs/ops.md), plus its int16 intermediate's where it is multiplied (not looked up)."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        lookup = role == "lookup"
        if self.kind == "dense":
            return SCALE_BYTES * cols if role == "recurrent" else CHANNEL_QUANTIZATION_BYTES * (1 if lookup else cols)
        (_, a_out), (_, b_out) = self.a_shape, self.b_shape
        scales = {"lmf": 1 + cols, "hmf": 1 + 2 * cols, "kp": a_out + b_out, "dkp": a_out + b_out + 1}[self.kind]
        return SCALE_BYTES * (scales + (0 if lookup else 1))


def pruned_storage_bytes(rows: int, cols: int, nonzeros: int, role: str = "fully_connected") -> int:
    """A pruned matrix as the converter stores it: sparse (TFC_SPARSE_*, one float32 scale per
    output channel, one for a table) when that takes fewer value bytes than dense, else dense."""
    if stores_sparse(rows, cols, nonzeros):
        return sparse_storage_bytes(rows, cols, nonzeros) + SCALE_BYTES * (1 if role == "lookup" else cols)
    return Structure().storage_bytes(rows, cols, role=role)


def stores_sparse(rows: int, cols: int, nonzeros: int) -> bool:
    """Whether a pruned matrix is stored sparse: when it has entries and they take fewer bytes
    packed than dense. The planner counts and the converter writes by this one rule."""
    return 0 < nonzeros and sparse_storage_bytes(rows, cols, nonzeros) < rows * cols


def final_nonzeros(density: float, rows: int, cols: int) -> int:
    return int(round(density * rows * cols))


def sparse_storage_bytes(rows: int, cols: int, nonzeros: int, value_bytes: int = 1) -> int:
    """Bytes of a sparse rows x cols matrix with `nonzeros` entries (structures.sparse)."""
    return sparse.storage_bytes(rows, cols, nonzeros, value_bytes)
