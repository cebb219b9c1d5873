import numpy as np
import pytest

from tfcompress.artifacts import TrainedModel
from tfcompress.errors import ModelFileError
from tfcompress.models import ClassifierConfig, build_classifier


@pytest.mark.parametrize("encoder", ["pooled", "lstm", "gru"])
def test_builds_logits_for_each_encoder(encoder):
    config = ClassifierConfig(num_classes=5, vocab_size=30, max_length=6, encoder=encoder,
                              embedding_dim=4, rnn_units=4, head_units=8)
    model = build_classifier(config)
    out = model(np.zeros((2, 6), np.int32))
    assert out.shape == (2, 5)
    assert ClassifierConfig.from_json(config.to_json()) == config


def test_rejects_unknown_encoder():
    with pytest.raises(ValueError, match="encoder must be one of"):
        ClassifierConfig(num_classes=2, vocab_size=4, max_length=2, encoder="transformer")


def test_trained_model_learns_and_roundtrips(pooled_model, tiny_dataset, tmp_path):
    assert pooled_model.metrics["valid"]["accuracy"] > 0.8
    pooled_model.save(tmp_path / "model")
    again = TrainedModel.load(tmp_path / "model")
    texts = tiny_dataset.test.texts
    np.testing.assert_allclose(again.logits(texts), pooled_model.logits(texts), rtol=1e-6)
    assert again.labels == pooled_model.labels and again.config == pooled_model.config
    assert again.info["dataset"] == tiny_dataset.name


def test_load_reports_missing_pieces(tmp_path):
    with pytest.raises(ModelFileError, match="no such model directory"):
        TrainedModel.load(tmp_path / "nothing")
    (tmp_path / "partial").mkdir()
    with pytest.raises(ModelFileError, match="model.keras: missing"):
        TrainedModel.load(tmp_path / "partial")
