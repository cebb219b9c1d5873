import pytest

from converters.flatbuffer import read_model, summarize
from tfcompress.errors import ModelFileError


def test_summary_lists_ops_tensors_and_quantization(pooled_bundle):
    data, summary = read_model(pooled_bundle / "model.tflite")
    assert summary.size_bytes == len(data)
    assert [op.name for op in summary.operators] == ["GATHER", "MEAN", "FULLY_CONNECTED", "FULLY_CONNECTED"]
    out = summary.tensors[summary.outputs[0]]
    assert out.dtype == "int8" and len(out.scales) == 1 and -128 <= out.zero_points[0] <= 127
    text = summary.format("model.tflite")
    assert "FULLY_CONNECTED" in text and "scale=" in text and "int32" in text


@pytest.mark.parametrize("cut", [4, 100, 0.5, -16])
def test_truncated_file_is_a_clear_error(pooled_bundle, tmp_path, cut):
    data = (pooled_bundle / "model.tflite").read_bytes()
    end = int(len(data) * cut) if isinstance(cut, float) else cut
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:end])
    with pytest.raises(ModelFileError) as err:
        read_model(path)
    assert str(path) in str(err.value)
    assert "truncated" in str(err.value) or "too short" in str(err.value)


def test_corrupt_and_foreign_files(pooled_bundle, tmp_path):
    data = bytearray((pooled_bundle / "model.tflite").read_bytes())
    data[0:4] = (len(data) + 1000).to_bytes(4, "little")
    with pytest.raises(ModelFileError, match="corrupt"):
        summarize(bytes(data), "x.tflite")
    with pytest.raises(ModelFileError, match="not a .tflite model"):
        summarize(b"PK\x03\x04" + bytes(100), "x.zip")
    with pytest.raises(ModelFileError, match="no such file"):
        read_model(tmp_path / "missing.tflite")
