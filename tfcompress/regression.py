"""Comparing two stages of a model over one split (issue 11's `regress`, its library half).

A stage is the same utterances run somewhere: the Keras float model, the desktop golden, the
board. `compare` says how two stages differ: accuracy and macro-F1 of each, top-1 agreement,
for two int8 stages the exact-match rate and the differences in LSBs, per-class accuracy
changes and the worst examples. `Check`s hold thresholds against those numbers, and
`junit_xml` writes them as JUnit test cases (one per check, failures carrying the numbers), the
format CI systems display.
"""

from __future__ import annotations

import time
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
                     "expected": labels[int(expected[i])],
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


REPORT_FORMAT, REPORT_VERSION = "tfcompress-regress", 1


@dataclass(frozen=True)
class Thresholds:
    """What `regress` holds the stages to (its options)."""

    min_exact_match: float = 1.0  # the device's int8 outputs against the golden's: all equal
    max_accuracy_drop: float = 0.5  # points of accuracy the int8 golden may lose against the float model


def regress(texts: list[str], expected: np.ndarray, labels: tuple[str, ...], golden, device=None,
            float_scores: np.ndarray | None = None, thresholds: Thresholds = Thresholds(), progress=None) -> dict:
    """Runs `texts` through the golden and the device (Runners) and compares every pair that applies
    with the float model's `float_scores`: the report (REPORT_FORMAT) with its checks."""
    scores = {"float": float_scores} if float_scores is not None else {}
    timing, runner_names, error = {}, {"float": "keras"}, None
    for name, runner in (("golden", golden), ("device", device)):
        if runner is None:
            continue
        runner_names[name] = runner.name
        started = time.monotonic()
        scores[name], error = _run_until_stopped(runner, texts, progress)
        timing[name] = time.monotonic() - started
        if error is not None:
            error = f"{name} ({runner.name}) stopped after {len(scores[name])} of {len(texts)} utterances: {error}"
            break
    # a run that stopped is compared over what every stage completed, and says so
    completed = min(len(v) for v in scores.values()) if scores else 0
    texts, expected = list(texts[:completed]), np.asarray(expected)[:completed]
    stages = [Stage(name, np.asarray(v)[:completed].reshape(completed, len(labels))) for name, v in scores.items()]
    by_name = {s.name: s for s in stages} if completed else {}
    comparisons, checks = [], []
    if "float" in by_name and "golden" in by_name:
        result = compare(by_name["float"], by_name["golden"], expected, labels, texts)
        comparisons.append(result)
        drop = 100 * (result["accuracy"]["float"] - result["accuracy"]["golden"])
        checks.append(Check("golden vs float: accuracy drop (points)", drop, thresholds.max_accuracy_drop,
                            at_least=False))
    if "golden" in by_name and "device" in by_name:
        result = compare(by_name["golden"], by_name["device"], expected, labels, texts)
        comparisons.append(result)
        checks.append(Check("device vs golden: exact int8 match rate", result["exact_match_rate"],
                            thresholds.min_exact_match))
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "examples": len(texts), "error": error,
        "stages": {s.name: {"runner": runner_names[s.name],
                            "accuracy": float(np.mean(s.predictions == expected)) if completed else 0.0,
                            "macro_f1": macro_f1(np.asarray(expected), s.predictions, len(labels)),
                            **({"seconds": round(timing[s.name], 3),
                                "utterances_per_second": round(len(texts) / max(timing[s.name], 1e-9), 1)}
                               if s.name in timing else {})} for s in stages},
        "comparisons": comparisons,
        "checks": [{"name": c.name, "value": c.value, "limit": c.limit, "at_least": c.at_least, "passed": c.passed}
                   for c in checks],
        "passed": error is None and all(c.passed for c in checks),
    }


def _run_until_stopped(runner, texts: list[str], progress) -> tuple[np.ndarray, str | None]:
    """The runner's int8 scores for `texts`, or for those it answered before a board failed or the
    user pressed Ctrl-C, and why it stopped (None: it did not)."""
    from tfcompress.errors import TfcompressError

    rows, error = [], None
    for text in texts:
        try:
            rows.append(runner.infer(text).scores)
        except TfcompressError as err:
            error = str(err)
            break
        except KeyboardInterrupt:
            error = "interrupted (Ctrl-C)"
            break
        if progress is not None:
            progress(1)
    return (np.stack(rows) if rows else np.zeros((0, 0), np.int8)), error


def checks_of(report: dict) -> list[Check]:
    return [Check(c["name"], c["value"], c["limit"], c["at_least"]) for c in report["checks"]]


def format_regress(report: dict) -> str:
    lines = [f"{report['examples']:,} utterances" + (f" (a partial run: {report['error']})" if report["error"] else "")]
    for name, stage in report["stages"].items():
        speed = f", {stage['utterances_per_second']:,} utterances/s" if "utterances_per_second" in stage else ""
        lines.append(f"  {name:<7} {stage['runner']:<28} accuracy {100 * stage['accuracy']:6.2f} %  "
                     f"macro-F1 {100 * stage['macro_f1']:6.2f}{speed}")
    for c in report["comparisons"]:
        exact = (f", int8 outputs equal on {100 * c['exact_match_rate']:.2f} % (largest difference "
                 f"{c['max_lsb_difference']} LSB)") if "exact_match_rate" in c else ""
        lines.append(f"  {c['b']} vs {c['a']}: top-1 agreement {100 * c['agreement']:.2f} %{exact}")
    lines += ["  " + check.message for check in checks_of(report)]
    return "\n".join(lines)
