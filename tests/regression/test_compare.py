"""tfcompress/regression/compare.py: two stages of a model compared over a split, thresholds as JUnit."""

from __future__ import annotations

from xml.etree import ElementTree

import numpy as np
import pytest

from tfcompress.regression import Check, Stage, compare, junit_xml
from tfcompress.runners import HostRunner
from tfcompress.tokenizer import WordTokenizer

LABELS = ("a", "b", "c")


def test_identical_stages_agree_exactly():
    scores = np.array([[5, -3, 1], [-9, 20, 0], [0, 0, 7]], dtype=np.int8)
    result = compare(Stage("golden", scores), Stage("board", scores.copy()), np.array([0, 1, 1]), LABELS)
    assert result["agreement"] == 1.0 and result["exact_match_rate"] == 1.0 and result["max_lsb_difference"] == 0
    assert result["accuracy"] == {"golden": 2 / 3, "board": 2 / 3} and result["worst"] == []
    assert result["per_class_accuracy_change"] == {} and result["lsb_histogram"] == {"0": 3}


def test_differences_are_counted_in_lsbs_and_the_changed_answers_come_first():
    golden = np.array([[5, -3, 1], [-9, 20, 0], [0, 0, 7], [1, 2, 3]], dtype=np.int8)
    board = golden.copy()
    board[0, 2] = 3       # 2 LSB, same answer
    board[2, 1] = 9       # 9 LSB, answer c -> b
    board[3, 0] = -128    # 129 LSB, same answer
    expected = np.array([0, 1, 2, 2])
    result = compare(Stage("golden", golden), Stage("board", board), expected, LABELS,
                     texts=["w", "x", "y", "z"])
    assert result["exact_match_rate"] == 0.25 and result["max_lsb_difference"] == 129
    assert result["lsb_histogram"] == {"0": 1, "2": 1, "9": 1, "129": 1}
    assert result["agreement"] == 0.75 and result["accuracy"] == {"golden": 1.0, "board": 0.75}
    assert result["per_class_accuracy_change"] == {"c": -0.5}
    assert [row["text"] for row in result["worst"]] == ["y", "z", "w"]  # the changed answer, then by gap
    assert result["worst"][0]["golden"] == "c" and result["worst"][0]["board"] == "b"


def test_float_against_int8_compares_answers_only():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]], dtype=np.float32)
    int8 = np.array([[10, 0, -5], [0, 9, 1]], dtype=np.int8)
    result = compare(Stage("float", probabilities), Stage("int8", int8), np.array([0, 2]), LABELS)
    assert "exact_match_rate" not in result and result["agreement"] == 0.5
    with pytest.raises(ValueError, match="do not answer the same 3 examples"):
        compare(Stage("float", probabilities), Stage("int8", int8), np.array([0, 1, 2]), LABELS)


def test_tflm_against_litert_reference_kernels(pooled_bundle, tiny_dataset):
    """A real pair that differs: LiteRT's reference kernels round FULLY_CONNECTED's requantisation
    once, TFLM twice (docs/interpreters.md), one LSB apart on some outputs."""
    tflite = (pooled_bundle / "model.tflite").read_bytes()
    tokenizer = WordTokenizer.load(pooled_bundle / "tokenizer.json")
    texts = [*tiny_dataset.test.texts, *tiny_dataset.valid.texts]
    expected = np.array([tiny_dataset.labels.index(i) for i in [*tiny_dataset.test.intents,
                                                                 *tiny_dataset.valid.intents]])
    stages = [Stage(name, HostRunner(tflite, tokenizer, name).run(texts).scores) for name in ("tflm", "litert-ref")]
    result = compare(*stages, expected, tuple(tiny_dataset.labels), texts)
    assert result["max_lsb_difference"] <= 1 and 0 < result["exact_match_rate"] <= 1


def test_checks_as_junit():
    checks = [Check("device vs golden: exact match rate", 1.0, 1.0),
              Check("int8 vs float: accuracy drop (points)", 0.8, 0.5, at_least=False)]
    assert [c.passed for c in checks] == [True, False]
    assert checks[1].message == "int8 vs float: accuracy drop (points): 0.8 (must be at most 0.5): FAILED by 0.3"
    suite = ElementTree.fromstring(junit_xml(checks)).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None
    assert "FAILED by 0.3" in cases[1].find("failure").get("message")
