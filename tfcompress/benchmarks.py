"""Benchmark runs that docs/benchmarks.md reports: the compression Pareto table."""

from __future__ import annotations

import time
from typing import Callable

from tfcompress import fileio
from tfcompress.artifacts import TrainedModel
from tfcompress.compression.compress import CompressOptions, compress_model, model_bytes
from tfcompress.data import IntentDataset
from tfcompress.options import METHODS
from tfcompress.outputs import OutputKind, check_output

PARETO_OUTPUT = OutputKind("Pareto results file", "tfcompress-pareto")


def _int8_metrics(trained: TrainedModel, dataset: IntentDataset, interpreter: str) -> dict:
    """Float and int8 test metrics, the int8 model with builtin ops (run on `interpreter`) and with
    custom ops (`convert`'s default for compressed models, run on its golden, the integer reference),
    each with its .tflite bytes and operator count."""
    from converters.bundle import convert_graph
    from converters.flatbuffer import summarize
    from converters.tflite import representative_sample
    from tfcompress.evaluation import evaluate_float_and_int8

    calibration = representative_sample(trained.tokenizer.encode_batch(dataset.train.texts))
    result, ops = {}, {}
    for op_set, runner in (("builtin", interpreter), ("custom", None)):
        model = convert_graph(trained, calibration, op_set)[0]
        result = evaluate_float_and_int8(trained, model, dataset, "test", runner)
        ops[op_set] = {"tflite_bytes": len(model), "operators": len(summarize(model).operators),
                       "interpreter": result["interpreter"], "int8": result["int8"]}
    return {"float": result["float"], "int8": ops["builtin"]["int8"], "tflite_bytes": ops["builtin"]["tflite_bytes"],
            "ops": ops}


def pareto(trained: TrainedModel, dataset: IntentDataset, ratios, methods=METHODS, epochs: int = 30,
           interpreter: str = "litert-ref", out_path=None, log: Callable[[str], None] = print,
           vocab_size: int | None = None, force: bool = False) -> dict:
    """Every method at every whole-model ratio, float and int8 test metrics; saved after each run.
    `vocab_size` truncates the vocabulary first for every method but small (which sizes its own)."""
    runs = [CompressOptions(method=method, target_ratio=ratio, epochs=epochs, vocab_size=vocab_size)
            for ratio in ratios for method in methods]  # every option checked before the first run
    if out_path is not None:
        check_output(out_path, PARETO_OUTPUT, (trained.directory, *dataset.source_files()), force)
    dataset.check_labels(trained.labels)
    base = _int8_metrics(trained, dataset, interpreter)
    results = {"format": PARETO_OUTPUT.format, "dataset": dataset.name, "encoder": trained.config.encoder,
               "interpreter": interpreter,
               "vocab_size": vocab_size,
               "baseline": {"bytes": model_bytes(trained.model)[0], "parameters": trained.info["parameters"],
                            **base}, "runs": []}
    for options in runs:
        started = time.monotonic()
        compressed, report = compress_model(trained, dataset, options, verbose=0, measure_tflite=False)
        run = {"method": options.method, "target_ratio": options.target_ratio, "ratio": report["ratio"],
               "bytes": report["compressed_bytes"], "valid_accuracy": report["accuracy_after"]["valid"],
               **_int8_metrics(compressed, dataset, interpreter),
               "seconds": round(time.monotonic() - started, 1)}
        results["runs"].append(run)
        log(f"{dataset.name} {options.target_ratio:g}x {options.method}: {run['bytes']:,} bytes planned, "
            f"{run['ops']['custom']['tflite_bytes']:,} in custom ops; float {run['float']['accuracy']:.4f}, int8 "
            f"{run['ops']['custom']['int8']['accuracy']:.4f} custom, {run['int8']['accuracy']:.4f} builtin "
            f"({run['seconds']} s)")
        if out_path:
            fileio.write_json(out_path, results)
    return results


def format_pareto(results: dict) -> str:
    """A markdown table: one row per method and ratio, the baseline first; bytes are the planner's
    count and each op set's .tflite (with its operator count), int8 accuracy for each op set."""
    oos = "in_scope_accuracy" in results["baseline"]["float"]
    head = ("| ratio | method | planned bytes | custom .tflite (ops) | builtin .tflite (ops) | float acc "
            "| int8 custom | int8 builtin |" + (" float in-scope | int8 custom in-scope |" if oos else ""))
    lines = [head, "|" + "---|" * (head.count("|") - 1)]

    def row(label, method, run):
        ops = run.get("ops", {})
        custom, builtin = ops.get("custom"), ops.get("builtin", {"tflite_bytes": run["tflite_bytes"], "operators": "?",
                                                                  "int8": run["int8"]})
        size = lambda o: f"{o['tflite_bytes']:,} ({o['operators']})" if o else "–"  # noqa: E731
        cells = [label, method, f"{run['bytes']:,}", size(custom), size(builtin), f"{run['float']['accuracy']:.2%}",
                 f"{custom['int8']['accuracy']:.2%}" if custom else "–", f"{builtin['int8']['accuracy']:.2%}"]
        if oos:
            cells += [f"{run['float']['in_scope_accuracy']:.2%}",
                      f"{custom['int8']['in_scope_accuracy']:.2%}" if custom else "–"]
        return "| " + " | ".join(cells) + " |"

    lines.append(row("1x", "uncompressed", results["baseline"]))
    lines += [row(f"{r['ratio']:.1f}x", r["method"], r) for r in results["runs"]]
    return "\n".join(lines)
