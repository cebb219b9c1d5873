"""Choose a structure for every matrix of a model so the whole model meets a size target.

Sizes are the bytes the deployed int8 model stores (structures.spec): one byte per weight
value, four per bias (int32), S's indices in the sparse format the kernels read, and the
quantisation parameters of each matrix's op. Each compressible
matrix gets a budget proportional to size ** allocation (1: the same ratio for all); the
scale is found by bisection, so the plan is the largest (most accurate) one that fits.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from tfcompress.errors import TfcompressError
from tfcompress.structures.spec import Structure, pruned_storage_bytes, sparse_storage_bytes
from tfcompress.options import DEFAULT_ALLOCATION, DEFAULT_CMR, DEFAULT_DOPING_SHARE, METHODS

MIN_COMPRESSIBLE = 2048  # matrices smaller than this stay dense by default


class TargetError(TfcompressError):
    """The size target cannot be met; says the smallest size that can."""


@dataclass(frozen=True)
class MatrixPlan:
    name: str
    rows: int
    cols: int
    structure: Structure | None  # None for prune (see sparsity)
    bytes: int
    sparsity: float = 0.0  # prune: fraction of entries removed


def kronecker_candidates(rows: int, cols: int, max_padding: float = 0.05):
    """((a_in, a_out), (b_in, b_out), params) for factor splits that cover rows x cols with at
    most `max_padding` extra rows/columns."""
    def splits(k):
        out = []
        for a in range(1, k + 1):
            b = math.ceil(k / a)
            if a * b - k <= max(1, max_padding * k):
                out.append((a, b))
        return out

    found = {}
    for a_in, b_in in splits(rows):
        for a_out, b_out in splits(cols):
            params = a_in * a_out + b_in * b_out
            key = ((a_in, a_out), (b_in, b_out))
            found[key] = params
    return [(a, b, p) for (a, b), p in found.items()]


def _degenerate(candidate) -> bool:
    """A factor of one row makes the output columns of x @ (A ⊗ B) parallel in groups: a logits
    layer built so has classes that can never win (CLINC150 KP 38x: 8.6 % test). A factor of one
    column is fine there: it acts like a low-rank factorisation."""
    (a_in, _), (b_in, _), _ = candidate
    return min(a_in, b_in) == 1


def _best_kronecker(budget, candidates, size):
    """The candidate with the most parameters whose `size` (bytes) fits `budget`."""
    proper = [c for c in candidates if not _degenerate(c)] or candidates
    fitting = [c for c in proper if size(c) <= budget]
    if not fitting:  # the smallest there is
        return min(candidates, key=lambda c: (size(c), abs(c[0][0] * c[0][1] - c[1][0] * c[1][1])))
    # most parameters within budget; among equals the most balanced factors
    return max(fitting, key=lambda c: (c[2], -abs(c[0][0] * c[0][1] - c[1][0] * c[1][1])))


@functools.lru_cache(maxsize=1 << 16)
def _bytes(kind: str, rows: int, cols: int, role: str, rank: int = 0, a=(0, 0), b=(0, 0)) -> int:
    """Structure.storage_bytes, cached: the bisection asks for the same structures many times."""
    return Structure(kind, rank=rank, a_shape=a, b_shape=b).storage_bytes(rows, cols, role=role)


def structure_for_budget(method: str, rows: int, cols: int, budget: float, candidates=None,
                         doping_share: float = DEFAULT_DOPING_SHARE, cmr: float = DEFAULT_CMR,
                         role: str = "fully_connected") -> Structure:
    """The largest structure of `method` whose storage fits `budget` bytes (else the smallest)."""
    if method in ("lmf", "hmf"):
        rank = 1
        while rank < min(rows, cols) and _bytes(method, rows, cols, role, rank + 1) <= budget:
            rank += 1
        return Structure(method, rank=rank)
    candidates = candidates if candidates is not None else kronecker_candidates(rows, cols)

    def kp_size(c):
        return _bytes("kp", rows, cols, role, 0, c[0], c[1])

    if method == "kp":
        a, b, _ = _best_kronecker(budget, candidates, kp_size)
        return Structure("kp", a_shape=a, b_shape=b)
    if method == "dkp":
        a, b, _ = _best_kronecker(budget * (1 - doping_share), candidates, kp_size)
        room, cells = budget - _bytes("dkp", rows, cols, role, 0, a, b), rows * cols  # S empty: its scale only
        nnz = _largest_fitting(lambda k: sparse_storage_bytes(rows, cols, k) <= room, cells)
        return Structure("dkp", a_shape=a, b_shape=b, density=nnz / cells, cmr=cmr)
    raise ValueError(f"unknown method {method!r}")


def sparsity_for_budget(rows: int, cols: int, budget: float, role: str = "fully_connected") -> float:
    """prune: the smallest sparsity whose storage fits `budget` bytes (0 if dense fits)."""
    if Structure().storage_bytes(rows, cols, role=role) <= budget:
        return 0.0
    nnz = _largest_fitting(lambda k: pruned_storage_bytes(rows, cols, k, role) <= budget, rows * cols)
    return 1.0 - max(nnz, 1) / (rows * cols)


def _largest_fitting(fits, upper: int) -> int:
    """Largest k in [0, upper] with fits(k), for a monotone `fits` (binary search)."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo


