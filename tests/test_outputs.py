"""tfcompress.outputs: a command replaces only its own earlier output, never its input or a user's files."""

import os

import pytest

from tfcompress.outputs import OutputKind, OutputPathError, check_output

FOLDER = OutputKind("model directory", "tfcompress-model", "config.json", frozenset({"config.json", "model.keras"}))
RESULTS = OutputKind("results file", "tfcompress-results")


def test_a_new_path_or_an_empty_folder_is_fine(tmp_path):
    assert check_output(tmp_path / "new" / "deeper", FOLDER) == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", FOLDER)


def test_an_earlier_output_of_the_same_kind_is_replaceable(tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text('{"format": "tfcompress-model"}')
    check_output(tmp_path / "model", FOLDER)
    (tmp_path / "model" / "NOTES.txt").write_text("mine")
    (tmp_path / "model" / "fw").mkdir()
    with pytest.raises(OutputPathError, match="is an earlier tfcompress model directory but also holds NOTES.txt, "
                                              "fw/, which replacing it would delete"):
        check_output(tmp_path / "model", FOLDER)
    check_output(tmp_path / "model", FOLDER, force=True)
    (tmp_path / "model" / "NOTES.txt").unlink()
    (tmp_path / "model" / "fw").rmdir()
    (tmp_path / "model" / "config.json").write_text('{"format": "tfcompress-manifest"}')
    with pytest.raises(OutputPathError, match="not a tfcompress model directory"):
        check_output(tmp_path / "model", FOLDER)


def test_a_folder_of_other_files_is_refused_naming_them_unless_forced(tmp_path):
    (tmp_path / "mine" / "sub").mkdir(parents=True)
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    with pytest.raises(OutputPathError) as err:
        check_output(tmp_path / "mine", FOLDER)
    assert str(err.value) == (f"{tmp_path / 'mine'}: exists and is not a tfcompress model directory (it holds "
                              "sub/, thesis.tex); choose another path, or use --force to replace it")
    check_output(tmp_path / "mine", FOLDER, force=True)


def test_a_file_where_a_folder_goes_is_refused_unless_forced(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputPathError, match="notes.txt: is a file, not a tfcompress model directory"):
        check_output(tmp_path / "notes.txt", FOLDER)
    check_output(tmp_path / "notes.txt", FOLDER, force=True)
    with pytest.raises(OutputPathError, match="cannot be created: .*notes.txt is a file"):
        check_output(tmp_path / "notes.txt" / "model", FOLDER)


def test_the_input_is_never_replaced_not_even_forced(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text('{"format": "tfcompress-model"}')
    for out in (model, tmp_path / "model" / ".", tmp_path, model / "inside", model / "config.json"):
        with pytest.raises(OutputPathError, match="is, holds or lies inside an input of this command"):
            check_output(out, FOLDER, inputs=[model], force=True)
    check_output(tmp_path / "other", FOLDER, inputs=[model])
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("{}")
    with pytest.raises(OutputPathError, match="an input of this command"):  # a dataset's folder is an input too
        check_output(data, FOLDER, inputs=[data / "train.jsonl"], force=True)


def test_a_folder_without_write_permission_is_refused_up_front(tmp_path, monkeypatch):
    """The tests run as root, who may write anywhere, so the permission answer is the OS's for
    everything but the locked folder (made read-only as well)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(locked) else real_access(p, mode))
    with pytest.raises(OutputPathError, match=f"model: cannot be written: no permission to write into {locked}"):
        check_output(locked / "model", FOLDER)


def test_a_symlinked_output_is_replaced_where_it_points(tmp_path):
    from tfcompress import fileio

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real" / "model")
    for text in ("1", "2"):
        with fileio.staged_directory(tmp_path / "link", FOLDER) as staging:
            (staging / "config.json").write_text('{"format": "tfcompress-model"}')
            (staging / "model.keras").write_text(text)
    assert (tmp_path / "link").is_symlink() and (tmp_path / "link" / "model.keras").read_text() == "2"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["model"]


def test_the_current_directory_and_its_parents_are_never_replaced(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    for out in (".", "..", os.getcwd()):
        with pytest.raises(OutputPathError, match="is the current directory or holds it"):
            check_output(out, FOLDER, force=True)


def test_a_results_file_replaces_only_an_earlier_results_file(tmp_path):
    path = tmp_path / "results.json"
    check_output(path, RESULTS)
    path.write_text('{"format": "tfcompress-results", "runs": []}')
    check_output(path, RESULTS)
    path.write_text("my notes")
    with pytest.raises(OutputPathError, match="exists and is not a tfcompress results file"):
        check_output(path, RESULTS)
    check_output(path, RESULTS, force=True)
    with pytest.raises(OutputPathError, match="is a folder; the results file is a file"):
        check_output(tmp_path, RESULTS, force=True)
