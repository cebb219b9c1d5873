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


BAD_OPTIONS = [
    (["train", "--dataset", "demo", "--out", "m", "--epochs", "0"], "--epochs"),
    (["train", "--dataset", "demo", "--out", "m", "--batch-size", "0"], "--batch-size"),
    (["train", "--dataset", "demo", "--out", "m", "--vocab-size", "0"], "--vocab-size"),
    (["train", "--dataset", "demo", "--out", "m", "--vocab-size", "2"], "--vocab-size"),
    (["train", "--dataset", "demo", "--out", "m", "--dropout", "1.5"], "--dropout"),
    (["train", "--dataset", "demo", "--out", "m", "--embedding-dim", "0"], "--embedding-dim"),
    (["train", "--dataset", "demo", "--out", "m", "--max-length", "0"], "--max-length"),
    (["train", "--dataset", "demo", "--out", "m", "--learning-rate", "0"], "--learning-rate"),
    (["train", "--dataset", "demo", "--out", "m", "--label-smoothing", "1"], "--label-smoothing"),
    (["train", "--dataset", "demo", "--out", "m", "--seed", "-1"], "--seed"),
    (["train", "--dataset", "demo", "--out", "m", "--encoder", "cnn"], "--encoder"),
    (["train", "--dataset", "demo", "--out", "m", "--learning-rate", "nan"], "--learning-rate"),
    (["train", "--dataset", "demo", "--out", "m", "--dropout", "nan"], "--dropout"),
    (["train", "--dataset", "demo", "--out", "m", "--label-smoothing", "inf"], "--label-smoothing"),
    (["compress", "m", "--out", "c", "--allocation", "inf"], "--allocation"),
    (["compress", "m", "--out", "c", "--doping-share", "nan"], "--doping-share"),
    (["compress", "m", "--out", "c", "--target-kb", "nan"], "--target-kb"),
    (["compress", "m", "--out", "c", "--target-kb", "0.0001"], "--target-kb"),
    (["lm-benchmark", "--out", "lm.json", "--ratio", "nan"], "--ratio"),
    (["compress", "m", "--out", "c", "--target", "0x"], "--target"),
    (["compress", "m", "--out", "c", "--target", "1.2.3x"], "--target"),
    (["compress", "m", "--out", "c", "--target", "0.5x"], "--target"),
    (["compress", "m", "--out", "c", "--target", "0kb"], "--target"),
    (["compress", "m", "--out", "c", "--target-kb", "-1"], "--target-kb"),
    (["compress", "m", "--out", "c", "--method", "svd"], "--method"),
    (["compress", "m", "--out", "c", "--epochs", "0"], "--epochs"),
    (["compress", "m", "--out", "c", "--vocab-size", "2"], "--vocab-size"),
    (["compress", "m", "--out", "c", "--doping-share", "1"], "--doping-share"),
    (["compress", "m", "--out", "c", "--cmr", "-0.1"], "--cmr"),
    (["compress", "m", "--out", "c", "--layers", "embedding,decoder"], "--layers"),
    (["convert", "m", "--out", "fw", "--calibration-samples", "0"], "--calibration-samples"),
    (["eval", "m", "--interpreter", "xnnpack"], "--interpreter"),
    (["pareto", "m", "--out", "p.json", "--ratios", "10,0.5"], "--ratios"),
    (["pareto", "m", "--out", "p.json", "--methods", "dkp,svd"], "--methods"),
    (["pareto", "m", "--out", "p.json", "--epochs", "0"], "--epochs"),
    (["lm-benchmark", "--out", "lm.json", "--ratio", "1"], "--ratio"),
    (["lm-benchmark", "--out", "lm.json", "--methods", "dkp,small"], "--methods"),
    (["lm-benchmark", "--out", "lm.json", "--epochs", "0"], "--epochs"),
    (["lm-benchmark", "--out", "lm.json", "--vocab-size", "2"], "--vocab-size"),
]


