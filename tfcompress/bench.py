"""`tfcompress bench`: a dataset split through any Runner: accuracy, the counts of each inference
(instructions on an emulated board, cycles on a real one) and throughput.

A board that stops answering mid-run ends the run, not the report: it says how many
utterances completed and why the rest did not."""

from __future__ import annotations

import time
from typing import Callable, Sequence

import numpy as np

from tfcompress.errors import TfcompressError
from tfcompress.metrics import intent_metrics
from tfcompress.runners import Runner, count_summary


def bench(runner: Runner, texts: Sequence[str], y_true: Sequence[int], labels: tuple[str, ...],
          progress: Callable[[int], None] | None = None, macs: dict[str, int] | None = None) -> dict:
    """Runs every utterance through `runner`; `macs` (layer name -> multiply-accumulates per
    inference) adds counts per MAC to the per-layer table."""
    started = time.monotonic()
    scores, counts, layers, error = [], [], [], None
    for text in texts:
        try:
            result = runner.infer(text)
        except TfcompressError as err:
            error = str(err)
            break
        scores.append(result.scores)
        counts.append(result.count)
        layers.append(result.layers)
        if progress is not None:
            progress(1)
    seconds = time.monotonic() - started
    done = len(scores)
    predictions = np.argmax(np.stack(scores), axis=-1) if done else np.zeros(0, np.int64)
    report = {
        "runner": runner.name,
        "counter": runner.counter_unit,
        "examples": len(texts),
        "completed": done,
        "error": error,
        "metrics": intent_metrics(np.asarray(y_true[:done]), predictions, labels),
        "count": count_summary(counts),
        "seconds": round(seconds, 2),
        "utterances_per_second": round(done / seconds, 1) if seconds > 0 else None,
        "layers": layer_table(runner.layer_names, layers, macs or {}),
    }
    return report


def layer_table(names: Sequence[str], layers: list[tuple[int, ...]], macs: dict[str, int]) -> list[dict]:
    rows = [r for r in layers if r]
    if not rows or not names:
        return []
    medians = np.median(np.asarray(rows, dtype=np.float64), axis=0)
    table = []
    for k, (name, median) in enumerate(zip(names, medians)):
        row = {"index": k, "op": name, "median": float(median)}
        key = f"{k}:{name}"
        if macs.get(key):
            row["macs"] = macs[key]
            row["per_mac"] = round(float(median) / macs[key], 3)
        table.append(row)
    return table


def format_bench(report: dict, per_op: bool = False) -> str:
    unit = report["counter"] or "counts"
    lines = [f"{report['runner']}: {report['completed']} of {report['examples']} utterances in "
             f"{report['seconds']} s ({report['utterances_per_second']} per second)"]
    m = report["metrics"]
    lines.append(f"  accuracy   {m['accuracy']:.2%}  macro-F1 {m['macro_f1']:.4f}")
    if report["count"]:
        c = report["count"]
        label = "instructions (deterministic, counted by QEMU; not cycles)" if unit == "instructions" else unit
        lines.append(f"  per inference  min {c['min']:,}  median {c['median']:,.0f}  max {c['max']:,} {label}")
    for key in ("flash", "ram", "stack", "arena"):
        if key in report:
            lines.append(f"  {key:<6} {report[key]:,} bytes")
    if per_op and report["layers"]:
        lines.append(f"  {'#':>3} {'op':<32}{'median ' + unit:>22}{'per MAC':>10}")
        for row in report["layers"]:
            per_mac = f"{row['per_mac']:.3f}" if "per_mac" in row else ""
            lines.append(f"  {row['index']:>3} {row['op']:<32}{row['median']:>22,.0f}{per_mac:>10}")
    if report["error"]:
        lines.append(f"  stopped early: {report['error']}")
    return "\n".join(lines)


def fully_connected_macs(tflite: bytes) -> dict[str, int]:
    """Multiply-accumulates per inference of each fully connected operator ("k:OP" -> MACs), as
    tfcompress.kernel_costs counts them: the denominator of instructions per MAC."""
    from tfcompress.kernel_costs import operator_macs
    from tfcompress.reference.interpreter import ReferenceInterpreter

    reference = ReferenceInterpreter(tflite)
    return {f"{k}:{op.name}": operator_macs(reference.graph, op, params)
            for k, (op, _, params) in enumerate(reference.steps) if op.name.endswith("FULLY_CONNECTED")}
