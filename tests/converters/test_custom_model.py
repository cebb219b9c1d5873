"""converters.custom_model: a pooled classifier of every method becomes one fused op per layer,
quantised by tfcompress, stored in exactly the bytes the planner counted, close to the float
model; compressed models convert to it by default."""

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from converters.custom_model import BUFFER_ALIGNMENT, convert_custom
from converters.flatbuffer import summarize
from converters.tflite import representative_sample
from tests.helpers import tiny_compress_options
from tfcompress.interpreters import Int8Runner

OPS = {
    "dense": {"TFC_EMBEDDING_BAG": 1, "FULLY_CONNECTED": 2},
    "lmf": {"TFC_LMF_EMBEDDING_BAG": 1, "TFC_LMF_FULLY_CONNECTED": 2},
    "hmf": {"TFC_HMF_EMBEDDING_BAG": 1, "TFC_HMF_FULLY_CONNECTED": 2},
    "kp": {"TFC_KP_EMBEDDING_BAG": 1, "TFC_KP_FULLY_CONNECTED": 2},
    "dkp": {"TFC_DKP_EMBEDDING_BAG": 1, "TFC_DKP_FULLY_CONNECTED": 2},
}


@pytest.fixture(scope="module", params=["dense", "lmf", "hmf", "kp", "dkp", "prune"])
def converted(request, pooled_model, tiny_dataset):
    from tfcompress.compression.compress import compress_model

    trained, report = pooled_model, None
    if request.param != "dense":
        trained, report = compress_model(pooled_model, tiny_dataset,
                                         tiny_compress_options(pooled_model, request.param, epochs=1), verbose=0,
                                         measure_tflite=False)
    calibration = representative_sample(trained.tokenizer.encode_batch(tiny_dataset.train.texts), 60)
    return request.param, trained, report, convert_custom(trained, calibration)


def test_one_fused_op_per_layer(converted):
    method, _, _, model = converted
    ops = summarize(model).op_counts()
    if method == "prune":  # sparse where that is smaller, else dense
        assert set(ops) <= {"TFC_SPARSE_EMBEDDING_BAG", "TFC_EMBEDDING_BAG", "TFC_SPARSE_FULLY_CONNECTED",
                            "FULLY_CONNECTED"} and sum(ops.values()) == 3 and "TFC_SPARSE_EMBEDDING_BAG" in ops
    else:
        assert ops == OPS[method]


def test_every_buffer_is_aligned_for_the_board(converted):
    model = converted[3]
    root = schema.Model.GetRootAs(model, 0)
    base = np.frombuffer(model, np.uint8).ctypes.data
    for i in range(root.BuffersLength()):
        data = root.Buffers(i).DataAsNumpy()
        if isinstance(data, np.ndarray) and data.size:
            assert (data.ctypes.data - base) % BUFFER_ALIGNMENT == 0


def test_the_file_stores_exactly_the_bytes_the_planner_counted(converted):
    method, trained, report, model = converted
    if report is None:
        return
    summary = summarize(model)
    # constants, plus each builtin tensor's float32 scale and int64 zero point per channel
    stored = sum(t.constant_bytes + (12 * len(t.scales) if t.constant_bytes else 0) for t in summary.tensors)
    assert stored == report["compressed_bytes"]


def test_the_int8_model_is_close_to_the_float_one(converted, tiny_dataset):
    _, trained, _, model = converted
    ids = trained.tokenizer.encode_batch(tiny_dataset.test.texts + tiny_dataset.valid.texts)
    runner = Int8Runner(model, "reference")
    int8 = runner.run(ids)
    logits = trained.model.predict(ids, verbose=0)
    error = np.abs(runner.dequantize(int8) - logits).max() / runner.output_scale
    assert error < 12, error  # LSBs of the output, after three layers of rounding
    top2 = np.sort(logits, axis=-1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 2 * error * runner.output_scale  # no int8 error can swap these
    np.testing.assert_array_equal(int8.argmax(-1)[clear], logits.argmax(-1)[clear])


def test_compressed_models_convert_to_custom_ops_by_default(converted, tiny_dataset, tmp_path):
    from converters.bundle import convert_model

    method, trained, _, _ = converted
    if method not in ("dense", "dkp"):
        return
    manifest = convert_model(trained, tiny_dataset, tmp_path / "fw", calibration_samples=20)
    assert manifest["op_set"] == ("builtin" if method == "dense" else "custom")
    assert manifest["operator_count"] == (3 if method == "dkp" else manifest["operator_count"])


def test_the_logits_range_keeps_resolution_for_the_top_classes():
    from converters.custom_model import LOGIT_SPAN, activation_quantization, logits_quantization

    logits = np.array([[-60.0, 3.0, 2.5], [-40.0, 20.0, 19.7], [-5.0, 1.0, 0.0]])
    scale, zero = logits_quantization(logits)
    low = (-128 - zero) * scale
    assert low == pytest.approx(1.0 - LOGIT_SPAN, abs=scale) and (127 - zero) * scale == pytest.approx(20, abs=scale)
    assert scale < activation_quantization(logits)[0] / 2  # the plain range would spend half its steps below
