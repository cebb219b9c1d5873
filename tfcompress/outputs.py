"""Which output paths a command may write: its own earlier output, never its input or a user's files.

Every command that writes names the kind of output it makes (a model directory, a firmware
bundle, a results file). An existing path is replaced only when it holds an earlier output of
that kind, recognised by the `format` field of its marker JSON file, or is an empty folder;
anything else needs `force`. A command's own input and the current directory are never
replaced. Commands call `check_output` before any work starts, and the writers check again
when they replace the path.
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

    @property
    def is_directory(self) -> bool:
        return bool(self.marker)

    def recognises(self, path: Path) -> bool:
        try:
            with open(path / self.marker if self.marker else path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return False
        return isinstance(data, dict) and data.get("format") == self.format


def _contains(outer: Path, inner: Path) -> bool:
    return inner == outer or outer in inner.parents


def _listing(directory: Path, limit: int = 4) -> str:
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_output(path: str | Path, kind: OutputKind, inputs=(), force: bool = False) -> Path:
    """Raise OutputPathError unless a command making `kind` may write `path`; returns the absolute path.
    `inputs` are the paths the command reads: never replaced, whatever `force` says."""
    path = Path(os.path.abspath(path))
    real = path.resolve()
    if _contains(real, Path.cwd().resolve()):
        raise OutputPathError(path, "is the current directory or holds it; name a new folder for the "
                                    f"{kind.description}, for example {path / 'out'}")
    for source in inputs:
        if source is not None and _contains(real, Path(source).resolve()):
            raise OutputPathError(path, f"is the input of this command ({source}); choose another output path")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(path, f"cannot be created: {parent} is a file, not a folder")
            break
    if not path.exists() and not path.is_symlink():
        return path
    forced = "; choose another path, or use --force to replace it"
    if not kind.is_directory:
        if path.is_dir():
            raise OutputPathError(path, f"is a folder; the {kind.description} is a file")
        if not (force or kind.recognises(path)):
            raise OutputPathError(path, f"exists and is not a tfcompress {kind.description}{forced}")
        return path
    if not path.is_dir():
        if not force:
            raise OutputPathError(path, f"is a file, not a tfcompress {kind.description}{forced}")
        return path
    if force or kind.recognises(path) or not any(path.iterdir()):
        return path
    raise OutputPathError(path, f"exists and is not a tfcompress {kind.description} "
                                f"(it holds {_listing(path)}){forced}")
