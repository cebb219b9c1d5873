"""`regress` over runners: the stages run one after the other over the same utterances, their
answers streamed to disk as they come, then compared pairwise and held to the thresholds.

A run that stops early (a board that disconnects or stops answering, Ctrl-C) is not lost: the
report covers the utterances every stage completed and says why the rest are missing. While a
run goes on, `RegressOutput` appends every answer to `results.jsonl` and rewrites `regress.json`
every few seconds as a partial report, so even a run killed outright leaves one behind.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tfcompress import fileio
from tfcompress.bench import layer_table
from tfcompress.errors import TfcompressError
from tfcompress.metrics import macro_f1
from tfcompress.outputs import OutputKind
from tfcompress.regression.compare import Check, Stage, checks_of, compare, junit_xml
from tfcompress.runners import RunResults, count_summary

REPORT_FORMAT, REPORT_VERSION = "tfcompress-regress", 1
REGRESS_OUTPUT = OutputKind("regression report folder", REPORT_FORMAT, "regress.json",
                            frozenset({"regress.json", "junit.xml", "report.html", "results.jsonl", "bundle",
                                       "firmware"}))


@dataclass(frozen=True)
class Thresholds:
    """What `regress` holds the stages to (its options)."""

    min_exact_match: float = 1.0  # the device's int8 outputs against the golden's: all equal
    max_accuracy_drop: float = 0.5  # points of accuracy the int8 golden may lose against the float model


class RegressOutput:
    """A regress run's folder: every answer appended to results.jsonl as it comes, regress.json
    rewritten as a partial report every `snapshot_seconds`, and at the end regress.json, junit.xml
    and the HTML report."""

    def __init__(self, folder: str | Path, snapshot_seconds: float = 5.0):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._rows = open(self.folder / "results.jsonl", "w", encoding="utf-8")
        self.snapshot_seconds, self._last_snapshot = snapshot_seconds, time.monotonic()

    def rows(self, stage: str, start: int, results: RunResults) -> None:
        for k, scores in enumerate(results.scores):
            row = {"stage": stage, "index": start + k, "scores": np.asarray(scores).tolist()}
            if results.counts and results.counts[k] is not None:
                row["count"] = results.counts[k]
            if results.layers and results.layers[k]:
                row["layers"] = list(results.layers[k])
            self._rows.write(json.dumps(row) + "\n")
        self._rows.flush()

    def due(self) -> bool:
        return time.monotonic() - self._last_snapshot >= self.snapshot_seconds

    def snapshot(self, report: dict) -> None:
        fileio.write_json(self.folder / "regress.json", report)
        self._last_snapshot = time.monotonic()

    def finish(self, report: dict) -> None:
        from tfcompress.reports.regress_html import regress_html

        self._rows.close()
        fileio.write_text(self.folder / "junit.xml", junit_xml(checks_of(report)))
        fileio.write_text(self.folder / "report.html", regress_html(report))
        fileio.write_json(self.folder / "regress.json", report)  # last: its presence marks a finished folder

    def close(self) -> None:
        self._rows.close()


class _Collected:
    """One stage's answers so far."""

    def __init__(self, runner_name: str):
        self.runner_name = runner_name
        self.scores: list[np.ndarray] = []
        self.counts: list[int | None] = []
        self.layers: list[tuple[int, ...]] = []
        self.seconds = 0.0

    def add(self, results: RunResults) -> None:
        self.scores.extend(results.scores)
        self.counts.extend(results.counts or [None] * len(results.scores))
        self.layers.extend(results.layers or [()] * len(results.scores))

    def __len__(self) -> int:
        return len(self.scores)


