"""Comparing two stages of a model over one split.

A stage is the same utterances run somewhere: the Keras float model, the desktop golden, the
board. `compare` says how two stages differ: accuracy and macro-F1 of each, top-1 agreement,
for two int8 stages the exact-match rate and the differences in LSBs, per-class accuracy
changes and the worst examples. `Check`s hold thresholds against those numbers, and
`junit_xml` writes them as JUnit test cases (one per check, failures carrying the numbers), the
format CI systems display.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

import numpy as np

from tfcompress.metrics import macro_f1


@dataclass(frozen=True)
class Stage:
    """One stage's answers: `scores` [n, labels] (int8 outputs, or float probabilities)."""

    name: str
    scores: np.ndarray

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.scores, axis=1)  # the first of equal scores, as the board's harness

    @property
    def int8(self) -> bool:
        return self.scores.dtype == np.int8


def compare(a: Stage, b: Stage, expected: np.ndarray, labels: tuple[str, ...], texts: list[str] | None = None,
            worst: int = 10) -> dict:
    """How stage `b` differs from stage `a` over examples whose true labels are `expected`."""
    if a.scores.shape != b.scores.shape or len(expected) != a.scores.shape[0]:
        raise ValueError(f"{a.name} {a.scores.shape} and {b.name} {b.scores.shape} do not answer the same "
                         f"{len(expected)} examples")
    expected = np.asarray(expected)
    pa, pb = a.predictions, b.predictions
    result = {
        "a": a.name, "b": b.name, "examples": int(len(expected)),
        "accuracy": {a.name: float(np.mean(pa == expected)), b.name: float(np.mean(pb == expected))},
        "macro_f1": {a.name: macro_f1(expected, pa, len(labels)), b.name: macro_f1(expected, pb, len(labels))},
        "agreement": float(np.mean(pa == pb)),
        "per_class_accuracy_change": _per_class_change(expected, pa, pb, labels),
    }
    lsb = None
    if a.int8 and b.int8:
        lsb = np.abs(a.scores.astype(np.int16) - b.scores.astype(np.int16)).max(axis=1)
        result["exact_match_rate"] = float(np.mean(lsb == 0))
        result["max_lsb_difference"] = int(lsb.max()) if len(lsb) else 0
        values, counts = np.unique(lsb, return_counts=True)
        result["lsb_histogram"] = {str(int(v)): int(c) for v, c in zip(values, counts)}
    result["worst"] = _worst(a, b, expected, labels, texts, lsb, worst)
    return result


def _per_class_change(expected, pa, pb, labels) -> dict:
    changes = {}
    for c, label in enumerate(labels):
        rows = expected == c
        if rows.any():
            change = float(np.mean(pb[rows] == c) - np.mean(pa[rows] == c))
            if change:
                changes[label] = change
    return changes


def _worst(a: Stage, b: Stage, expected, labels, texts, lsb, count: int) -> list[dict]:
    """The examples where the stages differ most: a changed answer first, then the largest LSB gap."""
    disagree = a.predictions != b.predictions
    gap = lsb if lsb is not None else np.zeros(len(expected), dtype=np.int16)
    order = np.lexsort((-gap, ~disagree))  # disagreements first, then by gap, largest first
    rows = []
    for i in order[:count]:
        if not disagree[i] and gap[i] == 0:
            break
        rows.append({"index": int(i), "text": texts[i] if texts is not None else None,
                     "expected": labels[int(expected[i])] if expected[i] >= 0 else "(absent from training)",
                     a.name: labels[int(a.predictions[i])], b.name: labels[int(b.predictions[i])],
                     "lsb_difference": int(gap[i]),
                     "scores": {a.name: a.scores[i].tolist(), b.name: b.scores[i].tolist()}})
    return rows


@dataclass(frozen=True)
class Check:
    """A threshold on a comparison: `value` must be at least (or at most) `limit`."""

    name: str
    value: float
    limit: float
    at_least: bool = True

    @property
    def passed(self) -> bool:
        return self.value >= self.limit if self.at_least else self.value <= self.limit

    @property
    def message(self) -> str:
        relation = "at least" if self.at_least else "at most"
        verdict = "ok" if self.passed else f"FAILED by {abs(self.value - self.limit):.4g}"
        return f"{self.name}: {self.value:.4g} (must be {relation} {self.limit:.4g}): {verdict}"


def junit_xml(checks: list[Check], suite: str = "tfcompress.regress") -> str:
    """The checks as a JUnit XML test suite: one test case each, a failure carrying its numbers."""
    root = ElementTree.Element("testsuites")
    failures = sum(not c.passed for c in checks)
    node = ElementTree.SubElement(root, "testsuite", name=suite, tests=str(len(checks)), failures=str(failures),
                                  errors="0", skipped="0")
    for check in checks:
        case = ElementTree.SubElement(node, "testcase", classname=suite, name=check.name)
        if not check.passed:
            failure = ElementTree.SubElement(case, "failure", message=check.message, type="threshold")
            failure.text = check.message
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True)


def checks_of(report: dict) -> list[Check]:
    """The checks of a regress report (regress.json)."""
    return [Check(c["name"], c["value"], c["limit"], c["at_least"]) for c in report["checks"]]
