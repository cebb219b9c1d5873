/* gemmlowp's scalar int32 fixed-point primitives (gemmlowp/fixedpoint/fixedpoint.h), shared by
 * requantize.c and the recurrent kernels. Internal. Every sum that gemmlowp lets wrap is done in
 * uint32 (C's signed overflow is undefined); shifts are only ever by 0 .. 31. */
#ifndef TFC_FIXED_POINT_H
#define TFC_FIXED_POINT_H

#include <stdint.h>

/* Two's-complement int32 a + b, a - b and -a. */
static inline int32_t tfc_wrap_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static inline int32_t tfc_wrap_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static inline int32_t tfc_wrap_neg(int32_t a)
{
    return (int32_t)(0u - (uint32_t)a);
}

/* SaturatingRoundingDoublingHighMul: round(a * b / 2^31), halves away from zero; the one
 * overflowing case saturates. */
static inline int32_t tfc_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
    return (int32_t)((ab + nudge) / (INT64_C(1) << 31)); /* C division truncates, as gemmlowp */
}

/* RoundingDivideByPOT: x / 2^exponent, halves away from zero; exponent in [0, 31]. */
static inline int32_t tfc_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* The same for int64 values (the recurrent ops' shifted products); exponent in [0, 62]. */
static inline int64_t tfc_rounding_divide_by_pot64(int64_t x, int32_t exponent)
{
    const int64_t mask = (INT64_C(1) << exponent) - 1;
    const int64_t remainder = x & mask;
    const int64_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* SaturatingRoundingMultiplyByPOT: x * 2^exponent, saturating up, rounding down; |exponent| <= 31. */
static inline int32_t tfc_saturating_mul_pot(int32_t x, int32_t exponent)
{
    if (exponent > 0) {
        const int32_t threshold = (int32_t)((INT64_C(1) << (31 - exponent)) - 1);
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
    return exponent < 0 ? tfc_rounding_divide_by_pot(x, -exponent) : x;
}

#endif /* TFC_FIXED_POINT_H */
