"""`tfcompress demo`: the whole host flow on the built-in data, the one place a new user starts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from tfcompress import fileio
from tfcompress.data import load_dataset
from tfcompress.training import TrainOptions, train_classifier

DEMO_OPTIONS = TrainOptions(vocab_size=2000, embedding_dim=32, rnn_units=32, head_units=64, epochs=30)


def run_demo(workdir: str | Path, encoder: str = "pooled", log: Callable[[str], None] = print) -> dict:
    """Train on the demo set, convert to int8 + C arrays, evaluate float vs int8; returns the report."""
    from dataclasses import replace

    from converters.bundle import MODEL_FILE, convert_model
    from tfcompress.evaluation import evaluate_float_and_int8
    from tfcompress.interpreters import GOLDEN

    workdir = Path(workdir)
    started = time.monotonic()
    dataset = load_dataset("demo")
    log(f"[1/3] training a {encoder} classifier on the built-in smart-home set "
        f"({len(dataset.train)} train / {len(dataset.valid)} valid / {len(dataset.test)} test, "
        f"{len(dataset.labels)} intents)")
    trained = train_classifier(dataset, replace(DEMO_OPTIONS, encoder=encoder), verbose=0)
    trained.save(workdir / "model")
    log(f"[2/3] converting to int8 .tflite and C arrays in {workdir / 'firmware'}")
    manifest = convert_model(trained, dataset, workdir / "firmware")
    tflite = (workdir / "firmware" / MODEL_FILE).read_bytes()
    log(f"[3/3] evaluating float vs int8 on the test split ({GOLDEN} interpreter, the golden reference)")
    evaluation = evaluate_float_and_int8(trained, tflite, dataset, "test", GOLDEN)
    report = {
        "dataset": dataset.name,
        "encoder": encoder,
        "parameters": trained.info["parameters"],
        "float_test_accuracy": evaluation["float"]["accuracy"],
        "int8_test_accuracy": evaluation["int8"]["accuracy"],
        "float_int8_agreement": evaluation["float_int8_agreement"],
        "tflite_bytes": manifest["model"]["bytes"],
        "float32_weight_bytes": 4 * trained.info["parameters"],
        "ops": manifest["ops"],
        "seconds": round(time.monotonic() - started, 1),
        "artifacts": str(workdir),
    }
    fileio.write_json(workdir / "report.json", report)
    return report


def format_report(report: dict) -> str:
    return "\n".join([
        f"tfcompress demo ({report['dataset']} set, {report['encoder']} encoder, {report['seconds']} s)",
        f"  parameters           {report['parameters']:,}",
        f"  float test accuracy  {report['float_test_accuracy']:.2%}",
        f"  int8 test accuracy   {report['int8_test_accuracy']:.2%}",
        f"  float/int8 agree     {report['float_int8_agreement']:.2%}",
        f"  float32 weights      {report['float32_weight_bytes']:,} bytes",
        f"  int8 .tflite         {report['tflite_bytes']:,} bytes",
        f"  artifacts            {report['artifacts']}/ (model/, firmware/, report.json)",
    ])
