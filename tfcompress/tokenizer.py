"""Deterministic word-level tokenizer, specified byte for byte so the device can reimplement it.

See docs/tokenizer.md for the specification; `converters.c_arrays` emits the vocabulary
as C data for the on-device implementation.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from tfcompress import fileio
from tfcompress.errors import ModelFileError

PAD_ID = 0
OOV_ID = 1
RESERVED = 2
FORMAT = "tfcompress-word-tokenizer"
VERSION = 1


def _is_word_byte(b: int) -> bool:
    # ASCII letters and digits, and every byte of a multi-byte UTF-8 sequence.
    return (48 <= b <= 57) or (65 <= b <= 90) or (97 <= b <= 122) or b >= 0x80


def split_words(text: str) -> list[str]:
    """UTF-8 encode, lowercase ASCII A-Z, split on every byte that is not a word byte."""
    words, current = [], bytearray()
    for b in text.encode("utf-8"):
        if _is_word_byte(b):
            current.append(b + 32 if 65 <= b <= 90 else b)
        elif current:
            words.append(current.decode("utf-8"))
            current = bytearray()
    if current:
        words.append(current.decode("utf-8"))
    return words


def auto_max_length(texts: Iterable[str], quantile: float = 0.99, lo: int = 8, hi: int = 64) -> int:
    """Covers `quantile` of the training utterances, rounded up to a multiple of 4."""
    lengths = [len(split_words(t)) for t in texts]
    length = int(np.ceil(np.quantile(lengths, quantile))) if lengths else lo
    return int(min(hi, max(lo, -(-length // 4) * 4)))


@dataclass(frozen=True)
class WordTokenizer:
    """Maps text to a fixed-length int32 id vector: ids left-padded with PAD_ID, unknown words OOV_ID."""

    vocab: tuple[str, ...]  # vocab[i] is the word of id i + RESERVED
    max_length: int

    def __post_init__(self):
        object.__setattr__(self, "_ids", {w: i + RESERVED for i, w in enumerate(self.vocab)})

    @classmethod
    def fit(cls, texts: Iterable[str], vocab_size: int, max_length: int | None = None, min_count: int = 1):
        """Keep the `vocab_size - 2` most frequent words; ties broken by the words' UTF-8 bytes."""
        texts = list(texts)
        counts = Counter(w for t in texts for w in split_words(t))
        ranked = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w.encode()))
        if vocab_size <= RESERVED:
            raise ValueError(f"vocab_size must be > {RESERVED}, got {vocab_size}")
        length = max_length if max_length is not None else auto_max_length(texts)
        return cls(tuple(ranked[: vocab_size - RESERVED]), length)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + RESERVED

    def token_ids(self, text: str) -> list[int]:
        """Ids of all words of `text`, unpadded and untruncated."""
        return [self._ids.get(w, OOV_ID) for w in split_words(text)]

    def encode(self, text: str) -> np.ndarray:
        ids = self.token_ids(text)[: self.max_length]
        out = np.full(self.max_length, PAD_ID, dtype=np.int32)
        if ids:
            out[self.max_length - len(ids):] = ids
        return out

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.max_length), dtype=np.int32)
        return np.stack([self.encode(t) for t in texts])

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "max_length": self.max_length,
            "padding": "pre",
            "truncation": "post",
            "pad_id": PAD_ID,
            "oov_id": OOV_ID,
            "vocab": list(self.vocab),
        }

    def save(self, path: str | Path) -> Path:
        return fileio.write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> "WordTokenizer":
        try:
            data = fileio.read_json(path)
        except FileNotFoundError:
            raise ModelFileError(path, "no such tokenizer file") from None
        except ValueError as err:
            raise ModelFileError(path, f"not a tokenizer file ({err})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != VERSION:
            raise ModelFileError(path, f"not a {FORMAT} version {VERSION} file")
        return cls(tuple(data["vocab"]), int(data["max_length"]))
