"""Which output paths a command may write: its own earlier output, never its input or a user's files.

Every command that writes names the kind of output it makes (a model directory, a firmware
bundle, a results file). An existing path is replaced only when it holds an earlier output of
that kind and nothing else: its marker JSON file has the kind's `format`, and a folder holds
only the files that kind writes. An empty folder is fine too; anything else needs `force`.
A command's inputs (the paths it reads), anything inside them or holding them, and the
current directory are never replaced, and the folder the output goes into must be writable.
Commands call `check_output` before any work starts, and the writers check again when they
replace the path. A symbolic link as the output is followed: its target is replaced.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tfcompress.errors import TfcompressError


class OutputPathError(TfcompressError):
    """An output path that would destroy something the user did not ask to replace."""

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class OutputKind:
    """A kind of output and its marker: `marker` (a file inside a directory output, or the output
    file itself when empty) is a JSON object whose "format" is `format`."""

    description: str
    format: str
    marker: str = ""
    contents: frozenset[str] = frozenset()  # a folder output: every name it writes

    @property
    def is_directory(self) -> bool:
        return bool(self.marker)

    def recognises(self, path: Path) -> bool:
        """Has the marker (whatever else the folder holds)."""
        try:
            with open(path / self.marker if self.marker else path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("format") == self.format

    def foreign(self, path: Path) -> list[str]:
        """What a folder output holds beyond what this kind writes."""
        return sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir() if p.name not in self.contents)


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def _listing(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_output(path: str | Path, kind: OutputKind, inputs=(), force: bool = False) -> Path:
    """Raise OutputPathError unless a command making `kind` may write `path`; returns the absolute path.
    `inputs` are the paths the command reads: never replaced, whatever `force` says."""
    path = Path(os.path.abspath(path))
    real = path.resolve()
    if _contains(real, Path.cwd().resolve()):
        what = "folder" if kind.is_directory else "file"
        raise OutputPathError(path, f"is the current directory or holds it; name a new {what} for the "
                                    f"{kind.description}")
    for source in inputs:
        if source is None:
            continue
        source_real = Path(source).resolve()
        if _contains(real, source_real) or _contains(source_real, real):
            raise OutputPathError(path, f"is, holds or lies inside an input of this command ({source}); "
                                        "choose another output path")
    for parent in real.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(path, f"cannot be created: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise OutputPathError(path, f"cannot be written: no permission to write into {parent}")
            break
    if not real.exists():  # new (a link to a new path included)
        return path
    forced = "; choose another path, or use --force to replace it"
    if not kind.is_directory:
        if real.is_dir():
            raise OutputPathError(path, f"is a folder; the {kind.description} is a file")
        if not (force or kind.recognises(real)):
            raise OutputPathError(path, f"exists and is not a tfcompress {kind.description}{forced}")
        return path
    if not real.is_dir():
        if not force:
            raise OutputPathError(path, f"is a file, not a tfcompress {kind.description}{forced}")
        return path
    if force or not any(real.iterdir()):
        return path
    if kind.recognises(real):
        extra = kind.foreign(real)
        if not extra:
            return path
        raise OutputPathError(path, f"is an earlier tfcompress {kind.description} but also holds {_listing(extra)}, "
                                    "which replacing it would delete; move them out, choose another path, or use "
                                    "--force to replace it")
    raise OutputPathError(path, f"exists and is not a tfcompress {kind.description} "
                                f"(it holds {_listing(kind.foreign(real))}){forced}")
