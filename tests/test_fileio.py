import os
import signal
import subprocess
import sys

import pytest

from tfcompress import fileio
from tfcompress.outputs import OutputKind, OutputPathError

KIND = OutputKind("test folder", "tfcompress-test", "marker.json", frozenset({"marker.json", "x", "half"}))


def _stage(out, text):
    with fileio.staged_directory(out, KIND) as staging:
        fileio.write_json(staging / "marker.json", {"format": KIND.format})
        (staging / "x").write_text(text)


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "a.bin"
    fileio.write_bytes(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(fileio.os, "replace", broken_replace)
    with pytest.raises(OSError):
        fileio.write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_staged_directory_keeps_old_content_when_the_block_fails(tmp_path):
    out = tmp_path / "out"
    _stage(out, "1")
    with pytest.raises(RuntimeError):
        with fileio.staged_directory(out, KIND) as staging:
            (staging / "x").write_text("2")
            raise RuntimeError("interrupted")
    assert (out / "x").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    _stage(out, "3")
    assert (out / "x").read_text() == "3"


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_files_and_folders_get_the_permissions_the_umask_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        _stage(tmp_path / "out", "1")
        fileio.write_text(tmp_path / "lone.txt", "1")
    finally:
        os.umask(old)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~umask
    for path in (tmp_path / "out" / "marker.json", tmp_path / "lone.txt"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask


KILLED_RUN = """
import sys, time
from pathlib import Path
from tfcompress import fileio
from tfcompress.outputs import OutputKind
kind = OutputKind("test folder", "tfcompress-test", "marker.json", frozenset({"marker.json", "x", "half"}))
with fileio.staged_directory(Path(sys.argv[1]), kind) as s:
    (s / "half").write_text("written")
    print("staged", flush=True)
    time.sleep(60)
"""


def test_a_killed_run_leaves_only_a_named_staging_folder_that_the_next_run_removes(tmp_path):
    out = tmp_path / "out"
    _stage(out, "1")
    run = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert run.stdout.readline().strip() == "staged"
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait(timeout=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", f"out.partial-{run.pid}"]
    assert (out / "x").read_text() == "1"  # the earlier output is intact
    _stage(out, "2")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_output_a_killed_run_had_moved_aside_is_put_back(tmp_path):
    out = tmp_path / "out"
    _stage(out, "1")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(timeout=30)
    os.replace(out, tmp_path / f"out{fileio.ASIDE_TAG}{dead.pid}")  # killed between its two renames
    with pytest.raises(RuntimeError):
        with fileio.staged_directory(out, KIND):
            assert (out / "x").read_text() == "1"
            raise RuntimeError("stop")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_a_refused_output_is_refused_before_the_block_runs(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputPathError, match="thesis.tex"):
        with fileio.staged_directory(tmp_path / "out", KIND):
            pytest.fail("the block must not run")
    assert (tmp_path / "out" / "thesis.tex").read_text() == "years of work"
