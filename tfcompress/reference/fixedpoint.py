"""gemmlowp's fixed-point logistic and tanh on int32 raw values, as TFLM's int8 LOGISTIC and TANH
use them (gemmlowp/fixedpoint/fixedpoint.h). Scalar Python integers, one value at a time: the
ops evaluate them once per possible int8 input and keep the table.

A value with `bits` integer bits is a raw int32 r meaning r / 2**(31 - bits).
"""

from __future__ import annotations

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def wrap(x: int) -> int:
    """Two's-complement int32."""
    return (x + 2**31) % 2**32 - 2**31


def srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul: round(a * b / 2**31), halves away from zero."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudged = ab + ((1 << 30) if ab >= 0 else 1 - (1 << 30))
    return _truncating_divide(nudged, 1 << 31)


def rdbpot(x: int, exponent: int) -> int:
    """RoundingDivideByPOT: x / 2**exponent, halves away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if (x & mask) > threshold else 0)


def mul_pot(x: int, exponent: int) -> int:
    """SaturatingRoundingMultiplyByPOT."""
    if exponent > 0:
        threshold = (1 << (31 - exponent)) - 1
        return INT32_MAX if x > threshold else INT32_MIN if x < -threshold else x << exponent
    return rdbpot(x, -exponent) if exponent < 0 else x


def rescale(x: int, src_bits: int, dst_bits: int) -> int:
    return mul_pot(x, src_bits - dst_bits)


def _one(bits: int) -> int:
    return INT32_MAX if bits == 0 else 1 << (31 - bits)


def _exp_quarter(a: int) -> int:
    """exp(a) for a in [-1/4, 0), 0 integer bits in and out (a Taylor expansion around -1/8)."""
    constant_term, one_third = 1895147668, 715827883
    x = wrap(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = mul_pot(x4, -2)
    poly = mul_pot(wrap(srdhm(wrap(x4_over_4 + x3), one_third) + x2), -1)
    return wrap(constant_term + srdhm(constant_term, wrap(x + poly)))


_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401),
           (4, 242))


def exp_on_negative_values(a: int, bits: int) -> int:
    """exp(a) for a <= 0 with `bits` integer bits; the result has 0 integer bits."""
    fractional = 31 - bits
    quarter = 1 << (fractional - 2)
    a_mod = wrap((a & (quarter - 1)) - quarter)
    result = _exp_quarter(rescale(a_mod, bits, 0))
    remainder = wrap(a_mod - a)
    for exponent, multiplier in _BARREL:
        if bits > exponent and remainder & (1 << (fractional + exponent)):
            result = srdhm(result, multiplier)
    if bits > 5 and a < -(1 << (36 - bits)):
        result = 0
    return INT32_MAX if a == 0 else result


def _newton_reciprocal_half(a: int) -> int:
    """x ~ 1 / ((1 + a) / 2) with 2 integer bits, for a in (0, 1) with 0 integer bits."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)
    x = wrap(1515870810 + srdhm(half_denominator, -1010580540))
    for _ in range(3):
        one_minus = wrap(_one(2) - srdhm(half_denominator, x))
        x = wrap(x + rescale(srdhm(x, one_minus), 4, 2))
    return x


def _rounding_half_sum(a: int, b: int) -> int:
    total = a + b
    return _truncating_divide(total + (1 if total >= 0 else -1), 2)


def _truncating_divide(x: int, d: int) -> int:
    """C's integer division (toward zero), for a positive divisor."""
    return x // d if x >= 0 else -((-x) // d)


def logistic(a: int, bits: int) -> int:
    """1 / (1 + exp(-a)), 0 integer bits out."""
    if a == 0:
        return 1 << 30
    positive = a > 0
    magnitude = a if positive else wrap(-a)
    reciprocal = _newton_reciprocal_half(exp_on_negative_values(wrap(-magnitude), bits))
    result = rescale(reciprocal, 1, 0)  # ExactMulByPot<-1> (2 -> 1 integer bits), then Rescale<0>
    return result if positive else wrap(INT32_MAX - result)


def tanh(a: int, bits: int) -> int:
    """tanh(a), 0 integer bits out."""
    if a == 0:
        return 0
    negative = a < 0
    n = a if negative else wrap(-a)
    e = exp_on_negative_values(n, bits + 1)  # ExactMulByPot<1>: the same raw value, one more integer bit
    t = rescale(wrap(_newton_reciprocal_half(e) - _one(2)), 2, 0)
    return wrap(-t) if negative else t
