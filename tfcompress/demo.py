"""`tfcompress demo`: the whole host flow on the built-in data, the one place a new user starts."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from tfcompress import fileio
from tfcompress.data import load_dataset
from tfcompress.outputs import OutputKind
from tfcompress.training import TrainOptions, train_classifier

DEMO_OPTIONS = TrainOptions(vocab_size=2000, embedding_dim=64, rnn_units=32, head_units=64, epochs=30)
DEMO_METHOD, DEMO_RATIO = "dkp", 5.0
REPORT_FILE = "report.json"
DEMO_OUTPUT = OutputKind("demo folder", "tfcompress-demo", REPORT_FILE,
                         frozenset({"model", "compressed", "firmware", REPORT_FILE}))


def run_demo(workdir: str | Path, encoder: str = "pooled", log: Callable[[str], None] = print,
             force: bool = False) -> dict:
    """Train on the demo set, compress with DKP, convert to int8 with tfcompress's custom ops + C
    arrays, evaluate the int8 model compiled to C and check it against the integer reference
    (the golden of TFC_ ops), bit for bit; returns the report. `workdir` is built aside and renamed into
    place at the end, replacing only an earlier demo's."""
    import numpy as np

    from converters.bundle import MODEL_FILE, convert_model
    from tfcompress.compression.compress import CompressOptions, compress_model
    from tfcompress.evaluation import evaluate_float_and_int8
    from tfcompress.interpreters import CUSTOM_GOLDEN, Int8Runner

    workdir = Path(workdir)
    started = time.monotonic()
    with fileio.staged_directory(workdir, DEMO_OUTPUT, force) as staging:
        dataset = load_dataset("demo")
        log(f"[1/4] training a {encoder} classifier on the built-in smart-home set "
            f"({len(dataset.train)} train / {len(dataset.valid)} valid / {len(dataset.test)} test, "
            f"{len(dataset.labels)} intents)")
        trained = train_classifier(dataset, replace(DEMO_OPTIONS, encoder=encoder), verbose=0)
        trained.save(staging / "model")
        log(f"[2/4] compressing {DEMO_RATIO:g}x with {DEMO_METHOD} (doped Kronecker) and fine-tuning")
        compressed, compression = compress_model(
            trained, dataset, CompressOptions(method=DEMO_METHOD, target_ratio=DEMO_RATIO), verbose=0)
        compressed.save(staging / "compressed")
        log(f"[3/4] converting the compressed model to int8 .tflite with tfcompress's custom ops, and C arrays, "
            f"in {workdir / 'firmware'}")
        manifest = convert_model(compressed, dataset, staging / "firmware", ops="custom")
        tflite = (staging / "firmware" / MODEL_FILE).read_bytes()
        log("[4/4] evaluating float vs int8 on the test split: the int8 model compiled to C over tfcompress's "
            f"kernels, checked against the {CUSTOM_GOLDEN} golden (the integer NumPy spec of every op)")
        evaluation = evaluate_float_and_int8(compressed, tflite, dataset, "test", "c")
        ids = compressed.tokenizer.encode_batch(dataset.test.texts)
        golden = Int8Runner(tflite, CUSTOM_GOLDEN).run(ids)
        golden_match = bool(np.array_equal(Int8Runner(tflite, "c").run(ids), golden))
        report = _report(trained, compression, evaluation, manifest, encoder, workdir, started)
        report["int8_equals_golden"] = golden_match
        fileio.write_json(staging / REPORT_FILE, report)
    return report


def _report(trained, compression: dict, evaluation: dict, manifest: dict, encoder: str, workdir: Path,
            started: float) -> dict:
    return {
        "format": DEMO_OUTPUT.format,
        "dataset": evaluation["dataset"],
        "encoder": encoder,
        "parameters": trained.info["parameters"],
        "baseline_test_accuracy": trained.metrics["test"]["accuracy"],
        "baseline_bytes": compression["uncompressed_bytes"],
        "method": DEMO_METHOD,
        "compressed_bytes": compression["compressed_bytes"],
        "compression_ratio": compression["ratio"],
        "float_test_accuracy": evaluation["float"]["accuracy"],
        "int8_test_accuracy": evaluation["int8"]["accuracy"],
        "float_int8_agreement": evaluation["float_int8_agreement"],
        "tflite_bytes": manifest["model"]["bytes"],
        "builtin_tflite_bytes": compression["tflite_bytes"]["compressed_builtin"],
        "uncompressed_tflite_bytes": compression["tflite_bytes"]["uncompressed"],
        "ops": manifest["ops"],
        "notes": compression["notes"],
        "seconds": round(time.monotonic() - started, 1),
        "artifacts": str(workdir),
    }


def format_report(report: dict) -> str:
    from tfcompress.compression.compress import format_tflite_bytes

    return "\n".join([
        f"tfcompress demo ({report['dataset']} set, {report['encoder']} encoder, {report['seconds']} s)",
        f"  baseline             {report['parameters']:,} parameters, {report['baseline_bytes']:,} bytes at int8, "
        f"test accuracy {report['baseline_test_accuracy']:.2%}",
        f"  {report['method']} compressed       {report['compressed_bytes']:,} bytes counted at int8 "
        f"({report['compression_ratio']:.1f}x)",
        f"  float test accuracy  {report['float_test_accuracy']:.2%}",
        f"  int8 test accuracy   {report['int8_test_accuracy']:.2%} (generated C; equal to the integer reference "
        f"bit for bit: {'yes' if report['int8_equals_golden'] else 'NO'})",
        f"  float/int8 agree     {report['float_int8_agreement']:.2%}",
        "  deployable           " + format_tflite_bytes(report["tflite_bytes"], report["uncompressed_tflite_bytes"])
        + f" (custom ops; builtin ops: {report['builtin_tflite_bytes']:,} bytes)",
        f"  artifacts            {report['artifacts']}/ (model/, compressed/, firmware/, report.json)",
    ])
