"""Datasets by name (`clinc150`, `snips`, `banking77`, `demo`) or by path.

Named sets are looked up in a data directory: `--data-dir`, else `$TFCOMPRESS_DATA_DIR`,
else the first of `./datasets` and `../shared/datasets` that exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from tfcompress import fileio
from tfcompress.data.dataset import IntentDataset, Split, make_dataset, read_split
from tfcompress.errors import DatasetError
from tfcompress.outputs import OutputPathError

DATA_DIR_ENV = "TFCOMPRESS_DATA_DIR"
DEFAULT_DATA_DIRS = ("datasets", "../shared/datasets")
SPLIT_NAMES = ("train", "valid", "test")
DATA_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".tsv")


@dataclass(frozen=True)
class NamedDataset:
    folder: str
    oos_label: str | None = None


NAMED_DATASETS = {
    "clinc150": NamedDataset("clinc150", oos_label="oos"),
    "snips": NamedDataset("snips/slotgated_split"),
    "banking77": NamedDataset("banking77"),
}
DEMO = "demo"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path | None:
    if data_dir is not None:
        return Path(data_dir)
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    for candidate in DEFAULT_DATA_DIRS:
        if Path(candidate).is_dir():
            return Path(candidate)
    return None


def demo_splits(seed: int = 0) -> dict[str, Split]:
    """The built-in smart-home intent set, generated in memory (it takes milliseconds)."""
    from tfcompress.data.demo import generate_demo_splits

    return {
        name: Split(tuple(t for t, _ in pairs), tuple(i for _, i in pairs), f"<built-in demo>/{name}")
        for name, pairs in generate_demo_splits(seed).items()
    }


def write_demo_dataset(directory: str | Path, seed: int = 0, force: bool = False) -> Path:
    """Write the built-in set as train/valid/test JSON Lines files, to read or to edit. Files of a
    dataset already in `directory` are replaced only with `force`; nothing else there is touched."""
    import json

    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise OutputPathError(directory, "is a file, not a folder")
    existing = [p for name in SPLIT_NAMES if (p := _find_split(directory, name))] if directory.is_dir() else []
    if existing and not force:
        raise OutputPathError(existing[0], "exists; choose another folder, or use --force to replace the "
                                           "dataset files in it")
    for name, split in demo_splits(seed).items():
        lines = "".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in zip(split.texts, split.intents))
        fileio.write_text(directory / f"{name}.jsonl", lines)
    return directory


def dataset_paths(spec: str | Path | None, data_dir: str | Path | None = None) -> list[Path]:
    """The folder or file a dataset spec reads (none for the built-in set or no spec), known before
    loading it: an output must not touch it (IntentDataset.source_files gives the files read)."""
    if spec is None:
        return []
    spec = str(spec)
    if spec == DEMO:
        return []
    if spec in NAMED_DATASETS:
        root = resolve_data_dir(data_dir)
        return [root / NAMED_DATASETS[spec].folder] if root is not None else []
    return [Path(spec)]


def load_dataset(spec: str | Path, data_dir: str | Path | None = None, strict_labels: bool = False) -> IntentDataset:
    """Load a dataset by name or from a folder holding train/valid/test .jsonl or .csv files.
    Valid or test rows whose intent is absent from train are kept (`unseen`): left out of early
    stopping, counted as errors in evaluation; `strict_labels` refuses them, naming file and line."""
    spec = str(spec)
    dataset = _load(spec, data_dir, strict_labels)
    named = spec == DEMO or spec in NAMED_DATASETS
    return replace(dataset, spec=spec if named else str(Path(spec).resolve()))


def _load(spec: str, data_dir: str | Path | None, strict_labels: bool) -> IntentDataset:
    if spec == DEMO:
        splits = demo_splits()
        return make_dataset(DEMO, splits["train"], splits["valid"], splits["test"])
    if spec in NAMED_DATASETS:
        named = NAMED_DATASETS[spec]
        root = resolve_data_dir(data_dir)
        if root is None:
            raise DatasetError(
                DEFAULT_DATA_DIRS[-1],
                f"dataset {spec!r} needs a data directory: pass --data-dir or set ${DATA_DIR_ENV}",
            )
        return _load_folder(spec, root / named.folder, named.oos_label, strict_labels)
    path = Path(spec)
    if path.is_dir():
        return _load_folder(path.name, path, "oos", strict_labels)
    if path.is_file():
        return make_dataset(path.stem, read_split(path), None, None)
    if path.suffix.lower() in DATA_SUFFIXES or len(path.parts) > 1:
        raise DatasetError(path, "no such file" if path.suffix else "no such file or folder")
    known = ", ".join(sorted([*NAMED_DATASETS, DEMO]))
    raise DatasetError(path, f"no such dataset: name one of {known}, or give a folder or a .jsonl/.csv file")


def _find_split(directory: Path, split: str) -> Path | None:
    for suffix in (".jsonl", ".csv", ".tsv"):
        candidate = directory / f"{split}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def _load_folder(name: str, directory: Path, oos_label: str | None, strict_labels: bool) -> IntentDataset:
    if not directory.is_dir():
        raise DatasetError(directory, "no such dataset folder")
    files = {split: _find_split(directory, split) for split in SPLIT_NAMES}
    if files["train"] is None:
        raise DatasetError(directory / "train.jsonl", "no such file (a dataset folder needs train.jsonl or train.csv)")
    splits: dict[str, Split | None] = {s: read_split(p) if p else None for s, p in files.items()}
    return make_dataset(name, splits["train"], splits["valid"], splits["test"], oos_label, strict_labels)
