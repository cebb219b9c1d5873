"""Choosing a compressed model's plan by validation (issue 13, items 1 and 2).

Shapes alone cannot say where a byte budget does the most good: every embedding row kept costs
bytes that rank, factor size or density elsewhere could use, and how the budget is split between
the matrices matters as much. So the search measures: each candidate is planned at the target,
initialised from the trained weights and fine-tuned for PROBE_EPOCHS, and scored on validation.

    1. the vocabulary: the whole of it and 1/2 ... 1/16 (the most frequent words), at the default
       allocation;
    2. the allocation of the budget across matrices (each matrix's budget ~ its size ** allocation)
       at the chosen vocabulary.

The best (ties: the larger vocabulary, then the default allocation) is fine-tuned in full.
`--vocab-size` and `--allocation` fix their stage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from tfcompress.options import DEFAULT_ALLOCATION
from tfcompress.tokenizer import RESERVED

VOCAB_FRACTIONS = (1, 2, 4, 8, 16)  # candidates: the vocabulary divided by these
MIN_VOCAB = 16  # no candidate below this many ids
ALLOCATIONS = (0.25, 0.5, 0.75, 1.0)  # 1: the same ratio for every matrix; lower: small matrices keep more
PROBE_EPOCHS = 2  # fine-tuning epochs that score a candidate


@dataclass(frozen=True)
class Candidate:
    vocab_size: int
    allocation: float


@dataclass(frozen=True)
class Probe:
    """One candidate, planned at the target and briefly fine-tuned."""

    candidate: Candidate
    compressed_bytes: int
    valid_accuracy: float | None  # None: the target cannot be met so
    plan: str  # each matrix's structure, in a line

    def as_dict(self) -> dict:
        return {"vocab_size": self.candidate.vocab_size, "allocation": self.candidate.allocation,
                "compressed_bytes": self.compressed_bytes, "valid_accuracy": self.valid_accuracy, "plan": self.plan}


def vocabulary_candidates(vocab_size: int) -> list[int]:
    """The whole vocabulary and its fractions, largest first, none below MIN_VOCAB or RESERVED + 1."""
    sizes = [vocab_size // f for f in VOCAB_FRACTIONS]
    return sorted({v for v in sizes if v >= max(MIN_VOCAB, RESERVED + 1)} | {vocab_size}, reverse=True)


def search_plan(vocab_size: int, probe: Callable[[Candidate, object], Probe], options,
                log: Callable[[str], None] = lambda message: None) -> tuple[Candidate, list[Probe]]:
    """The candidate with the best validation accuracy after PROBE_EPOCHS of fine-tuning;
    `probe(candidate, probe_options)` plans, initialises and fine-tunes one. `options.vocab_size`
    and `options.allocation`, when set, are not searched."""
    probe_options = replace(options, epochs=min(PROBE_EPOCHS, options.epochs), patience=PROBE_EPOCHS)
    probes: dict[Candidate, Probe] = {}

    def stage(what: str, candidates: list[Candidate]) -> Candidate | None:
        if len(candidates) > 1:
            log(f"choosing the {what} by validation: {len(candidates)} candidates, {probe_options.epochs} probe "
                "epochs each")
        for candidate in candidates:
            if candidate not in probes and len(candidates) > 1:
                probes[candidate] = result = probe(candidate, probe_options)
                score = "cannot meet the target" if result.valid_accuracy is None else \
                    f"validation accuracy {result.valid_accuracy:.2%}"
                log(f"  {candidate.vocab_size:>6,} ids, allocation {candidate.allocation:g}: {score} ({result.plan})")
        scored = [c for c in candidates if c in probes and probes[c].valid_accuracy is not None]
        if len(candidates) == 1 or not scored:
            return candidates[0]  # planning it raises the TargetError that says why, if it cannot be met
        return max(scored, key=lambda c: (round(probes[c].valid_accuracy, 6), c.vocab_size,
                                          -abs(c.allocation - DEFAULT_ALLOCATION)))

    allocation = options.allocation if options.allocation is not None else DEFAULT_ALLOCATION
    vocabularies = [options.vocab_size] if options.vocab_size else vocabulary_candidates(vocab_size)
    best = stage("vocabulary", [Candidate(v, allocation) for v in vocabularies])
    allocations = [allocation, *(a for a in ALLOCATIONS if a != allocation)] if options.allocation is None \
        else [allocation]  # the first candidate of each stage is its fallback when none meets the target
    best = stage("allocation across matrices", [Candidate(best.vocab_size, a) for a in allocations])
    if probes:
        log(f"plan: {best.vocab_size:,} ids (of {vocab_size:,}), allocation {best.allocation:g}")
    return best, list(probes.values())
