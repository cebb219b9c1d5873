"""Intent datasets: (text, intent) pairs read from JSON Lines or CSV, validated line by line."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tfcompress.errors import DatasetError, TfcompressError

TEXT_FIELD = "text"
INTENT_FIELD = "intent"


@dataclass(frozen=True)
class Split:
    """One split of a dataset; `lines[i]` is the source line of example i (for error messages)."""

    texts: tuple[str, ...]
    intents: tuple[str, ...]
    source: str
    lines: tuple[int, ...] = field(default=(), compare=False)

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class IntentDataset:
    name: str
    train: Split
    valid: Split
    test: Split | None
    labels: tuple[str, ...]
    oos_label: str | None = None  # CLINC150's out-of-scope class, scored separately
    spec: str = ""  # how to load it again: a dataset name or an absolute path
    unseen: tuple[str, ...] = ()  # intents of valid/test absent from train: no model can know them

    def unseen_rows(self, split: Split | None) -> int:
        """How many rows of `split` have an intent absent from training."""
        unseen = set(self.unseen)
        return sum(intent in unseen for intent in split.intents) if split is not None and unseen else 0

    def unseen_note(self, split_name: str, early_stopping: bool = False) -> str | None:
        """What happens to `split_name`'s rows whose intents are absent from training, for a warning:
        left out of `early_stopping`, else counted as errors (None: it has none)."""
        split = {"valid": self.valid, "test": self.test}.get(split_name)
        count = self.unseen_rows(split)
        if not count:
            return None
        names = sorted(set(split.intents) & set(self.unseen))
        return (f"{count} of {len(split)} {split_name} rows ({split.source}) have intents absent from training "
                f"({_names(names)}): {'left out of early stopping' if early_stopping else 'counted as errors'}; "
                "--strict-labels refuses such a dataset")

    def source_files(self) -> list[Path]:
        """The files this set was read from (none for the built-in set)."""
        return sorted({Path(s.source) for s in (self.train, self.valid, self.test)
                       if s is not None and Path(s.source).is_file()})

    def label_ids(self, split: Split, labels: tuple[str, ...] | None = None) -> list[int]:
        """Ids of the split's intents in `labels` (a model's; default: this set's); intents absent
        from training (`unseen`) get UNSEEN, which no prediction equals; refuses other intents that
        `labels` lacks, so another set's labels are never scored against the wrong ids."""
        labels = self.labels if labels is None else tuple(labels)
        index = {label: i for i, label in enumerate(labels)}
        index.update({intent: UNSEEN for intent in self.unseen if intent not in index})
        unknown = sorted(set(split.intents) - set(index))
        if unknown:
            raise LabelMismatchError(f"{split.source}: {_names(unknown)} are not labels of the model, whose "
                                     f"{len(labels)} labels are {_names(labels)}")
        return [index[intent] for intent in split.intents]

    def fit_rows(self, split: Split) -> tuple[list[str], np.ndarray]:
        """Texts and label ids of `split` for fitting and early stopping: the rows whose intents the
        model can know (those absent from training carry no signal and would only cap the score)."""
        ids = np.asarray(self.label_ids(split), dtype=np.int64)
        keep = ids != UNSEEN
        return [t for t, k in zip(split.texts, keep) if k], ids[keep]

    def check_labels(self, labels: tuple[str, ...], model_name: str = "the model") -> None:
        """Fine-tuning a model on this set needs exactly the model's labels."""
        if tuple(labels) != self.labels:
            only_data, only_model = sorted(set(self.labels) - set(labels)), sorted(set(labels) - set(self.labels))
            raise LabelMismatchError(f"dataset {self.name} and {model_name} have different intents: "
                                     f"only in the dataset: {_names(only_data) or 'none'}; "
                                     f"only in the model: {_names(only_model) or 'none'}")


UNSEEN = -1  # the label id of an intent absent from training: every answer to it is an error


class LabelMismatchError(TfcompressError):
    """A dataset whose intents are not the labels of the model it is used with."""


