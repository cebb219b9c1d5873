"""The CLI end to end on the tiny dataset, through click's runner (same process, real library)."""

import json

import pytest
from click.testing import CliRunner

from tfcompress.cli import main

TINY_TRAIN = ["--vocab-size", "64", "--embedding-dim", "8", "--head-units", "16", "--epochs", "6",
              "--batch-size", "16", "--learning-rate", "0.01"]


@pytest.fixture(scope="module")
def trained_dir(tiny_dataset_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "model"
    result = CliRunner().invoke(main, ["train", "--dataset", str(tiny_dataset_dir), "--out", str(out), *TINY_TRAIN])
    assert result.exit_code == 0, result.output
    return out


def test_train_writes_model_directory(trained_dir):
    assert {p.name for p in trained_dir.iterdir()} == {
        "model.keras", "tokenizer.json", "labels.json", "config.json", "metrics.json"}
    metrics = json.loads((trained_dir / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"accuracy", "macro_f1"}


def test_convert_eval_inspect(trained_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fw"
    result = runner.invoke(main, ["convert", str(trained_dir), "--out", str(out), "--calibration-samples", "40"])
    assert result.exit_code == 0, result.output
    assert "model.tflite" in result.output and (out / "model_data.c").is_file()

    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(out), "--interpreter", "tflm", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["interpreter"] == "tflm" and report["split"] == "test"
    assert abs(report["float"]["accuracy"] - report["int8"]["accuracy"]) <= 0.1

    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(out / "model.tflite"), "--split", "valid"])
    assert result.exit_code == 0, result.output
    assert "accuracy" in result.output and "macro_f1" in result.output

    result = runner.invoke(main, ["inspect", str(out / "model.tflite")])
    assert result.exit_code == 0 and "FULLY_CONNECTED" in result.output and "tensors:" in result.output


def test_errors_are_one_line_not_tracebacks(tmp_path, tiny_dataset_dir):
    runner = CliRunner()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "train.jsonl").write_text('{"text": "hi", "intent": "a"}\n{"text": "yo"\n')
    result = runner.invoke(main, ["train", "--dataset", str(bad), "--out", str(tmp_path / "m")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {bad / 'train.jsonl'}:2: bad JSON (Expecting ',' delimiter at column 14)"
    assert not (tmp_path / "m").exists()

    (tmp_path / "cut.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(20))
    result = runner.invoke(main, ["inspect", str(tmp_path / "cut.tflite")])
    assert result.exit_code == 1 and "cut.tflite" in result.output and "Traceback" not in result.output

    result = runner.invoke(main, ["eval", str(tmp_path / "nomodel")])
    assert result.exit_code == 1 and "no such model directory" in result.output


def test_write_demo_data(tmp_path):
    result = CliRunner().invoke(main, ["write-demo-data", str(tmp_path / "demo")])
    assert result.exit_code == 0
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {"train.jsonl", "valid.jsonl", "test.jsonl"}
