"""Shared fixtures: a tiny intent set and tiny trained + converted models (session-scoped)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import tiny_records, write_jsonl


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    write_jsonl(root / "train.jsonl", tiny_records(0, 30))
    write_jsonl(root / "valid.jsonl", tiny_records(1, 6))
    write_jsonl(root / "test.jsonl", tiny_records(2, 8))
    return root


@pytest.fixture(scope="session")
def tiny_dataset(tiny_dataset_dir):
    from tfcompress.data import load_dataset

    return load_dataset(str(tiny_dataset_dir))


def _train(dataset, encoder: str):
    from tfcompress.training import TrainOptions, train_classifier

    options = TrainOptions(encoder=encoder, vocab_size=64, embedding_dim=8, rnn_units=8, head_units=16,
                           epochs=8, patience=8, batch_size=16, learning_rate=0.01)
    return train_classifier(dataset, options, verbose=0)


@pytest.fixture(scope="session")
def pooled_model(tiny_dataset):
    return _train(tiny_dataset, "pooled")


@pytest.fixture(scope="session")
def lstm_model(tiny_dataset):
    return _train(tiny_dataset, "lstm")


@pytest.fixture(scope="session")
def pooled_bundle(pooled_model, tiny_dataset, tmp_path_factory) -> Path:
    from converters.bundle import convert_model

    out = tmp_path_factory.mktemp("bundle") / "firmware"
    convert_model(pooled_model, tiny_dataset, out, calibration_samples=50)
    return out


@pytest.fixture(scope="session")
def lstm_tflite(lstm_model, tiny_dataset) -> bytes:
    from converters.tflite import convert_int8

    return convert_int8(lstm_model.model, lstm_model.tokenizer.encode_batch(tiny_dataset.train.texts[:50]))


@pytest.fixture(scope="session")
def dkp_model_dir(pooled_model, tiny_dataset, tmp_path_factory) -> Path:
    """The tiny pooled model compressed with DKP, saved as `compress` saves it."""
    from tfcompress.compression.compress import compress_model
    from tests.helpers import tiny_compress_options

    options = tiny_compress_options(pooled_model, "dkp", epochs=1)
    compressed = compress_model(pooled_model, tiny_dataset, options, verbose=0, measure_tflite=False)[0]
    out = tmp_path_factory.mktemp("dkp_model") / "model"
    compressed.save(out)
    return out


@pytest.fixture(scope="session")
def dkp_bundle(dkp_model_dir, tiny_dataset, tmp_path_factory) -> Path:
    """The DKP model converted with tfcompress's fused ops: the model the board tests run."""
    from converters.bundle import convert_model
    from tfcompress.artifacts import TrainedModel

    out = tmp_path_factory.mktemp("dkp_bundle") / "firmware"
    convert_model(TrainedModel.load(dkp_model_dir), tiny_dataset, out, calibration_samples=50, ops="custom")
    return out
