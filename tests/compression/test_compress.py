"""compress end to end on the tiny dataset: every method, the report, conversion, errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from converters.tflite import convert_int8
from tfcompress.artifacts import TrainedModel
from tfcompress.cli import main
from tfcompress.compression.compress import CompressOptions, compress_model, model_bytes, parse_target
from tfcompress.errors import TfcompressError
from tfcompress.interpreters import Int8Runner
from tfcompress.models import matrices


@pytest.mark.parametrize("method", ["dkp", "kp", "hmf", "lmf", "prune", "small"])
def test_every_method_meets_the_target_and_reports(method, pooled_model, tiny_dataset, tmp_path):
    options = CompressOptions(method=method, target_ratio=3, epochs=2, patience=2)
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0)
    assert report["compressed_bytes"] <= report["target_bytes"]
    assert report["ratio"] >= 3 * 0.999
    if method not in ("prune", "small"):
        assert model_bytes(compressed.model)[0] == report["compressed_bytes"]
        kinds = {m.structure.kind for m in matrices(compressed.model).values()}
        assert method in kinds
    assert set(report["accuracy_after"]) == {"valid", "test"}
    compressed.save(tmp_path / "c")
    again = TrainedModel.load(tmp_path / "c")
    texts = tiny_dataset.test.texts
    np.testing.assert_allclose(again.logits(texts), compressed.logits(texts), rtol=1e-5, atol=1e-6)
    tflite = convert_int8(again.model, again.tokenizer.encode_batch(tiny_dataset.train.texts[:40]))
    Int8Runner(tflite, "tflm").run(again.tokenizer.encode_batch(texts[:4]))


def test_dkp_ends_at_its_density(pooled_model, tiny_dataset):
    compressed, report = compress_model(pooled_model, tiny_dataset,
                                        CompressOptions(method="dkp", target_ratio=3, epochs=2), verbose=0)
    for name, m in matrices(compressed.model).items():
        if m.structure.kind == "dkp":
            assert m.nonzeros == round(m.structure.density * m.rows * m.cols)
    assert any("densified" in n for n in report["notes"])


def test_parse_target():
    assert parse_target("25x") == (25.0, None)
    assert parse_target("20kb") == (None, 20480)
    assert parse_target("1500") == (None, 1500)
    with pytest.raises(TfcompressError, match="bad target"):
        parse_target("big")


def test_cli_compress_and_unreachable_target(pooled_model, tiny_dataset_dir, tmp_path):
    pooled_model.save(tmp_path / "m")
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(tmp_path / "m"), "--out", str(tmp_path / "c"), "--method", "lmf",
                                  "--target", "3x", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "lmf:" in result.output and "test accuracy" in result.output
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["compression"]["method"] == "lmf" and config["model"]["structures"]["embedding"]["kind"] == "lmf"
    result = runner.invoke(main, ["compress", str(tmp_path / "m"), "--out", str(tmp_path / "d"), "--method", "kp",
                                  "--target", "10b"])
    assert result.exit_code == 1 and "smallest achievable is" in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("method", ["prune", "dkp"])
def test_the_source_model_is_left_untouched(method, pooled_model, tiny_dataset):
    before = [w.copy() for w in pooled_model.model.get_weights()]
    compress_model(pooled_model, tiny_dataset, CompressOptions(method=method, target_ratio=3, epochs=1), verbose=0)
    for old, new in zip(before, pooled_model.model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_vocab_size_keeps_the_most_frequent_words(pooled_model, tiny_dataset):
    compressed, report = compress_model(pooled_model, tiny_dataset,
                                        CompressOptions(method="lmf", target_ratio=3, epochs=1, vocab_size=10),
                                        verbose=0)
    assert compressed.tokenizer.vocab == pooled_model.tokenizer.vocab[:8]
    assert matrices(compressed.model)["embedding"].rows == compressed.config.vocab_size == 10
    assert report["uncompressed_bytes"] == model_bytes(pooled_model.model)[0]  # the ratio is against the original
    assert report["compressed_bytes"] <= report["target_bytes"]
