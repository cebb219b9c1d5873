"""The CLI never loses a user's files: outputs are checked before any work, inputs never replaced."""

import os

import pytest
from click.testing import CliRunner

from tests.test_cli import TINY_TRAIN
from tfcompress.cli import main


@pytest.fixture(scope="module")
def model_dir(pooled_model, tmp_path_factory):
    return pooled_model.save(tmp_path_factory.mktemp("outputs") / "model")


def _refused(result, *fragments):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.output.count("Error:") == 1, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


def test_train_into_a_folder_of_other_files_refuses_before_training(tiny_dataset_dir, tmp_path):
    mine = tmp_path / "mine"
    (mine / "sub").mkdir(parents=True)
    (mine / "thesis.tex").write_text("years of work")
    (mine / "sub" / "data.csv").write_text("1,2")
    result = CliRunner().invoke(main, ["train", "--dataset", str(tiny_dataset_dir), "--out", str(mine), *TINY_TRAIN])
    _refused(result, f"Error: {mine}: exists and is not a tfcompress model directory (it holds sub/, thesis.tex)",
             "--force")
    assert "dataset" not in result.output.split("Error:")[0]  # refused before loading anything
    assert (mine / "thesis.tex").read_text() == "years of work" and (mine / "sub" / "data.csv").is_file()


def test_train_into_the_current_directory_refuses_before_training(tiny_dataset_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    result = CliRunner().invoke(main, ["train", "--dataset", str(tiny_dataset_dir), "--out", ".", "--force"])
    _refused(result, "is the current directory or holds it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_convert_or_compress_onto_their_own_input_is_refused(model_dir, tmp_path):
    runner = CliRunner()
    before = (model_dir / "model.keras").read_bytes()
    for command in (["convert", str(model_dir), "--out", str(model_dir), "--force"],
                    ["compress", str(model_dir), "--out", str(model_dir), "--force"]):
        _refused(runner.invoke(main, command), f"Error: {model_dir}: is, holds or lies inside an input of this command")
    assert (model_dir / "model.keras").read_bytes() == before
    result = runner.invoke(main, ["eval", str(model_dir), "--split", "valid"])
    assert result.exit_code == 0, result.output


def test_convert_onto_a_regular_file_is_refused_then_forced(model_dir, tmp_path):
    runner = CliRunner()
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    args = ["convert", str(model_dir), "--out", str(target), "--calibration-samples", "10"]
    _refused(runner.invoke(main, args), f"Error: {target}: is a file, not a tfcompress firmware bundle")
    assert target.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
    result = runner.invoke(main, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert (target / "manifest.json").is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_an_earlier_output_is_replaced_and_its_files_are_readable_by_others(model_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fw"
    old = os.umask(0o022)
    try:
        for _ in range(2):  # the second run replaces the first's bundle without --force
            result = runner.invoke(main, ["convert", str(model_dir), "--out", str(out), "--calibration-samples", "10"])
            assert result.exit_code == 0, result.output
    finally:
        os.umask(old)
    assert [p.name for p in tmp_path.iterdir()] == ["fw"]
    assert out.stat().st_mode & 0o777 == 0o755
    assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {0o644}


def test_files_a_user_added_to_an_earlier_output_are_not_deleted(model_dir, tmp_path):
    runner = CliRunner()
    out = tmp_path / "fw"
    args = ["convert", str(model_dir), "--out", str(out), "--calibration-samples", "10"]
    assert runner.invoke(main, args).exit_code == 0
    (out / "NOTES.txt").write_text("mine")
    _refused(runner.invoke(main, args), f"Error: {out}: is an earlier tfcompress firmware bundle but also holds "
                                        "NOTES.txt, which replacing it would delete")
    assert (out / "NOTES.txt").read_text() == "mine"


def test_no_output_inside_or_around_an_input(model_dir, tiny_dataset_dir, tmp_path):
    import shutil

    runner = CliRunner()
    data = tmp_path / "data"
    shutil.copytree(tiny_dataset_dir, data)
    _refused(runner.invoke(main, ["train", "--dataset", str(data), "--out", str(data), "--force"]),
             "lies inside an input of this command")
    _refused(runner.invoke(main, ["convert", str(model_dir), "--out", str(model_dir / "fw")]),
             "lies inside an input of this command")
    _refused(runner.invoke(main, ["compress", str(model_dir), "--out", str(data), "--dataset", str(data), "--force"]),
             "lies inside an input of this command")
    assert sorted(p.name for p in data.iterdir()) == ["test.jsonl", "train.jsonl", "valid.jsonl"]
    assert not (model_dir / "fw").exists()


def test_other_commands_refuse_foreign_outputs(model_dir, tmp_path):
    runner = CliRunner()
    (tmp_path / "results.json").write_text("my spreadsheet")
    _refused(runner.invoke(main, ["pareto", str(model_dir), "--out", str(tmp_path / "results.json")]),
             "exists and is not a tfcompress Pareto results file")
    _refused(runner.invoke(main, ["lm-benchmark", "--out", str(tmp_path / "results.json")]),
             "exists and is not a tfcompress language-model benchmark file")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "todo.md").write_text("x")
    _refused(runner.invoke(main, ["demo", "--workdir", str(tmp_path / "work")]),
             "exists and is not a tfcompress demo folder (it holds todo.md)")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text("mine")
    _refused(runner.invoke(main, ["write-demo-data", str(tmp_path / "data")]),
             f"{tmp_path / 'data' / 'train.jsonl'}: exists")
    assert (tmp_path / "results.json").read_text() == "my spreadsheet"
    assert (tmp_path / "data" / "train.jsonl").read_text() == "mine"
