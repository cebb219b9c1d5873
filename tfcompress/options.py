"""The options of train, compress and the language-model benchmark: defaults, bounds and choices.

Each field is declared once with `bounded(...)` or `choice(...)`; `__post_init__` validates, so
the library refuses a bad value with an OptionError naming the field, and the CLI builds its
click types and defaults from the same declarations (`tfcompress.cli.from_options`), so help,
validation and code cannot drift apart. TensorFlow-free, so `tfcompress --help` stays instant.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import typing
from dataclasses import dataclass

from tfcompress.errors import TfcompressError
from tfcompress.tokenizer import RESERVED

SEED_MAX = 2**32 - 1  # numpy's and Keras's seeds are unsigned 32-bit
CELLS = ("lstm", "gru")
ENCODERS = ("pooled", *CELLS)
METHODS = ("dkp", "kp", "hmf", "lmf", "prune", "small")  # small: a dense model trained from scratch
AUTO = "auto"  # compress: every method at the target, the best by validation kept
LM_METHODS = ("dkp", "kp", "hmf", "lmf", "prune")  # compress a language model's recurrent layer
CLASSIFIER_MATRICES = ("embedding", "encoder.input", "encoder.recurrent", "hidden", "logits")  # models.matrices
DEFAULT_DOPING_SHARE = 0.5  # dkp: fraction of a matrix's budget spent on S
DEFAULT_ALLOCATION = 0.5  # budget ~ size ** 0.5 across matrices, see compression.plan
DEFAULT_CMR = 0.0  # measured on CLINC150 validation, docs/compression.md
OP_SETS = ("builtin", "custom")  # convert --ops: stock TFLite ops only, or one fused TFC_ op per layer
DEFAULT_CALIBRATION_SAMPLES = 500  # convert: training examples that calibrate the int8 activation ranges


class OptionError(TfcompressError):
    """An option value outside what the operation can use."""

    def __init__(self, name: str, value, requirement: str):
        self.name, self.value = name, value
        super().__init__(f"{name} must be {requirement}, got {value!r}")


@dataclass(frozen=True)
class Bounds:
    """An interval of allowed values; open ends exclude the end value."""

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    max_open: bool = False

    def contains(self, value) -> bool:
        if not math.isfinite(value):
            return False
        if self.min is not None and (value < self.min or (self.min_open and value == self.min)):
            return False
        return not (self.max is not None and (value > self.max or (self.max_open and value == self.max)))

    def describe(self) -> str:
        low = None if self.min is None else (f"> {self.min:g}" if self.min_open else f">= {self.min:g}")
        high = None if self.max is None else (f"< {self.max:g}" if self.max_open else f"<= {self.max:g}")
        return " and ".join(s for s in (low, high) if s) or "a finite number"


def bounded(default, min=None, max=None, min_open: bool = False, max_open: bool = False):  # noqa: A002
    """A dataclass field whose value (unless None) must lie in the given interval."""
    return dataclasses.field(default=default, metadata={"bounds": Bounds(min, max, min_open, max_open)})


def choice(default: str, values: tuple[str, ...]):
    """A dataclass field whose value must be one of `values`."""
    return dataclasses.field(default=default, metadata={"choices": tuple(values)})


def validate(options) -> None:
    """Raise OptionError for the first field of `options` outside its declared bounds or choices."""
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if value is None:
            continue
        bounds, choices = f.metadata.get("bounds"), f.metadata.get("choices")
        if bounds is not None:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise OptionError(f.name, value, "a number")
            if field_type(type(options), f.name) is int and not isinstance(value, numbers.Integral):
                raise OptionError(f.name, value, "a whole number")
            if not bounds.contains(value):
                raise OptionError(f.name, value, bounds.describe())
        if choices is not None and value not in choices:
            raise OptionError(f.name, value, f"one of {', '.join(choices)}")


def parse_target(text: str) -> tuple[float | None, int | None]:
    """'25x' -> ratio 25; '20kb' / '20480' -> bytes. A ratio must exceed 1 and a size 0 bytes."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(x|kb|kib|b)?\s*", text.lower())
    if not m:
        raise TfcompressError(f"bad target {text!r}: use a ratio like 25x or a size like 20kb")
    value, unit = float(m.group(1)), m.group(2) or "b"
    if not math.isfinite(value):
        raise TfcompressError(f"bad target {text!r}: use a ratio like 25x or a size like 20kb")
    if unit == "x":
        if value <= 1:
            raise TfcompressError(f"bad target {text!r}: a ratio must be more than 1x (below it the model grows)")
        return value, None
    size = int(value * (1024 if unit in ("kb", "kib") else 1))
    if size < 1:
        raise TfcompressError(f"bad target {text!r}: a size must be at least 1 byte")
    return None, size