def plan_compression(shapes: dict[str, tuple[int, int]], fixed_bytes: int, method: str, target_bytes: float,
                     only: set[str] | None = None, allocation: float = DEFAULT_ALLOCATION,
                     roles: dict[str, str] | None = None, **options) -> list[MatrixPlan]:
    """Plan every matrix (name -> (rows, cols)); `fixed_bytes` is what stays as is (biases);
    `roles` gives each matrix's structures.spec role (default fully_connected): its op's scales differ."""
    roles = roles or {}
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if only and set(only) - set(shapes):
        raise TfcompressError(f"no matrix named {sorted(set(only) - set(shapes))}; the model has {sorted(shapes)}")
    if not only:  # the large matrices first; all of them if that cannot meet the target
        large = {n for n, (r, c) in shapes.items() if r * c >= MIN_COMPRESSIBLE}
        if large and large != set(shapes):
            try:
                return plan_compression(shapes, fixed_bytes, method, target_bytes, only=large,
                                        allocation=allocation, roles=roles, **options)
            except TargetError:
                pass
        only = set(shapes)
    names = [n for n in shapes if n in only]
    kp_candidates = {n: kronecker_candidates(*shapes[n]) for n in names} if method in ("kp", "dkp") else {}
    fixed_bytes += sum(Structure().storage_bytes(r, c, role=roles.get(n, "fully_connected"))
                       for n, (r, c) in shapes.items()
                       if n not in names)

    def choose(name: str, budget: float) -> MatrixPlan:
        rows, cols = shapes[name]
        role = roles.get(name, "fully_connected")
        if method == "prune":
            sparsity = sparsity_for_budget(rows, cols, budget, role)
            nnz = round((1 - sparsity) * rows * cols)  # at least 1: a matrix of nothing is no layer
            return MatrixPlan(name, rows, cols, None, pruned_storage_bytes(rows, cols, nnz, role), sparsity)
        s = structure_for_budget(method, rows, cols, budget, kp_candidates.get(name), role=role, **options)
        return MatrixPlan(name, rows, cols, s, s.storage_bytes(rows, cols, role=role))

    def at_scale(scale: float) -> list[MatrixPlan]:
        # budget ~ size ** allocation: 1 gives every matrix the same ratio; below 1 small matrices
        # (a classifier's hidden and output layers) keep more of their rank than the embedding.
        return [choose(n, min(1.0, scale * (shapes[n][0] * shapes[n][1]) ** (allocation - 1))
                       * shapes[n][0] * shapes[n][1]) for n in names]

    def total(plans) -> int:
        return fixed_bytes + sum(p.bytes for p in plans)

    smallest = total([choose(n, 0) for n in names])
    if smallest > target_bytes:
        raise TargetError(f"cannot compress to {target_bytes:,.0f} bytes with {method}: the smallest achievable is "
                          f"{smallest:,} bytes" + (f" with only {', '.join(names)} compressed"
                                                   if len(names) < len(shapes) else ""))
    lo, hi = 0.0, 1.0
    while total(at_scale(hi)) <= target_bytes and hi < 1e12:
        lo, hi = hi, hi * 2
    for _ in range(50):  # the largest scale (largest model) that fits
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if total(at_scale(mid)) <= target_bytes else (lo, mid)
    plans = {p.name: p for p in at_scale(lo)}
    # Spend what rounding left over, largest matrices first.
    for name in sorted(names, key=lambda n: -shapes[n][0] * shapes[n][1]):
        slack = target_bytes - total(plans.values())
        bigger = choose(name, plans[name].bytes + slack)
        if bigger.bytes > plans[name].bytes and total(plans.values()) - plans[name].bytes + bigger.bytes <= target_bytes:
            plans[name] = bigger
    return [plans[n] for n in names]
