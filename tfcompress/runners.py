"""One interface for every way of running an int8 classifier: `eval`, `bench` and `regress` take a
Runner and never ask which kind it is.

    HostRunner     a desktop interpreter (tfcompress.interpreters: TFLM, LiteRT, the generated C
                   built for this machine, the integer reference), tokenising with the Python
                   tokenizer.
    DeviceRunner   a board running the harness (tfcompress.device), emulated or real: the text
                   goes over the serial line and the board tokenises it itself.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np


@dataclass(frozen=True)
class Inference:
    scores: np.ndarray  # the model's int8 outputs
    count: int | None = None  # instructions or cycles (the runner's counter_unit) of the inference
    layers: tuple[int, ...] = ()  # the same per layer, where the runner counts them


@dataclass
class RunResults:
    """The outputs of a runner over a list of utterances, in order."""

    scores: np.ndarray  # [n, labels] int8
    counts: list[int | None] = field(default_factory=list)
    layers: list[tuple[int, ...]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.scores, axis=-1) if len(self.scores) else np.zeros(0, np.int64)


class Runner(ABC):
    """Runs an int8 intent classifier on one utterance at a time, as a board does."""

    name: str = ""
    counter_unit: str | None = None  # "instructions", "cycles" or "ns" when `Inference.count` is set
    layer_names: tuple[str, ...] = ()
    batch_size: int = 1  # utterances `run` takes at once where callers go in chunks (a board: one)

    @abstractmethod
    def infer(self, text: str) -> Inference:
        """The int8 scores of one utterance (and what it cost, where the runner measures it)."""

    def run(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> RunResults:
        started = time.monotonic()
        results = []
        for text in texts:
            results.append(self.infer(text))
            if progress is not None:
                progress(1)
        scores = np.stack([r.scores for r in results]) if results else np.zeros((0, 0), np.int8)
        return RunResults(scores, [r.count for r in results], [r.layers for r in results],
                          time.monotonic() - started)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class HostRunner(Runner):
    """A desktop interpreter (`tfcompress.interpreters.INTERPRETERS`) with the Python tokenizer."""

    batch_size = 256

    def __init__(self, tflite: bytes, tokenizer, interpreter: str | None = None):
        from tfcompress.interpreters import Int8Runner, golden_for

        self.name = interpreter or golden_for(tflite)
        self.tokenizer = tokenizer
        self.interpreter = Int8Runner(tflite, self.name)

    def infer(self, text: str) -> Inference:
        return Inference(self.interpreter.invoke(self.tokenizer.encode(text)))

    def run(self, texts: Sequence[str], progress=None) -> RunResults:
        started = time.monotonic()
        scores = self.interpreter.run(self.tokenizer.encode_batch(list(texts)))
        if progress is not None:
            progress(len(texts))
        return RunResults(scores, [None] * len(texts), [()] * len(texts), time.monotonic() - started)


def count_summary(counts: Iterable[int | None]) -> dict | None:
    values = [c for c in counts if c is not None]
    if not values:
        return None
    return {"min": int(np.min(values)), "median": float(np.median(values)), "max": int(np.max(values)),
            "mean": float(np.mean(values))}