def field_type(cls, name: str) -> type:
    """The declared type of a field, with `| None` removed (int, float or str)."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return args[0] if args else hint


@dataclass(frozen=True)
class TrainOptions:
    encoder: str = choice("pooled", ENCODERS)
    vocab_size: int = bounded(8000, min=RESERVED + 1)  # ids, padding and OOV included
    max_length: int | None = bounded(None, min=1)  # None: from the training texts (tokenizer.auto_max_length)
    embedding_dim: int = bounded(64, min=1)
    rnn_units: int = bounded(64, min=1)
    head_units: int = bounded(128, min=0)  # 0: no hidden layer
    dropout: float = bounded(0.2, min=0, max=1, max_open=True)
    epochs: int = bounded(40, min=1)
    batch_size: int = bounded(64, min=1)
    learning_rate: float = bounded(3e-3, min=0, min_open=True)
    patience: int = bounded(5, min=0)  # epochs without validation-accuracy gain before stopping
    label_smoothing: float = bounded(0.0, min=0, max=1, max_open=True)
    seed: int = bounded(0, min=0, max=SEED_MAX)

    def __post_init__(self):
        validate(self)


@dataclass(frozen=True)
class CompressOptions:
    method: str = choice("dkp", (*METHODS, AUTO))
    target_ratio: float | None = bounded(25.0, min=1, min_open=True)  # whole model; below 1x it would grow
    target_bytes: int | None = bounded(None, min=1)  # overrides target_ratio
    layers: tuple[str, ...] = ()  # empty: every matrix worth compressing
    epochs: int = bounded(30, min=1)
    batch_size: int = bounded(64, min=1)
    learning_rate: float = bounded(3e-3, min=0, min_open=True)
    patience: int = bounded(5, min=0)
    allocation: float | None = bounded(None, min=0)  # budget ~ size ** allocation across matrices; None: searched
    doping_share: float = bounded(DEFAULT_DOPING_SHARE, min=0, max=1, min_open=True, max_open=True)
    cmr: float = bounded(DEFAULT_CMR, min=0, max=1, max_open=True)
    anneal_fraction: float = bounded(0.5, min=0, max=1)  # dkp / prune: share of fine-tuning spent annealing
    vocab_size: int | None = bounded(None, min=RESERVED + 1)  # keep this many ids (most frequent words); not small
    label_smoothing: float = bounded(0.1, min=0, max=1, max_open=True)  # bounds the logits (docs/compression.md)
    distill: float = bounded(0.0, min=0, max=1)  # weight of the uncompressed model's soft targets in the loss
    seed: int = bounded(0, min=0, max=SEED_MAX)

    def __post_init__(self):
        validate(self)
        if self.target_ratio is None and self.target_bytes is None:
            raise TfcompressError("give a target: target_ratio or target_bytes")
        if self.method == "small" and self.vocab_size is not None:
            raise OptionError("vocab_size", self.vocab_size, "unset for method small (it sizes its own vocabulary)")
        if self.method == AUTO and self.layers:
            raise OptionError("layers", ",".join(self.layers), "unset for method auto (small retrains every layer)")


@dataclass(frozen=True)
class LMOptions:
    seq_length: int = bounded(35, min=1)
    embedding_dim: int = bounded(128, min=1)
    rnn_units: int = bounded(256, min=1)
    cell: str = choice("lstm", CELLS)
    dropout: float = bounded(0.3, min=0, max=1, max_open=True)
    epochs: int = bounded(3, min=1)  # ~13 min each on 2 cores (docs/benchmarks.md)
    batch_size: int = bounded(64, min=1)
    learning_rate: float = bounded(2e-3, min=0, min_open=True)
    patience: int = bounded(1, min=0)
    seed: int = bounded(0, min=0, max=SEED_MAX)

    def __post_init__(self):
        validate(self)
