"""Structured weight matrices in Keras: the one place their training math lives.

A `StructuredMatrix` is a rows x cols matrix W stored in one of five forms (the spec and byte
count: tfcompress.structures.spec) and used either as `x @ W` (dense and recurrent kernels,
Keras layout: rows = inputs) or as a row lookup (embedding tables: rows = token ids). The
factored forms are never multiplied out; DKP's S is a dense rows x cols variable times its
0/1 mask, so training holds it at full size.

    dense  W
    lmf    W = U V                       U rows x r, V r x cols
    hmf    W[:r] = H, W[r:] = U V        the first r rows dense (for an embedding: the r most
                                         frequent words), the rest at rank r; rank up to 2r
    kp     W = (A (x) B)[:rows, :cols]   A a_in x a_out, B b_in x b_out; x @ (A (x) B) is
                                         vec(A^T X B) with X = x as a_in x b_in (no kron formed)
    dkp    W = kp + S                    S sparse ("doping"); starts dense and its mask is
                                         annealed to `density`; co-matrix dropout (`cmr`) on
                                         S's contribution lets the Kronecker part stand alone
"""

from __future__ import annotations

import numpy as np

from tfcompress.backend import keras, tf
from tfcompress.structures import decompose
from tfcompress.structures.spec import Structure, final_nonzeros

