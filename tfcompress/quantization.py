"""Integer requantisation, the arithmetic every int8 kernel shares.

An int32 accumulator is scaled by a real multiplier M = in_scale * w_scale / out_scale,
held as a Q31 integer and a power-of-two shift (`quantize_multiplier`). TFLM's reference
kernels (and so the firmware) round twice: a rounding doubling high multiply, then a rounding
right shift. LiteRT's x86 build rounds once. Both are here so tests can show which
interpreter does which; the C kernels of a later issue implement `double` rounding.
"""

from __future__ import annotations

import math

import numpy as np

ROUNDINGS = ("double", "single")


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(q, shift) with real ~= q / 2**31 * 2**shift and q in [2**30, 2**31), as TFLite's QuantizeMultiplier."""
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    scaled = mantissa * (1 << 31)  # exact: a double times a power of two
    q = int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))  # std::round: ties away from zero
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def multiply_by_quantized_multiplier(acc, q, shift, rounding: str = "double") -> np.ndarray:
    """Scale int32 accumulators `acc` by (q, shift) with TFLite's integer rounding; `double`
    rounding also takes arrays of q and shift that broadcast against `acc` (per channel)."""
    x = np.asarray(acc, dtype=np.int64)
    q = np.asarray(q, np.int64) if rounding == "double" else q
    if rounding == "single":
        total = 31 - shift
        return (x * q + (1 << (total - 1))) >> total
    if rounding != "double":
        raise ValueError(f"rounding must be one of {ROUNDINGS}")
    shift = np.asarray(shift, np.int64)  # one per element or per channel (broadcast), or one for all
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    x = (x * np.left_shift(1, left) + 2**31) % 2**32 - 2**31  # an int32 product in TFLM: it wraps
    # SaturatingRoundingDoublingHighMul: round half away from zero, divide by 2**31.
    product = x * q
    nudged = product + np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(nudged >= 0, nudged >> 31, -((-nudged) >> 31))  # C division truncates toward zero
    high = np.where((x == np.iinfo(np.int32).min) & (q == np.iinfo(np.int32).min), np.iinfo(np.int32).max, high)
    # RoundingDivideByPOT: round half away from zero (a no-op for right == 0).
    mask = np.left_shift(1, right) - 1
    remainder = high & mask
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + (remainder > threshold)


def requantize(acc, real_multiplier: float, zero_point: int, rounding: str = "double",
               lo: int = -128, hi: int = 127) -> np.ndarray:
    """int32 accumulators -> int8 outputs: scale, add the output zero point, clamp."""
    q, shift = quantize_multiplier(real_multiplier)
    return np.clip(multiply_by_quantized_multiplier(acc, q, shift, rounding) + zero_point, lo, hi).astype(np.int8)
