"""Errors a user can act on: the CLI prints them as one line, never a traceback."""

from __future__ import annotations

from pathlib import Path


class TfcompressError(Exception):
    """Base class for errors caused by bad input rather than by a bug."""


class DatasetError(TfcompressError):
    """A dataset file is missing or malformed; names the file and, where known, the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None):
        self.path = Path(path)
        self.line = line
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        super().__init__(f"{where}: {message}")


class ModelFileError(TfcompressError):
    """A model file (.tflite or a model directory) is missing, truncated or corrupt."""

    def __init__(self, path: str | Path, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")
