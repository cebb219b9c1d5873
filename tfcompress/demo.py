"""`tfcompress demo`: the whole host flow on the built-in data, the one place a new user starts."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

from tfcompress import fileio
from tfcompress.data import load_dataset
from tfcompress.device.profiles import DEFAULT_DEVICE
from tfcompress.outputs import OutputKind
from tfcompress.training import TrainOptions, train_classifier

DEMO_OPTIONS = TrainOptions(vocab_size=2000, embedding_dim=64, rnn_units=32, head_units=64, epochs=30)
DEMO_METHOD, DEMO_RATIO = "dkp", 5.0
REPORT_FILE = "report.json"
DEMO_OUTPUT = OutputKind("demo folder", "tfcompress-demo", REPORT_FILE,
                         frozenset({"model", "compressed", "firmware", "baseline-firmware", "board", REPORT_FILE}))


def run_demo(workdir: str | Path, encoder: str = "pooled", log: Callable[[str], None] = print,
             force: bool = False) -> dict:
    """Train on the demo set, compress with DKP, convert to int8 with tfcompress's custom ops + C
    arrays, evaluate the int8 model compiled to C and check it against the integer reference
    (the golden of TFC_ ops), bit for bit, then run it on the emulated Cortex-M4 beside the
    uncompressed model; returns the report. `workdir` is built aside and renamed into
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
        log(f"[1/5] training a {encoder} classifier on the built-in smart-home set "
            f"({len(dataset.train)} train / {len(dataset.valid)} valid / {len(dataset.test)} test, "
            f"{len(dataset.labels)} intents)")
        trained = train_classifier(dataset, replace(DEMO_OPTIONS, encoder=encoder), verbose=0)
        trained.save(staging / "model")
        log(f"[2/5] compressing {DEMO_RATIO:g}x with {DEMO_METHOD} (doped Kronecker) and fine-tuning")
        compressed, compression = compress_model(
            trained, dataset, CompressOptions(method=DEMO_METHOD, target_ratio=DEMO_RATIO), verbose=0)
        compressed.save(staging / "compressed")
        log(f"[3/5] converting the compressed model to int8 .tflite with tfcompress's custom ops, and C arrays, "
            f"in {workdir / 'firmware'}")
        manifest = convert_model(compressed, dataset, staging / "firmware", ops="custom")
        tflite = (staging / "firmware" / MODEL_FILE).read_bytes()
        log("[4/5] evaluating float vs int8 on the test split: the int8 model compiled to C over tfcompress's "
            f"kernels, checked against the {CUSTOM_GOLDEN} golden (the integer NumPy spec of every op)")
        evaluation = evaluate_float_and_int8(compressed, tflite, dataset, "test", "c")
        ids = compressed.tokenizer.encode_batch(dataset.test.texts)
        golden = Int8Runner(tflite, CUSTOM_GOLDEN).run(ids)
        golden_match = bool(np.array_equal(Int8Runner(tflite, "c").run(ids), golden))
        log(f"[5/5] building firmware for the emulated {DEFAULT_DEVICE} (QEMU) and running the test split on it, "
            "beside the uncompressed model")
        convert_model(trained, dataset, staging / "baseline-firmware")
        board = {name: _on_board(staging / bundle, staging / "board" / name, dataset)
                 for name, bundle in (("compressed", "firmware"), ("baseline", "baseline-firmware"))}
        report = _report(trained, compression, evaluation, manifest, encoder, workdir, started)
        report["int8_equals_golden"] = golden_match
        report["board"] = {name: {k: v for k, v in result.items() if k != "scores"} for name, result in board.items()}
        report["board"]["device"] = DEFAULT_DEVICE
        report["board"]["compressed"]["equals_golden"] = bool(np.array_equal(board["compressed"]["scores"], golden))
        report["seconds"] = round(time.monotonic() - started, 1)
        fileio.write_json(staging / REPORT_FILE, report)
    return report


def _on_board(bundle: Path, out: Path, dataset) -> dict:
    """The bundle built for the default board and the test split run on it: accuracy, instructions, memory."""
    from tfcompress.device.build import build_firmware
    from tfcompress.device.runner import DeviceRunner
    from tfcompress.metrics import intent_metrics
    from tfcompress.runners import count_summary

    firmware = build_firmware(bundle, DEFAULT_DEVICE, out)
    with DeviceRunner.start(firmware) as runner:
        results = runner.run(list(dataset.test.texts))
    y_true = dataset.label_ids(dataset.test, firmware.labels)
    return {"accuracy": intent_metrics(y_true, results.predictions, firmware.labels)["accuracy"],
            "instructions": count_summary(results.counts), "flash": firmware.info["flash"],
            "ram": firmware.info["ram"], "scores": results.scores}


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
        *_format_board(report["board"]),
        f"  artifacts            {report['artifacts']}/ (model/, compressed/, firmware/, baseline-firmware/, board/, "
        "report.json)",
    ])


def _format_board(board: dict) -> list[str]:
    c, b = board["compressed"], board["baseline"]
    return [
        f"  on {board['device']} (QEMU, instructions counted under -icount; not cycles):",
        f"    compressed         accuracy {c['accuracy']:.2%}, equal to the golden bit for bit: "
        f"{'yes' if c['equals_golden'] else 'NO'}; {c['instructions']['median']:,.0f} instructions per inference "
        f"(median); flash {c['flash']:,} B, RAM {c['ram']:,} B",
        f"    uncompressed       accuracy {b['accuracy']:.2%}; {b['instructions']['median']:,.0f} instructions per "
        f"inference; flash {b['flash']:,} B, RAM {b['ram']:,} B",
    ]