class StructuredMatrix:
    """The weights of one structured matrix, created on (and tracked by) a Keras layer."""

    def __init__(self, layer: keras.layers.Layer, name: str, rows: int, cols: int, structure: Structure,
                 initializer="glorot_uniform", role: str = "fully_connected"):
        structure.check(rows, cols)
        self.rows, self.cols, self.structure, self.name = rows, cols, structure, name
        self.role = role  # structures.spec.ROLES: the op that uses W, and so the scales it stores
        def add(suffix, shape, init=initializer, trainable=True):
            init = keras.initializers.get(init)  # a fresh instance per weight: factors differ
            return layer.add_weight(f"{name}_{suffix}" if suffix else name, shape=shape,
                                    initializer=init.__class__.from_config(init.get_config()), trainable=trainable)

        kind, r = structure.kind, structure.rank
        if kind == "dense":
            self.w = add("", (rows, cols))
        elif kind == "lmf":
            self.u, self.v = add("u", (rows, r)), add("v", (r, cols))
        elif kind == "hmf":
            self.head, self.u, self.v = add("head", (r, cols)), add("u", (rows - r, r)), add("v", (r, cols))
        else:
            self.a, self.b = add("a", structure.a_shape), add("b", structure.b_shape)
            if kind == "dkp":
                self.s = add("s", (rows, cols), "zeros")
                self.s_mask = add("s_mask", (rows, cols), "ones", trainable=False)
        self._cmr = keras.layers.Dropout(structure.cmr) if kind == "dkp" and structure.cmr > 0 else None

    # -- forward math -------------------------------------------------------------------------
    def matmul(self, x, training=None):
        """x[..., rows] @ W -> [..., cols]."""
        kind = self.structure.kind
        if kind == "dense":
            return _dot(x, self.w)
        if kind == "lmf":
            return _dot(_dot(x, self.u), self.v)
        if kind == "hmf":
            r = self.structure.rank
            return _dot(x[..., :r], self.head) + _dot(_dot(x[..., r:], self.u), self.v)
        y = self._kron_matmul(x)
        if kind == "dkp":
            s = self.s * self.s_mask
            y = y + _dot(x, self._cmr(s, training=training) if self._cmr is not None else s)
        return y

    def gather_rows(self, ids, training=None):
        """Rows W[ids] -> [..., cols] (ids int32, any shape)."""
        kind = self.structure.kind
        if kind == "dense":
            return tf.gather(self.w, ids)
        if kind == "lmf":
            return _dot(tf.gather(self.u, ids), self.v)
        if kind == "hmf":
            # Zero rows appended / prepended so each half contributes nothing to the other's ids.
            r = self.structure.rank
            head = tf.concat([self.head, tf.zeros([1, self.cols])], 0)
            u = tf.concat([tf.zeros([1, r]), self.u], 0)
            return tf.gather(head, tf.minimum(ids, r)) + _dot(tf.gather(u, tf.maximum(ids - r + 1, 0)), self.v)
        (_, a_out), (b_in, b_out) = self.structure.a_shape, self.structure.b_shape
        hi = tf.truncatediv(ids, b_in)  # ids >= 0, so this is floor division (TFLM: int32 DIV)
        a_rows, b_rows = tf.gather(self.a, hi), tf.gather(self.b, ids - hi * b_in)
        rows = tf.reshape(a_rows[..., :, None] * b_rows[..., None, :], tf.concat([tf.shape(ids), [a_out * b_out]], 0))
        rows = rows[..., : self.cols]
        if kind == "dkp":
            sparse = tf.gather(self.s * self.s_mask, ids)
            rows = rows + (self._cmr(sparse, training=training) if self._cmr is not None else sparse)
        return rows

    def _kron_matmul(self, x):
        (a_in, a_out), (b_in, b_out) = self.structure.a_shape, self.structure.b_shape
        lead = tf.shape(x)[:-1]
        flat = tf.reshape(x, [-1, self.rows])
        if a_in * b_in > self.rows:
            flat = tf.pad(flat, [[0, 0], [0, a_in * b_in - self.rows]])
        t = tf.matmul(tf.reshape(flat, [-1, a_in, b_in]), self.b)  # X B: [n, a_in, b_out]
        t = tf.matmul(tf.transpose(t, [0, 2, 1]), self.a)  # (X B)^T A = (A^T X B)^T: [n, b_out, a_out]
        y = tf.reshape(tf.transpose(t, [0, 2, 1]), [-1, a_out * b_out])[:, : self.cols]
        return tf.reshape(y, tf.concat([lead, [self.cols]], 0))

    # -- dense view, initialisation, accounting ---------------------------------------------------
    def to_dense(self) -> np.ndarray:
        """The represented matrix (for tests, reports and initialisation checks; not the forward pass)."""
        kind = self.structure.kind
        if kind == "dense":
            return self.w.numpy()
        if kind == "lmf":
            return self.u.numpy() @ self.v.numpy()
        if kind == "hmf":
            return np.vstack([self.head.numpy(), self.u.numpy() @ self.v.numpy()])
        w = np.kron(self.a.numpy(), self.b.numpy())[: self.rows, : self.cols]
        return w + self.s.numpy() * self.s_mask.numpy() if kind == "dkp" else w

    def assign_from_dense(self, w: np.ndarray) -> None:
        """Initialise from a trained dense matrix: SVD (lmf, hmf), nearest Kronecker product (kp),
        and for dkp the whole residual as S (dense, before annealing)."""
        w = np.asarray(w, dtype=np.float32)
        if w.shape != (self.rows, self.cols):
            raise ValueError(f"{self.name}: expected a {self.rows}x{self.cols} matrix, got {w.shape}")
        kind, r = self.structure.kind, self.structure.rank
        if kind == "dense":
            self.w.assign(w)
        elif kind == "lmf":
            u, v = decompose.low_rank(w, r)
            self.u.assign(u), self.v.assign(v)
        elif kind == "hmf":
            head, u, v = decompose.hybrid(w, r)
            self.head.assign(head), self.u.assign(u), self.v.assign(v)
        else:
            (a_in, a_out), (b_in, b_out) = self.structure.a_shape, self.structure.b_shape
            padded = np.zeros((a_in * b_in, a_out * b_out), np.float32)
            padded[: self.rows, : self.cols] = w
            a, b = decompose.nearest_kronecker(padded, self.structure.a_shape, self.structure.b_shape)
            self.a.assign(a), self.b.assign(b)
            if kind == "dkp":
                self.s.assign(w - np.kron(a, b)[: self.rows, : self.cols])
                self.s_mask.assign(np.ones_like(w))

    def set_density(self, density: float) -> None:
        """dkp: keep the largest-magnitude `density` fraction of S (already-dropped entries stay dropped)."""
        s = (self.s * self.s_mask).numpy()
        keep = final_nonzeros(density, self.rows, self.cols)
        entries = decompose.largest_entries(s, keep)
        mask = np.zeros_like(s)
        mask[entries.rows, entries.cols] = 1.0
        mask *= (s != 0)
        self.s_mask.assign(mask)
        self.s.assign(s * mask)

    @property
    def nonzeros(self) -> int | None:
        return int(np.count_nonzero(self.s_mask.numpy())) if self.structure.kind == "dkp" else None

    def parameter_count(self) -> int:
        return self.structure.parameter_count(self.rows, self.cols, self.nonzeros)

    def storage_bytes(self, value_bytes: int = 1) -> int:
        return self.structure.storage_bytes(self.rows, self.cols, value_bytes, self.nonzeros, self.role)

    @property
    def dense_parameter_count(self) -> int:
        return self.rows * self.cols


def _dot(x, w):
    return tf.matmul(x, w)  # a 2-D w broadcasts over x's leading dimensions
