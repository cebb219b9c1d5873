import numpy as np
import pytest

from converters.flatbuffer import summarize
from converters.tflite import convert_int8, representative_sample
from tfcompress.models import ClassifierConfig, build_classifier


@pytest.mark.parametrize("encoder", ["pooled", "lstm", "gru"])
def test_every_tensor_is_integer(encoder):
    """No float island (DEQUANTIZE ... QUANTIZE) survives: int8-only kernels can run the model."""
    model = build_classifier(ClassifierConfig(5, 60, 6, encoder=encoder, embedding_dim=8, rnn_units=16, head_units=8))
    ids = np.random.default_rng(0).integers(0, 60, (40, 6)).astype(np.int32)
    summary = summarize(convert_int8(model, ids))
    assert {t.dtype for t in summary.tensors} <= {"int8", "int32"}
    assert not {"QUANTIZE", "DEQUANTIZE"} & set(summary.op_counts())


def test_representative_sample_is_seeded_subset():
    data = np.arange(1000).reshape(-1, 1)
    a, b = representative_sample(data, 10, seed=3), representative_sample(data, 10, seed=3)
    assert np.array_equal(a, b) and len(a) == 10 and len(np.unique(a)) == 10
    assert representative_sample(data[:5], 10).shape == (5, 1)
