/* Fixed-point requantisation shared by every kernel: TFLM's MultiplyByQuantizedMultiplier. */
#include "tfc_kernels.h"

/* round(a * b / 2^31), halves away from zero; the one overflowing case saturates. */
static int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN) {
        return INT32_MAX;
    }
    const int64_t ab = (int64_t)a * (int64_t)b;
    const int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
    return (int32_t)((ab + nudge) / (INT64_C(1) << 31)); /* C division truncates, as gemmlowp */
}

/* x / 2^exponent, halves away from zero. */
static int32_t rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((INT64_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

int32_t tfc_requantize(int32_t x, tfc_quant_multiplier m)
{
    const int32_t left = m.shift > 0 ? m.shift : 0;
    const int32_t right = m.shift > 0 ? 0 : -m.shift;
    /* The left shift wraps like TFLM's int32 product, without C's signed-overflow UB. */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, m.multiplier), right);
}
