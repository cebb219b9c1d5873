"""Word-level language-modelling corpora (WikiText-2): token ids per split, pytorch's convention.

Every line is split on whitespace and ends with `<eos>`; the vocabulary is the training split's
words, most frequent first (ties by first appearance), with id 0 kept for padding. A capped
vocabulary keeps the most frequent words, then `<eos>` and `<unk>`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tfcompress.data.registry import resolve_data_dir
from tfcompress.errors import DatasetError

EOS = "<eos>"
UNK = "<unk>"
NAMED_CORPORA = {"wikitext-2": "wikitext-2"}


@dataclass(frozen=True)
class Corpus:
    name: str
    vocab: tuple[str, ...]  # vocab[i] has id i + 1
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    source_paths: tuple[Path, ...] = ()  # the files read: an output must not touch them

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + 1


def _words(path: Path) -> list[tuple[int, str]]:
    if not path.is_file():
        raise DatasetError(path, "no such file")
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            out.extend((number, w) for w in [*line.split(), EOS])
    return out


def load_corpus(spec: str, data_dir: str | Path | None = None, max_vocab: int | None = None) -> Corpus:
    """A corpus by name (`wikitext-2`, in the data directory) or a folder of train/valid/test.txt.
    `max_vocab` keeps the most frequent words and maps the rest to `<unk>` (a smaller softmax)."""
    if spec in NAMED_CORPORA:
        root = resolve_data_dir(data_dir)
        if root is None:
            raise DatasetError(spec, "needs a data directory: pass --data-dir or set $TFCOMPRESS_DATA_DIR")
        folder = root / NAMED_CORPORA[spec]
    else:
        folder = Path(spec)
    splits = {name: _words(folder / f"{name}.txt") for name in ("train", "valid", "test")}
    counts = Counter(w for _, w in splits["train"])
    first = {}
    for _, w in splits["train"]:
        first.setdefault(w, len(first))
    vocab = tuple(sorted(counts, key=lambda w: (-counts[w], first[w])))
    if max_vocab is not None and len(vocab) > max_vocab:
        vocab = tuple([w for w in vocab if w not in (EOS, UNK)][: max_vocab - 2]) + (EOS, UNK)
    ids = {w: i + 1 for i, w in enumerate(vocab)}
    arrays = {}
    for name, words in splits.items():
        unknown = ids.get(UNK)
        out = np.empty(len(words), dtype=np.int32)
        for k, (line, w) in enumerate(words):
            token = ids.get(w, unknown)
            if token is None:
                raise DatasetError(folder / f"{name}.txt", f"word {w!r} is not in the training vocabulary "
                                   f"and there is no {UNK} token", line)
            out[k] = token
        arrays[name] = out
    return Corpus(folder.name if spec not in NAMED_CORPORA else spec, vocab, **arrays,
                  source_paths=tuple(folder / f"{name}.txt" for name in ("train", "valid", "test")))
