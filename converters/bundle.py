"""`tfcompress convert`: a trained model directory -> a firmware-ready artifact directory.

    OUT/model.tflite                       int8 flatbuffer
    OUT/model_data.{h,c}                   the flatbuffer as a const, 16-byte aligned C array
    OUT/tokenizer_data.{h,c}               vocabulary and tokenizer constants (docs/tokenizer.md)
    OUT/labels_data.{h,c}                  label names in logit order
    OUT/tokenizer.json, OUT/labels.json    the same, for host tools
    OUT/manifest.json                      ops, tensors, sizes, quantisation, SHA-256 of every file

The directory is built aside and renamed into place, so it is complete or absent; it replaces
only an earlier bundle (tfcompress.outputs).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import tfcompress
from converters import c_arrays, flatbuffer
from converters.tflite import convert_int8, representative_sample
from tfcompress import fileio
from tfcompress.artifacts import LABELS_FILE, TOKENIZER_FILE, TrainedModel
from tfcompress.data import IntentDataset
from tfcompress.errors import ModelFileError
from tfcompress.options import DEFAULT_CALIBRATION_SAMPLES, OP_SETS, OptionError
from tfcompress.outputs import OutputKind, check_output
from tfcompress.tokenizer import OOV_ID, PAD_ID, RESERVED

MODEL_FILE = "model.tflite"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "tfcompress-manifest"
BUNDLE_FILES = frozenset({MODEL_FILE, MANIFEST_FILE, LABELS_FILE, TOKENIZER_FILE, "model_data.h", "model_data.c",
                          "tokenizer_data.h", "tokenizer_data.c", "labels_data.h", "labels_data.c"})
BUNDLE_OUTPUT = OutputKind("firmware bundle", MANIFEST_FORMAT, MANIFEST_FILE, BUNDLE_FILES)


def default_ops(trained: TrainedModel) -> str:
    """`custom` for a compressed model (its structures and sparse matrices stay small only as
    TFC_ ops), `builtin` for an uncompressed one (any interpreter runs it)."""
    return "custom" if trained.info.get("compression") else "builtin"


def convert_graph(trained: TrainedModel, calibration: np.ndarray, ops: str) -> tuple[bytes, bytes]:
    """(the .tflite a board gets, the same graph with its tensor names) for `ops`:
    builtin: the TFLite converter's stock-op graph (both the same bytes);
    custom: one fused TFC_ op per layer quantised by tfcompress (converters.custom_model),
    names stripped for the board."""
    if ops == "builtin":
        data = convert_int8(trained.model, calibration)
        return data, data
    from converters.custom_model import convert_custom
    from converters.custom_ops import strip_for_board

    named = convert_custom(trained, calibration)
    return strip_for_board(named), named


def convert_model(trained: TrainedModel, dataset: IntentDataset, out_dir: str | Path,
                  calibration_samples: int = DEFAULT_CALIBRATION_SAMPLES, force: bool = False,
                  ops: str | None = None) -> dict:
    """Convert and write every artifact; returns the manifest. `out_dir` is checked before converting.
    `ops` (default: `default_ops`): see `convert_graph`; a `custom` model runs only in tfcompress's
    runtimes (eval --interpreter c, the firmware)."""
    if calibration_samples < 1:
        raise OptionError("calibration_samples", calibration_samples, ">= 1")
    ops = default_ops(trained) if ops is None else ops
    if ops not in OP_SETS:
        raise OptionError("ops", ops, f"one of {', '.join(OP_SETS)}")
    inputs = (trained.directory, *dataset.source_files())
    check_output(out_dir, BUNDLE_OUTPUT, inputs, force)
    calibration = representative_sample(trained.tokenizer.encode_batch(dataset.train.texts), calibration_samples)
    data, named_data = convert_graph(trained, calibration, ops)
    named = flatbuffer.summarize(named_data, MODEL_FILE) if named_data is not data else None
    summary = flatbuffer.summarize(data, MODEL_FILE)
    manifest = build_manifest(data, summary, trained, named, calibration_samples=len(calibration), op_set=ops)
    with fileio.staged_directory(out_dir, BUNDLE_OUTPUT, force, inputs) as staging:
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


def build_manifest(data: bytes, summary: flatbuffer.ModelSummary, trained: TrainedModel,
                   named: flatbuffer.ModelSummary | None = None, **extra) -> dict:
    """`named`: the same graph before its tensor names were stripped, for the per-layer byte count."""
    def io(index: int) -> dict:
        t = (named or summary).tensors[index]
        return {"name": t.name, "shape": t.shape, "dtype": t.dtype,
                "scale": t.scales[0] if t.scales else None,
                "zero_point": t.zero_points[0] if t.zero_points else None}

    layers = [layer.name for layer in trained.model.layers]
    return {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "tfcompress_version": tfcompress.__version__,
        "model": {"file": MODEL_FILE, "bytes": len(data), "sha256": _sha256(data)},
        "source": {"dataset": trained.info.get("dataset"), "dataset_spec": trained.info.get("dataset_spec"),
                   "encoder": trained.config.encoder,
                   "keras_parameters": int(trained.model.count_params()), "fingerprint": trained.fingerprint()},
        "ops": summary.op_counts(),
        "operator_count": len(summary.operators),
        "tensor_count": len(summary.tensors),
        "weight_bytes": summary.weight_bytes,
        "weight_bytes_per_layer": flatbuffer.weight_bytes_by_layer(named or summary, layers),
        "inputs": [io(i) for i in summary.inputs],
        "outputs": [io(i) for i in summary.outputs],
        "tokenizer": {"max_length": trained.tokenizer.max_length, "vocab_size": trained.tokenizer.vocab_size},
        "labels": len(trained.labels),
        "compression": {k: v for k, v in trained.info.get("compression", {}).items()
                        if k in ("method", "uncompressed_bytes", "compressed_bytes", "ratio", "tflite_bytes", "notes")},
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


def read_tflite_for(trained: TrainedModel, path: str | Path, model_name: str = "the model") -> tuple[bytes, str | None]:
    """The .tflite at `path` (a file or a `convert` folder), checked against `trained`: refused when its
    manifest names another model, or its input or output shape does not fit; returns (bytes, warning)."""
    path = Path(path)
    tflite_path = (path / MODEL_FILE if path.is_dir() else path).resolve()  # a link's manifest is beside its target
    data, summary = flatbuffer.read_model(tflite_path)
    made_from = None
    manifest_path = tflite_path.with_name(MANIFEST_FILE)
    manifest = fileio.read_json(manifest_path) if BUNDLE_OUTPUT.recognises(tflite_path.parent) else None
    entry = (manifest or {}).get("model")
    entry = entry if isinstance(entry, dict) else {}
    if entry.get("file") != tflite_path.name:
        manifest = None
    if manifest is None and path.is_dir():
        raise ModelFileError(manifest_path, "missing or not a tfcompress manifest: not a `tfcompress convert` folder")
    if manifest is not None:
        if entry.get("sha256") != _sha256(data):
            raise ModelFileError(tflite_path, f"does not match {manifest_path} (changed since `convert` wrote it)")
        source = manifest.get("source") if isinstance(manifest.get("source"), dict) else {}
        made_from = source.get("fingerprint")
        if made_from is not None and not isinstance(made_from, str):
            raise ModelFileError(manifest_path, "source.fingerprint must be a string")
        if made_from is not None and made_from != trained.fingerprint():
            raise ModelFileError(tflite_path, f"was converted from another model than {model_name} "
                                              f"(its manifest's source: {source.get('dataset')} "
                                              f"{source.get('encoder')}, fingerprint {made_from[:12]}); "
                                              f"convert {model_name} or evaluate the model it came from")
    expected = {"input": [1, trained.tokenizer.max_length], "output": [1, len(trained.labels)]}
    found = {"input": summary.tensors[summary.inputs[0]].shape, "output": summary.tensors[summary.outputs[0]].shape}
    for role in ("input", "output"):
        if list(found[role]) != expected[role]:
            raise ModelFileError(tflite_path, f"{role} shape {found[role]} does not fit {model_name} "
                                              f"({role} {expected[role]}): it is another model's .tflite")
    warning = None if manifest is not None and made_from is not None else (
        f"{tflite_path} has no manifest naming its source model: only its shapes were checked against {model_name}")
    return data, warning
