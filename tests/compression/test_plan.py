import pytest

from tfcompress.compression.plan import (TargetError, kronecker_candidates, plan_compression, sparsity_for_budget,
                                         structure_for_budget)
from tfcompress.structures.spec import Structure, pruned_storage_bytes

SHAPES = {"embedding": (8000, 64), "hidden": (64, 128), "logits": (128, 151)}
ROLES = {"embedding": "lookup"}
FIXED = (128 + 151) * 4
DENSE = {n: Structure().storage_bytes(r, c, role=ROLES.get(n, "fully_connected")) for n, (r, c) in SHAPES.items()}


@pytest.mark.parametrize("method,ratio", [(m, r) for m in ("lmf", "hmf", "kp", "dkp", "prune") for r in (10, 25)]
                         + [("kp", 50), ("dkp", 50), ("prune", 50)])  # 50x: low rank's scales alone exceed it
def test_plans_meet_the_whole_model_target_closely(method, ratio):
    target = (FIXED + sum(DENSE.values())) / ratio
    plans = plan_compression(SHAPES, FIXED, method, target, roles=ROLES)
    total = FIXED + sum(p.bytes for p in plans) + sum(b for n, b in DENSE.items() if n not in {p.name for p in plans})
    assert total <= target
    assert total >= 0.85 * target  # rounding of ranks / shapes leaves little unused


def test_unreachable_target_names_the_smallest_size():
    with pytest.raises(TargetError, match=r"smallest achievable is [0-9,]+ bytes"):
        plan_compression(SHAPES, FIXED, "lmf", 2000)


def test_only_named_layers_and_unknown_names():
    plans = plan_compression(SHAPES, FIXED, "lmf", sum(DENSE.values()) / 5, only={"embedding"})
    assert [p.name for p in plans] == ["embedding"]
    with pytest.raises(Exception, match="no matrix named"):
        plan_compression(SHAPES, FIXED, "lmf", sum(DENSE.values()) / 5, only={"decoder"})


def test_structures_fit_their_budget():
    for method in ("lmf", "hmf", "kp", "dkp"):
        s = structure_for_budget(method, 500, 64, 3000)
        assert s.storage_bytes(500, 64) <= 3000
    dkp = structure_for_budget("dkp", 500, 64, 3000, doping_share=0.5, cmr=0.3)
    assert 0 < dkp.density < 0.05 and dkp.cmr == 0.3


def test_kronecker_candidates_cover_with_little_padding():
    for (a_in, a_out), (b_in, b_out), params in kronecker_candidates(1000, 64):
        assert 1000 <= a_in * b_in <= 1050 and 64 <= a_out * b_out <= 67
        assert params == a_in * a_out + b_in * b_out


def test_prune_sparsity_counts_indices_honestly():
    sparsity = sparsity_for_budget(100, 100, 2000)
    nnz = round((1 - sparsity) * 10000)
    assert pruned_storage_bytes(100, 100, nnz) <= 2000 < pruned_storage_bytes(100, 100, nnz + 1)
    assert sparsity_for_budget(10, 10, 10 * 10 + 12 * 10) == 0.0  # dense, with its per-channel quantisation


def test_kronecker_factors_never_have_a_single_row_when_a_proper_split_exists():
    # 128x151 at ~1.5 kB: the most parameters would be A 1x13, B 128x12 (classes parallel in groups)
    plan, = plan_compression({"logits": (128, 151)}, 0, "kp", 1549)
    assert min(plan.structure.a_shape[0], plan.structure.b_shape[0]) >= 2 and plan.bytes <= 1549
