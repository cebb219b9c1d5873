"""tfcompress/compression/search.py: the vocabulary and the budget's allocation chosen by validation;
compress --method auto."""

from __future__ import annotations

from tests.helpers import tiny_compress_options, tiny_ratio
from tfcompress.compression.compress import CompressOptions, compress_model, format_report
from tfcompress.compression.search import (ALLOCATIONS, PROBE_EPOCHS, Candidate, Probe, search_plan,
                                           vocabulary_candidates)
from tfcompress.models import matrices
from tfcompress.options import DEFAULT_ALLOCATION, METHODS


def test_candidates_are_the_vocabulary_and_its_fractions():
    assert vocabulary_candidates(3000) == [3000, 1500, 750, 375, 187]
    assert vocabulary_candidates(64) == [64, 32, 16]
    assert vocabulary_candidates(20) == [20]


def _probing(scores):
    seen = []

    def probe(candidate, options):
        seen.append((candidate, options.epochs))
        score = scores(candidate)
        return Probe(candidate, 1000, score, "plan")

    return probe, seen


def test_the_vocabulary_then_the_allocation_with_the_best_validation_score():
    vocab = {3000: 0.70, 1500: 0.75, 750: 0.75, 375: None, 187: 0.60}
    probe, seen = _probing(lambda c: vocab[c.vocab_size] + (0.01 if c.allocation == 0.75 else 0.0)
                           if vocab[c.vocab_size] is not None else None)
    chosen, probes = search_plan(3000, probe, CompressOptions(epochs=30))
    assert chosen == Candidate(1500, 0.75)  # 1500 ties 750: the larger vocabulary
    assert [c.vocab_size for c, _ in seen[:5]] == [3000, 1500, 750, 375, 187]
    assert [c.allocation for c, _ in seen[5:]] == [a for a in ALLOCATIONS if a != DEFAULT_ALLOCATION]
    assert {epochs for _, epochs in seen} == {PROBE_EPOCHS} and len(probes) == len(seen)


def test_options_fix_their_stage():
    probe, seen = _probing(lambda c: 0.5)
    chosen, _ = search_plan(3000, probe, CompressOptions(vocab_size=800, allocation=0.3))
    assert chosen == Candidate(800, 0.3) and seen == []
    chosen, _ = search_plan(3000, probe, CompressOptions(vocab_size=800))
    assert chosen == Candidate(800, DEFAULT_ALLOCATION) and {c.vocab_size for c, _ in seen} == {800}
    probe, _ = _probing(lambda c: None)  # nothing meets the target: the whole vocabulary, planned to say why
    assert search_plan(3000, probe, CompressOptions())[0] == Candidate(3000, DEFAULT_ALLOCATION)


def test_compress_searches_the_plan_and_its_final_run_is_the_forced_one(pooled_model, tiny_dataset):
    heard = []
    options = CompressOptions(method="lmf", target_ratio=2, epochs=2)
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False,
                                        log=heard.append)
    search = report["fine_tuning"]["plan_search"]
    whole = pooled_model.config.vocab_size
    probed = {(p["vocab_size"], p["allocation"]): p["valid_accuracy"] for p in search["probes"]}
    assert {v for v, _ in probed} == set(vocabulary_candidates(whole))
    chosen = (search["vocab_size"], search["allocation"])
    assert probed[chosen] == max(a for a in probed.values() if a is not None)
    assert compressed.config.vocab_size == chosen[0] == matrices(compressed.model)["embedding"].rows
    assert any(m.startswith("choosing the vocabulary by validation") for m in heard)
    assert f"plan: {chosen[0]:,} ids (of {whole}), allocation {chosen[1]:g}" in heard
    assert "chosen by validation among" in format_report(report)

    forced, report = compress_model(pooled_model, tiny_dataset,
                                    CompressOptions(method="lmf", target_ratio=2, epochs=2, vocab_size=chosen[0],
                                                    allocation=chosen[1]), verbose=0, measure_tflite=False)
    assert report["fine_tuning"]["plan_search"]["probes"] == []
    for a, b in zip(forced.model.get_weights(), compressed.model.get_weights()):
        assert (a == b).all()


def test_method_auto_tries_every_method_and_keeps_the_best_on_validation(pooled_model, tiny_dataset):
    heard = []
    options = tiny_compress_options(pooled_model, "auto", target_ratio=tiny_ratio("dkp"), epochs=1)  # plans fixed
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False,
                                        log=heard.append)
    rows = report["auto"]["methods"]
    assert [r["method"] for r in rows] == list(METHODS)
    reached = [r for r in rows if "error" not in r]
    assert all(r["bytes"] <= report["target_bytes"] for r in reached)
    kept = max(reached, key=lambda r: (r["valid_accuracy"], -r["bytes"]))
    assert report["auto"]["chosen"] == report["method"] == kept["method"]
    assert report["accuracy_after"]["valid"] == kept["valid_accuracy"]
    assert any("<- kept" in line for line in heard[-1].splitlines()) and "method auto:" in format_report(report)
    assert compressed.info["compression"]["auto"]["chosen"] == kept["method"]
