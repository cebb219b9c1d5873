"""tfcompress/compression/search.py: the vocabulary chosen by validation."""

from __future__ import annotations

from tfcompress.compression.compress import CompressOptions, compress_model
from tfcompress.compression.search import PROBE_EPOCHS, Probe, choose_vocabulary, vocabulary_candidates
from tfcompress.models import matrices


def test_candidates_are_the_vocabulary_and_its_fractions():
    assert vocabulary_candidates(3000) == [3000, 1500, 750, 375, 187]
    assert vocabulary_candidates(64) == [64, 32, 16]
    assert vocabulary_candidates(20) == [20]


def test_the_best_validation_score_wins_ties_to_the_larger_vocabulary():
    scores = {3000: 0.70, 1500: 0.75, 750: 0.75, 375: None, 187: 0.60}
    seen = []

    def probe(vocab, options):
        seen.append((vocab, options.epochs))
        return Probe(vocab, 1000, scores[vocab], "plan")

    vocab, probes = choose_vocabulary(3000, probe, CompressOptions(epochs=30))
    assert vocab == 1500 and [p.vocab_size for p in probes] == [3000, 1500, 750, 375, 187]
    assert {epochs for _, epochs in seen} == {PROBE_EPOCHS}
    assert choose_vocabulary(3000, lambda v, o: Probe(v, 0, None, ""), CompressOptions())[0] == 3000


def test_compress_chooses_the_vocabulary_unless_forced(pooled_model, tiny_dataset):
    heard = []
    options = CompressOptions(method="lmf", target_ratio=2, epochs=2)
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False,
                                        log=heard.append)
    vocabulary = report["fine_tuning"]["vocabulary"]
    probes = {p["vocab_size"]: p["valid_accuracy"] for p in vocabulary["probes"]}
    whole = pooled_model.config.vocab_size
    assert vocabulary["chosen_by"] == "validation" and list(probes) == vocabulary_candidates(whole)
    chosen = vocabulary["vocab_size"]
    assert probes[chosen] == max(a for a in probes.values() if a is not None)
    assert compressed.config.vocab_size == chosen == matrices(compressed.model)["embedding"].rows
    assert any(m.startswith(f"choosing the vocabulary by validation: {len(probes)} candidates") for m in heard)
    assert f"vocabulary: {chosen:,} ids (of {whole})" in heard

    forced, report = compress_model(pooled_model, tiny_dataset, CompressOptions(method="lmf", target_ratio=2,
                                                                                epochs=2, vocab_size=chosen),
                                    verbose=0, measure_tflite=False)
    assert report["fine_tuning"]["vocabulary"] == {"vocab_size": chosen, "of": whole, "chosen_by": "--vocab-size",
                                                   "probes": []}
    for a, b in zip(forced.model.get_weights(), compressed.model.get_weights()):  # the same final run
        assert (a == b).all()


def test_method_auto_tries_every_method_and_keeps_the_best_on_validation(pooled_model, tiny_dataset):
    from tests.helpers import tiny_ratio
    from tfcompress.compression.compress import format_report
    from tfcompress.options import METHODS

    heard = []
    options = CompressOptions(method="auto", target_ratio=tiny_ratio("dkp"), epochs=1)
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
