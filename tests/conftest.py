"""Shared fixtures: a tiny intent set and tiny trained + converted models (session-scoped)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

TINY_INTENTS = {
    "lights_on": ["turn on the {} lights", "switch the {} light on", "lights on in the {}"],
    "lights_off": ["turn off the {} lights", "switch the {} light off", "lights off in the {}"],
    "play_music": ["play some {} music", "put on {} songs", "i want to hear {} tunes"],
    "weather": ["what is the weather in {}", "will it rain in {}", "forecast for {} please"],
}
FILLERS = ["kitchen", "bedroom", "garden", "office", "hall", "jazz", "rock", "paris", "oslo", "rome", "lima", "attic"]


def tiny_records(offset: int, count: int) -> list[dict]:
    records = []
    for intent, templates in TINY_INTENTS.items():
        for k in range(count):
            template = templates[(k + offset) % len(templates)]
            records.append({"text": template.format(FILLERS[(k * 5 + offset) % len(FILLERS)]), "intent": intent})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


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
