import pytest

from tfcompress import fileio


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
    with fileio.staged_directory(out) as staging:
        (staging / "x").write_text("1")
    with pytest.raises(RuntimeError):
        with fileio.staged_directory(out) as staging:
            (staging / "x").write_text("2")
            raise RuntimeError("interrupted")
    assert (out / "x").read_text() == "1"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
