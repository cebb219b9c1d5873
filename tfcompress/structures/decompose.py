"""Initialise structured matrices from a trained dense matrix W (Keras layout: inputs x outputs).

    LMF  W ~ U V                      truncated SVD, rank r
    HMF  W[:r] dense, W[r:] ~ U V     the first r rows kept, the rest at rank r (rank up to 2r)
    KP   W ~ A (x) B                  nearest Kronecker product (Van Loan & Pitsianis, 1993)
    DKP  W ~ A (x) B + S              S: the KP residual, annealed to its largest entries
                                      (`largest_entries`, StructuredMatrix.set_density)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def low_rank(w: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """U (m x r), V (r x n) minimising ||W - U V||_F, the singular values split evenly."""
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    root = np.sqrt(s[:rank])
    return u[:, :rank] * root, root[:, None] * vt[:rank]


def hybrid(w: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(W[:rank], U, V) with W[rank:] ~ U V: the rows kept dense and the factorised rest."""
    head = w[:rank].copy()
    u, v = low_rank(w[rank:], rank)
    return head, u, v


def nearest_kronecker(w: np.ndarray, a_shape: tuple[int, int], b_shape: tuple[int, int]):
    """A, B minimising ||W - A (x) B||_F: rank-1 SVD of W rearranged so A (x) B becomes vec(A) vec(B)^T."""
    (m1, n1), (m2, n2) = a_shape, b_shape
    if w.shape != (m1 * m2, n1 * n2):
        raise ValueError(f"factor shapes {a_shape} x {b_shape} do not tile a {w.shape} matrix")
    # rearranged[i*n1 + j] = vec(block (i, j)), each block m2 x n2
    rearranged = w.reshape(m1, m2, n1, n2).transpose(0, 2, 1, 3).reshape(m1 * n1, m2 * n2)
    u, s, vt = np.linalg.svd(rearranged, full_matrices=False)
    root = np.sqrt(s[0])
    return (u[:, 0] * root).reshape(m1, n1), (vt[0] * root).reshape(m2, n2)


@dataclass(frozen=True)
class SparseEntries:
    """A sparse matrix as (row, column, value) triples in row-major order."""

    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.values.dtype)
        out[self.rows, self.cols] = self.values
        return out


def largest_entries(residual: np.ndarray, count: int) -> SparseEntries:
    """The `count` entries of largest magnitude (ties broken by position, so the choice is stable)."""
    flat = residual.ravel()
    count = min(count, flat.size)
    order = np.argsort(-np.abs(flat), kind="stable")[:count]
    order.sort()
    rows, cols = np.unravel_index(order, residual.shape)
    return SparseEntries(residual.shape, rows.astype(np.int32), cols.astype(np.int32), flat[order].copy())
