"""compress end to end on the tiny dataset: every method, the report, conversion, errors."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from converters.tflite import convert_int8
from tests.helpers import tiny_compress_options, tiny_ratio
from tfcompress.artifacts import TrainedModel
from tfcompress.cli import main
from tfcompress.compression.compress import CompressOptions, compress_model, format_report, model_bytes
from tfcompress.data.dataset import LabelMismatchError
from tfcompress.errors import TfcompressError
from tfcompress.interpreters import Int8Runner
from tfcompress.models import matrices


@pytest.mark.parametrize("method", ["dkp", "kp", "hmf", "lmf", "prune", "small"])
def test_every_method_meets_the_target_and_reports(method, pooled_model, tiny_dataset, tmp_path):
    options = CompressOptions(method=method, target_ratio=tiny_ratio(method), epochs=2, patience=2)
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False)
    assert report["compressed_bytes"] <= report["target_bytes"]
    assert report["ratio"] >= options.target_ratio * 0.999
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
                                        tiny_compress_options(pooled_model, "dkp", target_ratio=3, epochs=2), verbose=0,
                                        measure_tflite=False)
    for name, m in matrices(compressed.model).items():
        if m.structure.kind == "dkp":
            assert m.nonzeros == round(m.structure.density * m.rows * m.cols)
    assert any("stored sparse by the custom ops" in n for n in report["notes"])


def test_a_dataset_with_other_intents_is_refused(pooled_model):
    from tfcompress.data import load_dataset

    with pytest.raises(LabelMismatchError, match="dataset demo and the model have different intents: only in the "
                                                 "dataset: add_to_shopping_list, .* and 5 more; "
                                                 "only in the model: weather$"):
        compress_model(pooled_model, load_dataset("demo"), CompressOptions(method="lmf", target_ratio=3), verbose=0)


def test_compress_says_what_it_does_and_what_the_deployable_file_weighs(pooled_model, tiny_dataset, tmp_path):
    from converters.bundle import convert_model

    heard = []
    compressed, report = compress_model(pooled_model, tiny_dataset, CompressOptions(method="dkp", target_ratio=3,
                                                                                    epochs=3), verbose=0,
                                        log=heard.append)
    phases = ["planning dkp", "  embedding", "initialising from the nearest Kronecker product",
              "S is annealed from dense", "fine-tuning up to 3 epochs", "fine-tuned", "measuring the deployable"]
    assert [next(i for i, m in enumerate(heard) if m.startswith(p)) for p in phases] == sorted(
        next(i for i, m in enumerate(heard) if m.startswith(p)) for p in phases)
    assert "while S thinned; best after annealing" in next(m for m in heard if m.startswith("fine-tuned"))
    manifest = convert_model(compressed, tiny_dataset, tmp_path / "fw", calibration_samples=50)
    assert report["tflite_bytes"]["compressed"] == manifest["model"]["bytes"]
    assert manifest["compression"]["tflite_bytes"] == report["tflite_bytes"]
    text = format_report(report)
    assert "{" not in text and "Kronecker A " in text and "+ sparse S " in text
    not_smaller = report["tflite_bytes"]["compressed"] >= report["tflite_bytes"]["uncompressed"]
    assert ("NOT smaller" in text) == not_smaller and ("x smaller than" in text) != not_smaller
    assert "hint:" not in format_report({**report, "accuracy_after": report["accuracy_before"]})
    fallen = {**report["accuracy_before"], "valid": report["accuracy_before"]["valid"] - 0.2}
    assert "hint: validation accuracy fell 20.0 points" in format_report({**report, "accuracy_after": fallen})


def test_cli_compress_and_unreachable_target(pooled_model, tiny_dataset_dir, tmp_path):
    pooled_model.save(tmp_path / "m")
    runner = CliRunner()
    result = runner.invoke(main, ["compress", str(tmp_path / "m"), "--out", str(tmp_path / "c"), "--method", "lmf",
                                  "--target", "2x", "--epochs", "1"])
    assert result.exit_code == 0, result.output
    assert "lmf:" in result.output and "test accuracy" in result.output
    assert "planning lmf" in result.output and "low rank" in result.output
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["compression"]["method"] == "lmf" and config["model"]["structures"]["embedding"]["kind"] == "lmf"
    result = runner.invoke(main, ["convert", str(tmp_path / "c"), "--out", str(tmp_path / "fw"),
                                  "--calibration-samples", "20"])
    assert result.exit_code == 0, result.output
    sizes = config["compression"]["tflite_bytes"]
    assert f"model.tflite {(tmp_path / 'fw' / 'model.tflite').stat().st_size:,} bytes" in result.output
    assert f"the uncompressed model's {sizes['uncompressed']:,} bytes" in result.output
    result = runner.invoke(main, ["compress", str(tmp_path / "m"), "--out", str(tmp_path / "d"), "--method", "kp",
                                  "--target", "10b"])
    assert result.exit_code == 1 and "smallest achievable is" in result.output
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("method", ["prune", "dkp"])
def test_the_source_model_is_left_untouched(method, pooled_model, tiny_dataset):
    before = [w.copy() for w in pooled_model.model.get_weights()]
    compress_model(pooled_model, tiny_dataset, CompressOptions(method=method, target_ratio=2, epochs=1), verbose=0,
                   measure_tflite=False)
    for old, new in zip(before, pooled_model.model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_vocab_size_keeps_the_most_frequent_words(pooled_model, tiny_dataset):
    compressed, report = compress_model(pooled_model, tiny_dataset,
                                        CompressOptions(method="lmf", target_ratio=2, epochs=1, vocab_size=10),
                                        verbose=0, measure_tflite=False)
    assert compressed.tokenizer.vocab == pooled_model.tokenizer.vocab[:8]
    assert matrices(compressed.model)["embedding"].rows == compressed.config.vocab_size == 10
    assert report["uncompressed_bytes"] == model_bytes(pooled_model.model)[0]  # the ratio is against the original
    assert report["compressed_bytes"] <= report["target_bytes"]


def test_a_size_target_at_or_above_the_model_is_refused(pooled_model, tiny_dataset):
    size = model_bytes(pooled_model.model)[0]
    with pytest.raises(TfcompressError, match=f"target {size:,} bytes is not below the model's {size:,} bytes"):
        compress_model(pooled_model, tiny_dataset, CompressOptions(method="lmf", target_ratio=None, target_bytes=size),
                       verbose=0)


def test_distillation_fine_tunes_on_the_uncompressed_models_soft_targets(pooled_model, tiny_dataset):
    import tensorflow as tf

    from tfcompress.training import distillation_loss

    heard = []
    options = CompressOptions(method="lmf", target_ratio=2, epochs=2, distill=0.5, vocab_size=30, allocation=0.5)
    compressed, report = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False,
                                        log=heard.append)
    assert "distilling from the uncompressed model (weight 0.5 on its soft targets)" in heard
    assert report["fine_tuning"]["valid_accuracy"] and report["options"]["distill"] == 0.5
    logits = tf.constant([[2.0, 0.0, -1.0]])
    same = distillation_loss(0.0, 1.0)(tf.constant([[0.0, 2.0, 0.0, -1.0]]), logits)
    other = distillation_loss(0.0, 1.0)(tf.constant([[0.0, -1.0, 0.0, 2.0]]), logits)
    assert abs(float(same)) < 1e-6 < float(other)  # only the teacher counts at weight 1
    hard = distillation_loss(0.0, 0.0)(tf.constant([[0.0, -1.0, 0.0, 2.0]]), logits)
    assert abs(float(hard) - float(tf.nn.sparse_softmax_cross_entropy_with_logits([0], logits)[0])) < 1e-5
