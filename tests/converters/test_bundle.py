import hashlib
import json

import numpy as np
import pytest

from converters import bundle, flatbuffer
from tfcompress.interpreters import Int8Runner


def test_bundle_files_and_manifest(pooled_bundle, pooled_model):
    names = sorted(p.name for p in pooled_bundle.iterdir())
    assert names == sorted([
        "labels.json", "labels_data.c", "labels_data.h", "manifest.json", "model.tflite", "model_data.c",
        "model_data.h", "tokenizer.json", "tokenizer_data.c", "tokenizer_data.h"])
    manifest = json.loads((pooled_bundle / "manifest.json").read_text())
    data = (pooled_bundle / "model.tflite").read_bytes()
    assert manifest["model"] == {"file": "model.tflite", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((pooled_bundle / name).read_bytes()).hexdigest() == digest
    assert manifest["ops"] == {"FULLY_CONNECTED": 2, "GATHER": 1, "MEAN": 1}
    assert {"embedding", "hidden", "logits"} <= set(manifest["weight_bytes_per_layer"])  # + small op constants
    # int8 weights: about one byte per parameter (plus int32 biases)
    embedding = pooled_model.config.vocab_size * pooled_model.config.embedding_dim
    assert manifest["weight_bytes_per_layer"]["embedding"] == embedding
    assert manifest["weight_bytes"] == sum(manifest["weight_bytes_per_layer"].values())
    assert manifest["inputs"][0]["dtype"] == "int32"
    assert manifest["inputs"][0]["shape"] == [1, pooled_model.tokenizer.max_length]
    out = manifest["outputs"][0]
    assert out["dtype"] == "int8" and out["shape"] == [1, len(pooled_model.labels)] and out["scale"] > 0


def test_int8_model_is_fully_integer(pooled_bundle):
    summary = flatbuffer.summarize((pooled_bundle / "model.tflite").read_bytes())
    for t in summary.tensors:
        if t.index in summary.inputs:
            continue
        assert t.dtype in ("int8", "int32"), t
    assert all(summary.tensors[i].dtype == "int8" for i in summary.outputs)


def test_int8_agrees_with_float(pooled_bundle, pooled_model, tiny_dataset):
    ids = pooled_model.tokenizer.encode_batch(tiny_dataset.test.texts)
    runner = Int8Runner((pooled_bundle / "model.tflite").read_bytes(), "tflm")
    raw = runner.run(ids)
    assert raw.dtype == np.int8
    float_logits = pooled_model.model.predict(ids, verbose=0)
    assert np.mean(np.argmax(raw, -1) == np.argmax(float_logits, -1)) >= 0.9
    assert np.abs(runner.dequantize(raw) - float_logits).max() < 0.1 * np.abs(float_logits).max() + 0.5


def test_interrupted_convert_leaves_previous_bundle(pooled_model, tiny_dataset, tmp_path, monkeypatch):
    out = tmp_path / "fw"
    bundle.convert_model(pooled_model, tiny_dataset, out, calibration_samples=20)
    before = (out / "manifest.json").read_bytes()

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle.c_arrays, "label_files", fail)
    with pytest.raises(KeyboardInterrupt):
        bundle.convert_model(pooled_model, tiny_dataset, out, calibration_samples=20)
    assert (out / "manifest.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["fw"]
