"""`tfcompress convert`: a trained model directory -> a firmware-ready artifact directory.

    OUT/model.tflite                       int8 flatbuffer
    OUT/model_data.{h,c}                   the flatbuffer as a const, 16-byte aligned C array
    OUT/tokenizer_data.{h,c}               vocabulary and tokenizer constants (docs/tokenizer.md)
    OUT/labels_data.{h,c}                  label names in logit order
    OUT/tokenizer.json, OUT/labels.json    the same, for host tools
    OUT/manifest.json                      ops, tensors, sizes, quantisation, SHA-256 of every file

The directory is built aside and renamed into place, so it is complete or absent.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import tfcompress
from converters import c_arrays, flatbuffer
from converters.tflite import DEFAULT_CALIBRATION_SAMPLES, convert_int8, representative_sample
from tfcompress import fileio
from tfcompress.artifacts import LABELS_FILE, TOKENIZER_FILE, TrainedModel
from tfcompress.data import IntentDataset
from tfcompress.tokenizer import OOV_ID, PAD_ID, RESERVED

MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"


def convert_model(trained: TrainedModel, dataset: IntentDataset, out_dir: str | Path,
                  calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES) -> dict:
    """Convert and write every artifact; returns the manifest."""
    calibration = representative_sample(trained.tokenizer.encode_batch(dataset.train.texts), calibration_samples)
    data = convert_int8(trained.model, calibration)
    summary = flatbuffer.summarize(data, MODEL_FILE)
    manifest = build_manifest(data, summary, trained, calibration_samples=len(calibration))
    out_dir = Path(out_dir)
    with fileio.staged_directory(out_dir) as staging:
        fileio.write_bytes(staging / MODEL_FILE, data)
        tok = trained.tokenizer
        files = [
            *c_arrays.model_files(data, c_io_defines(manifest)),
            *c_arrays.tokenizer_files(tok.vocab, tok.max_length, PAD_ID, OOV_ID, RESERVED),
            *c_arrays.label_files(trained.labels),
        ]
        for f in files:
            fileio.write_text(staging / f.name, f.text)
        tok.save(staging / TOKENIZER_FILE)
        fileio.write_json(staging / LABELS_FILE, list(trained.labels))
        manifest["files"] = {
            p.name: _sha256(p.read_bytes()) for p in sorted(staging.iterdir()) if p.name != MANIFEST_FILE
        }
        fileio.write_json(staging / MANIFEST_FILE, manifest)
    return manifest


def build_manifest(data: bytes, summary: flatbuffer.ModelSummary, trained: TrainedModel, **extra) -> dict:
    def io(index: int) -> dict:
        t = summary.tensors[index]
        return {"name": t.name, "shape": t.shape, "dtype": t.dtype,
                "scale": t.scales[0] if t.scales else None,
                "zero_point": t.zero_points[0] if t.zero_points else None}

    layers = [layer.name for layer in trained.model.layers]
    return {
        "format": "tfcompress-manifest",
        "version": 1,
        "tfcompress_version": tfcompress.__version__,
        "model": {"file": MODEL_FILE, "bytes": len(data), "sha256": _sha256(data)},
        "source": {"dataset": trained.info.get("dataset"), "encoder": trained.config.encoder,
                   "keras_parameters": int(trained.model.count_params())},
        "ops": summary.op_counts(),
        "operator_count": len(summary.operators),
        "tensor_count": len(summary.tensors),
        "weight_bytes": summary.weight_bytes,
        "weight_bytes_per_layer": flatbuffer.weight_bytes_by_layer(summary, layers),
        "inputs": [io(i) for i in summary.inputs],
        "outputs": [io(i) for i in summary.outputs],
        "tokenizer": {"max_length": trained.tokenizer.max_length, "vocab_size": trained.tokenizer.vocab_size},
        "labels": len(trained.labels),
        "compression": {k: v for k, v in trained.info.get("compression", {}).items()
                        if k in ("method", "uncompressed_bytes", "compressed_bytes", "ratio", "notes")},
        **extra,
    }


def c_io_defines(manifest: dict) -> dict[str, int | float]:
    out = manifest["outputs"][0]
    return {
        "TFC_MODEL_INPUT_LENGTH": int(np.prod(manifest["inputs"][0]["shape"])),
        "TFC_MODEL_OUTPUT_LENGTH": int(np.prod(out["shape"])),
        "TFC_MODEL_OUTPUT_SCALE": float(np.float32(out["scale"])),
        "TFC_MODEL_OUTPUT_ZERO_POINT": int(out["zero_point"]),
    }


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
