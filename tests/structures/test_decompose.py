import numpy as np
import pytest

from tfcompress.structures.decompose import hybrid, largest_entries, low_rank, nearest_kronecker

RNG = np.random.default_rng(0)


def test_low_rank_is_the_truncated_svd():
    w = RNG.normal(size=(20, 12))
    u, v = low_rank(w, 4)
    assert u.shape == (20, 4) and v.shape == (4, 12)
    s = np.linalg.svd(w, compute_uv=False)
    assert np.linalg.norm(w - u @ v) == pytest.approx(np.sqrt(np.sum(s[4:] ** 2)))  # Eckart-Young


def test_hybrid_keeps_the_head_rows_exactly_and_reaches_rank_2r():
    w = RNG.normal(size=(16, 10))
    head, u, v = hybrid(w, 3)
    approx = np.vstack([head, u @ v])
    np.testing.assert_array_equal(approx[:3], w[:3])
    assert np.linalg.matrix_rank(approx) == 6
    u3, v3 = low_rank(w, 3)
    assert np.linalg.norm(w - approx) < np.linalg.norm(w - u3 @ v3)


def test_nearest_kronecker_recovers_an_exact_product():
    a, b = RNG.normal(size=(3, 4)), RNG.normal(size=(5, 2))
    a2, b2 = nearest_kronecker(np.kron(a, b), (3, 4), (5, 2))
    np.testing.assert_allclose(np.kron(a2, b2), np.kron(a, b), atol=1e-10)


def test_nearest_kronecker_beats_perturbed_factors():
    w = RNG.normal(size=(12, 6))
    a, b = nearest_kronecker(w, (4, 3), (3, 2))
    best = np.linalg.norm(w - np.kron(a, b))
    for _ in range(20):
        assert best <= np.linalg.norm(w - np.kron(a + 0.01 * RNG.normal(size=a.shape), b)) + 1e-12
    with pytest.raises(ValueError, match="do not tile"):
        nearest_kronecker(w, (4, 3), (2, 2))


def test_largest_entries_is_row_major_and_stable():
    r = np.array([[1.0, -3.0], [3.0, 0.5]])
    s = largest_entries(r, 2)
    assert s.rows.tolist() == [0, 1] and s.cols.tolist() == [1, 0] and s.values.tolist() == [-3.0, 3.0]
