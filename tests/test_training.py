import numpy as np
import pytest

from tfcompress.training import classification_loss


def test_label_smoothing_spreads_the_target_over_every_class():
    logits = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], dtype=np.float32)
    labels = np.array([0, 1])
    log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    eps, k = 0.1, logits.shape[1]
    target = np.full_like(logits, eps / k)
    target[np.arange(2), labels] += 1 - eps
    expected = -(target * log_p).sum(1).mean()
    assert float(classification_loss(eps)(labels, logits)) == pytest.approx(expected, rel=1e-5)
    assert float(classification_loss(0.0)(labels, logits)) == pytest.approx(-log_p[np.arange(2), labels].mean(),
                                                                             rel=1e-5)


def test_smoothing_takes_labels_of_any_leading_shape():
    logits = np.random.default_rng(0).normal(size=(2, 3, 5)).astype(np.float32)
    labels = np.array([[0, 1, 2], [3, 4, 0]])
    flat = classification_loss(0.1)(labels.reshape(-1), logits.reshape(-1, 5))
    assert float(classification_loss(0.1)(labels, logits)) == pytest.approx(float(flat), rel=1e-5)


def test_intents_absent_from_training_are_left_out_of_early_stopping_and_count_as_errors(tmp_path):
    """The flight-booking case: valid and test rows with intents no model trained on the set can know."""
    import json

    from click.testing import CliRunner

    from tests.helpers import tiny_records, write_jsonl
    from tfcompress.cli import main

    data = tmp_path / "data"
    data.mkdir()
    unseen = [{"text": f"book a flight to {city}", "intent": "book_flight#book_hotel"} for city in ("rome", "oslo")]
    write_jsonl(data / "train.jsonl", tiny_records(0, 12))
    write_jsonl(data / "valid.jsonl", tiny_records(1, 3) + unseen[:1])
    write_jsonl(data / "test.jsonl", tiny_records(2, 3) + unseen)
    runner = CliRunner()
    result = runner.invoke(main, ["train", "--dataset", str(data), "--epochs", "2", "--embedding-dim", "4",
                                  "--head-units", "4", "--out", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    assert "warning: 1 of 13 valid rows" in result.output and "(book_flight#book_hotel): left out of early " \
                                                                 "stopping" in result.output
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    assert metrics["test"]["examples"] == 14 and metrics["test"]["accuracy"] <= 12 / 14
    result = runner.invoke(main, ["eval", str(tmp_path / "model"), "--json"])
    assert result.exit_code == 0, result.output
    assert "warning: 2 of 14 test rows" in result.output and "counted as errors" in result.output
    result = runner.invoke(main, ["train", "--dataset", str(data), "--strict-labels", "--out", str(tmp_path / "m2")])
    assert result.exit_code == 1 and "valid.jsonl:13: intent 'book_flight#book_hotel' does not occur" in result.output
