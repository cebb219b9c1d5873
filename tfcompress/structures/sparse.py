"""The sparse matrix encodings the kernels read, and their byte counts.

A rows x cols int8 matrix keeps the entries that differ from a background value (0 for
weights, the zero point for an embedding table), sorted by row then column, in one of:

    coo  row[nnz], col[nnz], values[nnz]
    csr  row_ptr[rows + 1] (row r's entries are k in [row_ptr[r], row_ptr[r + 1])), col[nnz], values[nnz]

indices unsigned little-endian, each array as narrow as 1, 2 or 4 bytes allows (row: rows
values, col: cols values, row_ptr: nnz + 1 values); values int8. `encode` writes the
smaller of the two, and the planner counts exactly that (`storage_bytes`): the formats the
kernels read, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMATS = ("coo", "csr")
_WIDTHS = {1: np.dtype("<u1"), 2: np.dtype("<u2"), 4: np.dtype("<u4")}


def index_bytes(limit: int) -> int:
    """Bytes of an unsigned index that takes `limit` distinct values (0 .. limit - 1)."""
    return 1 if limit <= 1 << 8 else 2 if limit <= 1 << 16 else 4


def coo_bytes(rows: int, cols: int, nonzeros: int, value_bytes: int = 1) -> int:
    return nonzeros * (value_bytes + index_bytes(rows) + index_bytes(cols))


def csr_bytes(rows: int, cols: int, nonzeros: int, value_bytes: int = 1) -> int:
    return nonzeros * (value_bytes + index_bytes(cols)) + (rows + 1) * index_bytes(nonzeros + 1)


def storage_bytes(rows: int, cols: int, nonzeros: int, value_bytes: int = 1) -> int:
    """What the planner counts for a sparse matrix: the length of its `encode`d bytes."""
    if nonzeros == 0:
        return 0
    return min(coo_bytes(rows, cols, nonzeros, value_bytes), csr_bytes(rows, cols, nonzeros, value_bytes))


def encoded_format(rows: int, cols: int, nonzeros: int) -> str:
    """The format `encode` writes: the smaller of those the kernels read."""
    return "coo" if coo_bytes(rows, cols, nonzeros) < csr_bytes(rows, cols, nonzeros) else "csr"


@dataclass(frozen=True)
class SparseMatrix:
    rows: int
    cols: int
    row: np.ndarray  # int64 [nnz], sorted
    col: np.ndarray  # int64 [nnz], sorted within a row
    values: np.ndarray  # int8 [nnz]
    background: int = 0

    @property
    def nonzeros(self) -> int:
        return int(len(self.values))

    @property
    def format(self) -> str:
        return encoded_format(self.rows, self.cols, self.nonzeros)

    @classmethod
    def from_dense(cls, matrix: np.ndarray, background: int = 0) -> "SparseMatrix":
        matrix = np.asarray(matrix)
        if matrix.dtype != np.int8 or matrix.ndim != 2:
            raise ValueError(f"expected an int8 matrix, got {matrix.dtype} {matrix.shape}")
        rows, cols = np.nonzero(matrix != background)  # row-major order: sorted by row, then column
        return cls(matrix.shape[0], matrix.shape[1], rows.astype(np.int64), cols.astype(np.int64),
                   matrix[rows, cols].astype(np.int8), background)

    def to_dense(self) -> np.ndarray:
        dense = np.full((self.rows, self.cols), self.background, np.int8)
        dense[self.row, self.col] = self.values
        return dense

    def row_ptr(self) -> np.ndarray:
        return np.searchsorted(self.row, np.arange(self.rows + 1), side="left").astype(np.int64)

    def encode(self) -> bytes:
        """The bytes of `self.format`: exactly coo_bytes or csr_bytes long."""
        nnz = self.nonzeros
        if self.format == "coo":
            first = self.row.astype(_WIDTHS[index_bytes(self.rows)]).tobytes()
        else:
            first = self.row_ptr().astype(_WIDTHS[index_bytes(nnz + 1)]).tobytes()
        return first + self.col.astype(_WIDTHS[index_bytes(self.cols)]).tobytes() + self.values.tobytes()

    @classmethod
    def decode(cls, data: bytes, rows: int, cols: int, nonzeros: int, background: int = 0) -> "SparseMatrix":
        """The inverse of `encode`; ValueError when the bytes cannot be such a matrix."""
        fmt = encoded_format(rows, cols, nonzeros)
        expected = (coo_bytes if fmt == "coo" else csr_bytes)(rows, cols, nonzeros)
        if len(data) != expected:
            raise ValueError(f"{len(data)} bytes, expected {expected} for {fmt} with {nonzeros} entries")
        if fmt == "coo":
            width = index_bytes(rows)
            row = np.frombuffer(data, _WIDTHS[width], nonzeros).astype(np.int64)
            offset = nonzeros * width
        else:
            width = index_bytes(nonzeros + 1)
            row_ptr = np.frombuffer(data, _WIDTHS[width], rows + 1).astype(np.int64)
            if row_ptr[0] != 0 or row_ptr[-1] != nonzeros or np.any(np.diff(row_ptr) < 0):
                raise ValueError("row pointers out of order or range")
            row = np.repeat(np.arange(rows), np.diff(row_ptr))
            offset = (rows + 1) * width
        col = np.frombuffer(data, _WIDTHS[index_bytes(cols)], nonzeros, offset).astype(np.int64)
        values = np.frombuffer(data, np.int8, nonzeros, offset + nonzeros * index_bytes(cols)).copy()
        if np.any(row >= rows) or np.any(col >= cols) or np.any(np.diff(row * cols + col) <= 0):
            raise ValueError("entries out of range or not sorted by row and column")
        return cls(rows, cols, row, col, values, background)