def _names(names, limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_split(path: str | Path) -> Split:
    """Read a .jsonl or .csv file of {"text", "intent"} records; blank lines are skipped."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, "no such file" if not path.exists() else "not a file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        rows = _read_jsonl(path)
    elif suffix in (".csv", ".tsv"):
        rows = _read_csv(path, delimiter="\t" if suffix == ".tsv" else ",")
    else:
        raise DatasetError(path, f"unknown format {suffix!r}: expected .jsonl or .csv")
    if not rows:
        raise DatasetError(path, "the file has no examples")
    texts, intents, lines = [], [], []
    for line, text, intent in rows:
        if not isinstance(text, str) or not " ".join(text.split()):
            raise DatasetError(path, f"field {TEXT_FIELD!r} is empty", line)
        if not isinstance(intent, str) or not intent.strip():
            raise DatasetError(path, f"field {INTENT_FIELD!r} is empty", line)
        texts.append(text)
        intents.append(intent.strip())
        lines.append(line)
    return Split(tuple(texts), tuple(intents), str(path), tuple(lines))


def _read_jsonl(path: Path) -> list[tuple[int, object, object]]:
    rows = []
    number = 0
    with open(path, encoding="utf-8-sig", errors="strict") as handle:  # -sig: a byte-order mark is skipped
        try:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw.rstrip("\r\n"))
                except json.JSONDecodeError as err:
                    raise DatasetError(path, f"bad JSON ({err.msg} at column {err.pos + 1})", number) from None
                if not isinstance(record, dict):
                    raise DatasetError(path, "expected a JSON object per line", number)
                for name in (TEXT_FIELD, INTENT_FIELD):
                    if name not in record:
                        raise DatasetError(path, f"missing field {name!r}", number)
                rows.append((number, record[TEXT_FIELD], record[INTENT_FIELD]))
        except UnicodeDecodeError as err:
            raise DatasetError(path, f"not UTF-8 text (byte {err.start} of a line)", number + 1) from None
    return rows


def _read_csv(path: Path, delimiter: str) -> list[tuple[int, object, object]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:  # spreadsheets write a byte-order mark
        reader = csv.DictReader(handle, delimiter=delimiter)
        rows = []
        try:
            header = reader.fieldnames or []
            for name in (TEXT_FIELD, INTENT_FIELD):
                if name not in header:
                    raise DatasetError(path, f"missing column {name!r} in the header (found {header})", 1)
            for record in reader:
                line = reader.line_num
                if None in record or any(record[name] is None for name in (TEXT_FIELD, INTENT_FIELD)):
                    raise DatasetError(path, f"expected {len(header)} columns", line)
                rows.append((line, record[TEXT_FIELD], record[INTENT_FIELD]))
        except csv.Error as err:
            raise DatasetError(path, f"bad CSV ({err})", reader.line_num) from None
        except UnicodeDecodeError:
            raise DatasetError(path, "not UTF-8 text", reader.line_num + 1) from None
    return rows


def holdout_split(train: Split, fraction: float = 0.1, seed: int = 0) -> tuple[Split, Split]:
    """Carve a stratified validation split out of `train` (for sets that ship without one)."""
    by_label: dict[str, list[int]] = {}
    for i, intent in enumerate(train.intents):
        by_label.setdefault(intent, []).append(i)
    rng = random.Random(seed)
    held: set[int] = set()
    for label in sorted(by_label):
        members = by_label[label]
        if len(members) < 2:
            continue
        count = max(1, round(len(members) * fraction))
        held.update(rng.sample(members, count))

    def pick(keep: bool, source: str) -> Split:
        idx = [i for i in range(len(train)) if (i in held) != keep]
        return Split(
            tuple(train.texts[i] for i in idx),
            tuple(train.intents[i] for i in idx),
            source,
            tuple(train.lines[i] for i in idx) if train.lines else (),
        )

    return pick(True, train.source), pick(False, f"{train.source} (held-out {fraction:.0%})")


def make_dataset(
    name: str, train: Split, valid: Split | None, test: Split | None, oos_label: str | None = None,
    strict_labels: bool = False,
) -> IntentDataset:
    """Validate label coverage and fix the label order (sorted, so ids are reproducible). Intents of
    valid or test absent from train are recorded as `unseen` (refused with `strict_labels`)."""
    if valid is None:
        whole = train
        train, valid = holdout_split(whole)
        if not len(valid):
            raise DatasetError(whole.source, "too small to hold out a validation split: no intent has 2 examples; "
                                             "add examples or a valid file beside it")
    labels = tuple(sorted(set(train.intents)))
    known, unseen = set(labels), set()
    for split in (valid, test):
        if split is None:
            continue
        for i, intent in enumerate(split.intents):
            if intent not in known:
                if strict_labels:
                    line = split.lines[i] if split.lines else None
                    raise DatasetError(split.source, f"intent {intent!r} does not occur in the training split "
                                                     f"({train.source}) (--strict-labels)", line)
                unseen.add(intent)
    if len(labels) < 2:
        raise DatasetError(train.source, f"need at least 2 intents to train a classifier, found {len(labels)}")
    if oos_label is not None and oos_label not in known:
        oos_label = None
    return IntentDataset(name, train, valid, test, labels, oos_label, unseen=tuple(sorted(unseen)))
