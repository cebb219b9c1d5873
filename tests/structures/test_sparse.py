"""tfcompress.structures.sparse: the encoding round-trips, and its length is what the planner counts."""

import numpy as np
import pytest

from tfcompress.structures.sparse import SparseMatrix, coo_bytes, csr_bytes, storage_bytes


@pytest.mark.parametrize("rows,cols,nnz,background", [(4000, 64, 974, 0), (64, 128, 306, 0), (300, 70, 2000, 0),
                                                      (1, 1, 1, 0), (5, 300, 0, 3), (70000, 2, 50, -5)])
def test_round_trip_and_length(rows, cols, nnz, background):
    rng = np.random.default_rng(rows + nnz)
    dense = np.full((rows, cols), background, np.int8)
    values = rng.integers(-128, 128, nnz).astype(np.int8)
    values[values == background] = background + 1
    dense.flat[rng.choice(rows * cols, nnz, replace=False)] = values
    sparse = SparseMatrix.from_dense(dense, background)
    data = sparse.encode()
    assert len(data) == min(coo_bytes(rows, cols, nnz), csr_bytes(rows, cols, nnz))
    assert len(data) == storage_bytes(rows, cols, nnz)
    np.testing.assert_array_equal(SparseMatrix.decode(data, rows, cols, nnz, background).to_dense(), dense)


def test_damaged_bytes_are_refused():
    sparse = SparseMatrix.from_dense(np.eye(4, dtype=np.int8))
    data = bytearray(sparse.encode())
    with pytest.raises(ValueError, match="bytes, expected"):
        SparseMatrix.decode(bytes(data[:-1]), 4, 4, 4)
    data[0] = 9  # a row index past the matrix
    with pytest.raises(ValueError, match="out of"):
        SparseMatrix.decode(bytes(data), 4, 4, 4)