@pytest.mark.parametrize("args,option", BAD_OPTIONS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_OPTIONS])
def test_a_bad_option_value_is_one_error_line_and_exit_code_2(args, option, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"'{option}'" in errors[0], result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert list(tmp_path.iterdir()) == []


def test_cli_defaults_are_the_library_defaults():
    import dataclasses

    from tfcompress.options import CompressOptions, LMOptions, TrainOptions

    for command, options in (("train", TrainOptions), ("compress", CompressOptions), ("lm-benchmark", LMOptions)):
        defaults = {f.name: f.default for f in dataclasses.fields(options)}
        params = [p for p in main.commands[command].params if p.name in defaults]
        assert len(params) >= 4
        for param in params:
            value = param.default if param.default is None else param.type.convert(param.default, param, None)
            assert value == defaults[param.name], (command, param.name)


def test_top_level_help_shows_every_whole_description():
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0 and "..." not in result.output.split("Commands:")[1]
    text = " ".join(result.output.split())
    for command in main.commands.values():
        assert " ".join(command.help.split("\n")[0].split()) in text


def test_help_says_what_demo_does_and_which_interpreter_eval_uses():
    runner = CliRunner()
    assert "compress" in runner.invoke(main, ["demo", "--help"]).output
    help_text = " ".join(runner.invoke(main, ["eval", "--help"]).output.split())
    assert "default: tflm" in help_text and "golden" in help_text


def test_eval_refuses_another_models_tflite_naming_both(trained_dir, tmp_path, tiny_dataset):
    from converters.bundle import convert_model
    from tfcompress.training import TrainOptions, train_classifier

    runner = CliRunner()
    same_shapes = train_classifier(tiny_dataset, TrainOptions(vocab_size=64, embedding_dim=8, head_units=16,
                                                              epochs=1, seed=1), verbose=0)
    other = tmp_path / "other"
    convert_model(same_shapes, tiny_dataset, other, calibration_samples=10)
    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(other)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{other / 'model.tflite'}: was converted from another model than {trained_dir}" in result.output

    longer = train_classifier(tiny_dataset, TrainOptions(vocab_size=64, embedding_dim=8, head_units=16, epochs=1,
                                                         max_length=5), verbose=0)
    convert_model(longer, tiny_dataset, tmp_path / "longer", calibration_samples=10)
    (tmp_path / "bare").mkdir()
    bare = tmp_path / "bare" / "x.tflite"
    bare.write_bytes((tmp_path / "longer" / "model.tflite").read_bytes())
    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(bare)])
    assert result.exit_code == 1
    assert f"{bare}: input shape [1, 5] does not fit {trained_dir}" in result.output

    bare.write_bytes((other / "model.tflite").read_bytes())  # same shapes, no manifest: evaluated, with a warning
    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(bare)])
    assert result.exit_code == 0 and "only its shapes were checked" in result.output


def test_eval_refuses_a_dataset_with_other_labels(trained_dir):
    result = CliRunner().invoke(main, ["eval", str(trained_dir), "--dataset", "demo"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: <built-in demo>/test: ") and "are not labels of the model" in line
    assert "lights_on" in line  # the model's labels are listed


@pytest.mark.parametrize("name,text,message", [
    ("config.json", '{"model": ', "config.json: cannot read it as JSON"),
    ("config.json", '{"model": {}}', "config.json: has no valid \"model\" architecture"),
    ("config.json", None, "config.json: does not record its training dataset (dataset_spec): pass --dataset"),
    ("labels.json", "[1, 2, 3]", "labels.json: must be a JSON array of label names"),
    ("labels.json", '["a", "b"]', "labels.json: names 2 labels but the model has 4 outputs"),
])
def test_a_damaged_model_directory_is_one_error_line(trained_dir, tmp_path, name, text, message):
    import shutil

    damaged = tmp_path / "damaged"
    shutil.copytree(trained_dir, damaged)
    if text is None:  # drop dataset_spec
        config = json.loads((damaged / name).read_text())
        del config["dataset_spec"]
        text = json.dumps(config)
    (damaged / name).write_text(text)
    result = CliRunner().invoke(main, ["eval", str(damaged)])
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert result.output.startswith("Error: ") and message in result.output, result.output


@pytest.mark.parametrize("manifest_change,message", [
    ({"model": "x"}, "missing or not a tfcompress manifest"),
    ({"source": {"fingerprint": 123}}, "source.fingerprint must be a string"),
])
def test_a_damaged_manifest_is_one_error_line(trained_dir, tmp_path, manifest_change, message):
    out = tmp_path / "fw"
    assert CliRunner().invoke(main, ["convert", str(trained_dir), "--out", str(out),
                                     "--calibration-samples", "10"]).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, **manifest_change}))
    result = CliRunner().invoke(main, ["eval", str(trained_dir), "--tflite", str(out)])
    assert result.exit_code == 1 and "Traceback" not in result.output and message in result.output, result.output


def test_convert_with_custom_ops_and_evaluate_them_in_c(trained_dir, tmp_path):
    runner = CliRunner()
    builtin, custom = tmp_path / "builtin", tmp_path / "custom"
    for out, ops in ((builtin, "builtin"), (custom, "custom")):
        result = runner.invoke(main, ["convert", str(trained_dir), "--out", str(out), "--ops", ops,
                                      "--calibration-samples", "20"])
        assert result.exit_code == 0, result.output
    manifest = json.loads((custom / "manifest.json").read_text())
    assert "TFC_EMBEDDING_BAG" in manifest["ops"]
    from converters.flatbuffer import read_model

    _, stripped = read_model(custom / "model.tflite")
    assert all(t.name == "" for t in stripped.tensors)  # a board needs no tensor names
    assert set(manifest["weight_bytes_per_layer"]) >= {"embedding", "logits"}  # counted before stripping
    assert manifest["inputs"][0]["name"]
    result = runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(custom), "--interpreter", "tflm"])
    assert result.exit_code == 1 and "evaluate it with --interpreter c (or reference)" in result.output
    reports = [json.loads(runner.invoke(main, ["eval", str(trained_dir), "--tflite", str(custom), *kind,
                                                "--json"]).output) for kind in ([], ["--interpreter", "c"])]
    assert reports[0]["interpreter"] == "reference"  # the golden of a model with TFC_ ops
    assert reports[0]["int8"] == reports[1]["int8"]