def regress(texts: list[str], expected, labels: tuple[str, ...], golden, device=None,
            float_scores: np.ndarray | None = None, thresholds: Thresholds = Thresholds(),
            progress: Callable[[int], None] | None = None, output: RegressOutput | None = None,
            about: dict | None = None, float_seconds: float | None = None) -> dict:
    """Runs `texts` through the golden and the device (Runners), compares every pair that applies
    (with the float model's `float_scores`, which took `float_seconds`) and returns the report
    (REPORT_FORMAT) with its checks.
    `about` (the model, the board, the dataset) is copied into the report; `output` streams."""
    expected = np.asarray(expected)
    stages: dict[str, _Collected] = {}
    if float_scores is not None:
        stages["float"] = _Collected("keras")
        stages["float"].scores = list(np.asarray(float_scores))
        stages["float"].seconds = float_seconds or 0.0
    runners = {"golden": golden, "device": device}
    error = None
    for name, runner in runners.items():
        if runner is None:
            continue
        stage = stages[name] = _Collected(runner.name)
        started = time.monotonic()
        batch = max(1, runner.batch_size)
        try:
            for start in range(0, len(texts), batch):
                results = runner.run(texts[start:start + batch])
                stage.add(results)
                stage.seconds = time.monotonic() - started
                if progress is not None:
                    progress(len(results.scores))
                if output is not None:
                    output.rows(name, start, results)
                    if output.due():
                        output.snapshot(_report(stages, runners, texts, expected, labels, thresholds, about,
                                                f"still running: the {name} stage at {len(stage)} of "
                                                f"{len(texts)} utterances"))
        except TfcompressError as err:
            error = str(err)
        except KeyboardInterrupt:
            error = "interrupted (Ctrl-C)"
        stage.seconds = time.monotonic() - started
        if error is not None:
            error = f"{name} ({runner.name}) stopped after {len(stage)} of {len(texts)} utterances: {error}"
            break
    report = _report(stages, runners, texts, expected, labels, thresholds, about, error)
    if output is not None:
        output.finish(report)
    return report


def _report(stages: dict[str, _Collected], runners: dict, texts, expected, labels, thresholds: Thresholds,
            about: dict | None, error: str | None) -> dict:
    """The report over the utterances every stage has completed."""
    completed, planned = min((len(s) for s in stages.values()), default=0), len(texts)
    texts, expected = list(texts[:completed]), expected[:completed]
    shaped = {name: Stage(name, np.asarray(s.scores[:completed]).reshape(completed, len(labels)))
              for name, s in stages.items()}
    comparisons, checks = [], []
    if completed and "float" in shaped and "golden" in shaped:
        result = compare(shaped["float"], shaped["golden"], expected, labels, texts)
        comparisons.append(result)
        drop = 100 * (result["accuracy"]["float"] - result["accuracy"]["golden"])
        checks.append(Check("golden vs float: accuracy drop (points)", drop, thresholds.max_accuracy_drop,
                            at_least=False))
    if completed and "golden" in shaped and "device" in shaped:
        result = compare(shaped["golden"], shaped["device"], expected, labels, texts)
        comparisons.append(result)
        checks.append(Check("device vs golden: exact int8 match rate", result["exact_match_rate"],
                            thresholds.min_exact_match))
    report = {"format": REPORT_FORMAT, "version": REPORT_VERSION, **(about or {}),
              "examples": completed, "planned": planned,
              "error": error, "labels": list(labels), "stages": {}, "comparisons": comparisons,
              "checks": [{"name": c.name, "value": c.value, "limit": c.limit, "at_least": c.at_least,
                          "passed": c.passed} for c in checks],
              "passed": error is None and completed > 0 and all(c.passed for c in checks)}
    for name, stage in stages.items():
        predictions = shaped[name].predictions
        entry = {"runner": stage.runner_name,
                 "accuracy": float(np.mean(predictions == expected)) if completed else 0.0,
                 "macro_f1": macro_f1(expected, predictions, len(labels))}
        if stage.seconds:
            entry.update(seconds=round(stage.seconds, 3),
                         utterances_per_second=round(len(stage) / max(stage.seconds, 1e-9), 1))
        runner = runners.get(name)
        summary = count_summary(stage.counts[:completed])
        if summary is not None:
            entry["counter"] = runner.counter_unit
            entry["count"] = summary
            entry["layers"] = layer_table(runner.layer_names, stage.layers[:completed], {})
        report["stages"][name] = entry
    return report


def format_regress(report: dict) -> str:
    partial = f" (a partial run: {report['error']})" if report["error"] else ""
    lines = [f"{report['examples']:,} utterances{partial}"]
    for name, stage in report["stages"].items():
        speed = f", {stage['utterances_per_second']:,} utterances/s" if "utterances_per_second" in stage else ""
        lines.append(f"  {name:<7} {stage['runner']:<28} accuracy {100 * stage['accuracy']:6.2f} %  "
                     f"macro-F1 {100 * stage['macro_f1']:6.2f}{speed}")
        if "count" in stage:
            lines.append(f"          {stage['count']['median']:,.0f} {stage['counter']} per inference (median)")
    for c in report["comparisons"]:
        exact = (f", int8 outputs equal on {100 * c['exact_match_rate']:.2f} % (largest difference "
                 f"{c['max_lsb_difference']} LSB)") if "exact_match_rate" in c else ""
        lines.append(f"  {c['b']} vs {c['a']}: top-1 agreement {100 * c['agreement']:.2f} %{exact}")
    lines += ["  " + check.message for check in checks_of(report)]
    return "\n".join(lines)
