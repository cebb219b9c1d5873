/* gemmlowp's fixed-point logistic and tanh on int32 raw values (tfcompress/reference/fixedpoint.py),
 * computed: no float, no table. A raw value with `bits` integer bits is r / 2^(31 - bits). */
#include "fixed_point.h"
#include "tfc_kernels.h"

/* exp(a) for a in [-1/4, 0), 0 integer bits in and out: a Taylor expansion around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t constant_term = 1895147668; /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = tfc_wrap_add(a, INT32_C(1) << 28); /* a + 1/8 */
    const int32_t x2 = tfc_srdhm(x, x);
    const int32_t x3 = tfc_srdhm(x2, x);
    const int32_t x4 = tfc_srdhm(x2, x2);
    const int32_t x4_over_4 = tfc_saturating_mul_pot(x4, -2);
    const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 = tfc_saturating_mul_pot(
        tfc_wrap_add(tfc_srdhm(tfc_wrap_add(x4_over_4, x3), constant_1_over_3), x2), -1);
    return tfc_wrap_add(constant_term,
                        tfc_srdhm(constant_term, tfc_wrap_add(x, x4_over_24_plus_x3_over_6_plus_x2_over_2)));
}

/* exp(a) for a <= 0 with `bits` integer bits (1 .. 16 here); the result has 0 integer bits. */
static int32_t exp_on_negative_values(int32_t a, int32_t bits)
{
    static const int32_t barrel[7][2] = {{-2, 1672461947}, {-1, 1302514674}, {0, 790015084}, {1, 290630308},
                                         {2, 39332535},    {3, 720401},      {4, 242}};
    const int32_t fractional = 31 - bits;
    const int32_t quarter = INT32_C(1) << (fractional - 2);
    const int32_t a_mod = tfc_wrap_sub(a & (quarter - 1), quarter);
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(tfc_saturating_mul_pot(a_mod, bits));
    const uint32_t remainder = (uint32_t)tfc_wrap_sub(a_mod, a);
    for (int k = 0; k < 7; ++k) {
        const int32_t exponent = barrel[k][0];
        if (bits > exponent && ((remainder >> (fractional + exponent)) & 1u) != 0u) {
            result = tfc_srdhm(result, barrel[k][1]);
        }
    }
    if (bits > 5 && a < -(INT32_C(1) << (36 - bits))) {
        result = 0;
    }
    return a == 0 ? INT32_MAX : result;
}

/* RoundingHalfSum. */
static int32_t rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* 1 / ((1 + a) / 2) with 2 integer bits for a in (0, 1] with 0 integer bits: Newton-Raphson. */
static int32_t reciprocal_of_half_one_plus(int32_t a)
{
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    const int32_t one = INT32_C(1) << 29; /* 1 with 2 integer bits */
    int32_t x = tfc_wrap_add(1515870810, tfc_srdhm(half_denominator, -1010580540)); /* 48/17 - 32/17 d */
    for (int i = 0; i < 3; ++i) {
        const int32_t one_minus_half_denominator_times_x = tfc_wrap_sub(one, tfc_srdhm(half_denominator, x));
        x = tfc_wrap_add(x, tfc_saturating_mul_pot(tfc_srdhm(x, one_minus_half_denominator_times_x), 2));
    }
    return x;
}

/* 1 / (1 + exp(-a)), 0 integer bits out. */
static int32_t logistic(int32_t a, int32_t bits)
{
    if (a == 0) {
        return INT32_C(1) << 30;
    }
    const int32_t magnitude = a > 0 ? a : tfc_wrap_neg(a);
    const int32_t positive =
        tfc_saturating_mul_pot(reciprocal_of_half_one_plus(exp_on_negative_values(tfc_wrap_neg(magnitude), bits)), 1);
    return a > 0 ? positive : tfc_wrap_sub(INT32_MAX, positive);
}

/* tanh(a), 0 integer bits out. */
static int32_t tanh_raw(int32_t a, int32_t bits)
{
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : tfc_wrap_neg(a);
    const int32_t e = exp_on_negative_values(n, bits + 1);
    const int32_t t = tfc_saturating_mul_pot(tfc_wrap_sub(reciprocal_of_half_one_plus(e), INT32_C(1) << 29), 2);
    return a < 0 ? tfc_wrap_neg(t) : t;
}

static int16_t q31_to_q15(int32_t raw)
{
    const int32_t x = tfc_rounding_divide_by_pot(raw, 16);
    return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
}

int16_t tfc_sigmoid_q15(int16_t x)
{
    return q31_to_q15(logistic((int32_t)((uint32_t)(int32_t)x << 16), 3));
}

int16_t tfc_tanh_q15(int16_t x, int32_t integer_bits)
{
    const int32_t bits = integer_bits < 0 ? 0 : integer_bits > 15 ? 15 : integer_bits;
    return q31_to_q15(tanh_raw((int32_t)((uint32_t)(int32_t)x << 16), bits));
}
