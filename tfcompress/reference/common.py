"""What every reference op shares, as TFLM's *_common files: the op contract, errors, and the
integer helpers (requantisation, clamping, int32 wrap-around, activation ranges)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tfcompress.errors import ModelFileError
from tfcompress.quantization import multiply_by_quantized_multiplier
from tfcompress.reference.graph import Operator, TensorSpec

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


class OpError(ModelFileError):
    """An operator the reference cannot run as given; names the operator and the field."""

    def __init__(self, op: Operator, message: str):
        super().__init__(f"operator {op.index}", f"{op.name}: {message}")


@dataclass(frozen=True)
class OpReference:
    prepare: Callable[[Operator, list[TensorSpec | None], list[TensorSpec]], dict]
    eval: Callable[[dict, list[np.ndarray | None]], np.ndarray | tuple[np.ndarray, ...]]  # a tuple: one per output


def tensor_scale(t: TensorSpec) -> float:
    """A per-tensor scale as the double TFLM computes with (its float32 widened)."""
    return float(np.float64(t.scale[0]))


def zero_point(t: TensorSpec) -> int:
    return int(t.zero_point[0]) if len(t.zero_point) else 0


def activation_range(op: Operator, out: TensorSpec) -> tuple[int, int]:
    """CalculateActivationRangeQuantized (int8) or the plain int32 range."""
    act = ACTIVATIONS.get(op.options.get("fusedActivationFunction", 0))
    if act is None:
        raise OpError(op, f"fusedActivationFunction {op.options['fusedActivationFunction']} is not supported")
    if out.dtype == np.int32:
        if act != "NONE":
            raise OpError(op, f"fused {act} on int32 is not supported")
        return INT32_MIN, INT32_MAX
    if out.dtype != np.int8:
        raise OpError(op, f"output type {out.dtype.__name__} is not supported")
    zero, scale = zero_point(out), np.float32(out.scale[0])

    def q(x: float) -> int:  # zero_point + TfLiteRound(x / scale), divided in float32 as TFLM does
        return zero + int(round_away(np.float32(x) / scale))

    lo, hi = INT8_MIN, INT8_MAX
    if act == "RELU":
        lo = max(lo, q(0.0))
    elif act == "RELU6":
        lo, hi = max(lo, q(0.0)), min(hi, q(6.0))
    elif act == "RELU_N1_TO_1":
        lo, hi = max(lo, q(-1.0)), min(hi, q(1.0))
    return lo, hi


def round_away(x) -> np.ndarray:
    """TfLiteRound (std::round): halves away from zero."""
    x = np.asarray(x)
    whole = np.trunc(x)  # x - trunc(x) is exact, unlike x + 0.5 (0.49999997f + 0.5f rounds to 1)
    return whole + np.sign(x) * (np.abs(x - whole) >= 0.5)


def requantize(x, q: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier with TFLM's (double) rounding, on int32 values."""
    return multiply_by_quantized_multiplier(np.asarray(x, np.int64), q, shift, "double")


def requantize_channels(acc, multipliers) -> np.ndarray:
    """`requantize` with one (q, shift) per channel, the last axis of `acc`."""
    q, shift = (np.asarray(v, np.int64) for v in zip(*multipliers))
    return multiply_by_quantized_multiplier(np.asarray(acc, np.int64), q, shift, "double")


def clamp(x, lo: int, hi: int, dtype) -> np.ndarray:
    return np.clip(x, lo, hi).astype(dtype)


def wrap_int32(x) -> np.ndarray:
    """Two's-complement int32 wrap-around, what the C arithmetic does past the range."""
    return ((np.asarray(x, np.int64) + 2**31) % 2**32 - 2**31).astype(np.int32)
