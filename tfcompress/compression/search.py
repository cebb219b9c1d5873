"""Choosing the vocabulary of a compressed model by validation (issue 13, item 1).

Every embedding row a plan keeps costs bytes that rank, factor size or density elsewhere could
use; which side wins depends on the data, not on the shapes. So each candidate vocabulary (the
most frequent words: the whole vocabulary, 1/2, 1/4 ... of it) is planned at the target,
initialised from the trained weights and fine-tuned for a few probe epochs; the one with the
best validation accuracy (ties: the larger vocabulary) is fine-tuned in full. `--vocab-size`
skips the search.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from tfcompress.tokenizer import RESERVED

VOCAB_FRACTIONS = (1, 2, 4, 8, 16)  # candidates: the vocabulary divided by these
MIN_VOCAB = 16  # no candidate below this many ids
PROBE_EPOCHS = 2  # fine-tuning epochs that score a candidate


@dataclass(frozen=True)
class Probe:
    """One candidate vocabulary, planned at the target and briefly fine-tuned."""

    vocab_size: int
    compressed_bytes: int
    valid_accuracy: float | None  # None: the target cannot be met with this vocabulary
    plan: str  # each matrix's structure, in a line

    def as_dict(self) -> dict:
        return {"vocab_size": self.vocab_size, "compressed_bytes": self.compressed_bytes,
                "valid_accuracy": self.valid_accuracy, "plan": self.plan}


def vocabulary_candidates(vocab_size: int) -> list[int]:
    """The whole vocabulary and its fractions, largest first, none at or below MIN_VOCAB or RESERVED."""
    sizes = [vocab_size // f for f in VOCAB_FRACTIONS]
    return sorted({v for v in sizes if v >= max(MIN_VOCAB, RESERVED + 1)} | {vocab_size}, reverse=True)


def choose_vocabulary(vocab_size: int, probe: Callable[[int, object], Probe], options,
                      log: Callable[[str], None] = lambda message: None) -> tuple[int, list[Probe]]:
    """The candidate vocabulary with the best validation accuracy after PROBE_EPOCHS of fine-tuning;
    `probe(vocab, probe_options)` plans, initialises and fine-tunes one candidate."""
    probe_options = replace(options, epochs=min(PROBE_EPOCHS, options.epochs), patience=PROBE_EPOCHS)
    candidates = vocabulary_candidates(vocab_size)
    log(f"choosing the vocabulary by validation: {len(candidates)} candidates "
        f"({', '.join(f'{v:,}' for v in candidates)} ids), {probe_options.epochs} probe epochs each")
    probes = []
    for vocab in candidates:
        result = probe(vocab, probe_options)
        probes.append(result)
        score = "cannot meet the target" if result.valid_accuracy is None else \
            f"validation accuracy {result.valid_accuracy:.2%}"
        log(f"  {vocab:>6,} ids: {score} ({result.plan})")
    scored = [p for p in probes if p.valid_accuracy is not None]
    if not scored:
        return vocab_size, probes  # planning the whole vocabulary raises the TargetError that says why
    best = max(scored, key=lambda p: (round(p.valid_accuracy, 6), p.vocab_size))
    log(f"vocabulary: {best.vocab_size:,} ids (of {vocab_size:,})")
    return best.vocab_size, probes
