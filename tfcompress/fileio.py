"""Atomic file writes: an interrupted run never leaves a half-written artifact behind.

Each file is written to a temporary sibling, flushed to disk and renamed over the target; a
directory of artifacts is built in a staging sibling `NAME.partial-PID` and renamed into
place last. A run that is killed leaves at most that staging folder, which the next run
writing NAME removes. Files and folders get the permissions the umask gives, as with `open`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

from tfcompress.outputs import OutputKind, OutputPathError, check_output

STAGING_TAG = ".partial-"
ASIDE_TAG = ".replaced-"


def _umask() -> int:
    """The process umask, read without changing it where Linux tells it (threads may be writing)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # replace the file the link points to, not the link
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o666 & ~_umask())  # mkstemp makes 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    return write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _clean_up_after_killed_runs(path: Path) -> None:
    """Remove the staging folders of runs that died, and put back an output a dead run had moved aside."""
    for sibling in path.parent.iterdir():
        for tag in (STAGING_TAG, ASIDE_TAG):
            pid = sibling.name.removeprefix(path.name + tag)
            if pid != sibling.name and pid.isdigit() and not _alive(int(pid)):
                if tag == ASIDE_TAG and not path.exists():
                    os.replace(sibling, path)
                else:
                    _remove(sibling)


@contextlib.contextmanager
def staged_directory(path: str | Path, kind: OutputKind, force: bool = False, inputs=()) -> Iterator[Path]:
    """Yield an empty staging folder that replaces `path` when the block succeeds.
    `path` must pass `check_output(path, kind, inputs, force)`, before the block and again at the end."""
    path = check_output(path, kind, inputs, force)
    if path.is_symlink():
        path = path.resolve()  # replace the folder the link points to, beside it; the link stays
    path.parent.mkdir(parents=True, exist_ok=True)
    _clean_up_after_killed_runs(path)
    staging = path.with_name(f"{path.name}{STAGING_TAG}{os.getpid()}")
    if staging.exists():
        _remove(staging)
    staging.mkdir()
    try:
        yield staging
        try:
            check_output(path, kind, inputs, force)
        except OutputPathError as err:
            kept, staging = staging, None
            raise OutputPathError(path, f"{str(err).split(': ', 1)[1]} (it changed during the run; "
                                        f"the new {kind.description} is in {kept})") from None
        if path.exists() or path.is_symlink():
            aside = path.with_name(f"{path.name}{ASIDE_TAG}{os.getpid()}")
            os.replace(path, aside)
            os.replace(staging, path)
            _remove(aside)
        else:
            os.replace(staging, path)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise
