/* The Cortex-M DSP-extension path of the int8 kernels (SMLAD: two 16 x 16 products and a 32-bit
 * accumulate per instruction). Internal. Compiled when the build defines TFC_USE_DSP to 1 for a core
 * with the extension (__ARM_FEATURE_DSP: Cortex-M4, M7, M33, M35P, M55, M85): the kernels then test
 * TFC_DSP_PATH. TFC_USE_DSP undefined or 0 leaves only the portable C (and tfc_requantize_fast is
 * tfc_requantize); 1 without the extension is an #error. Every kernel keeps its portable loop beside
 * the DSP one, and the two give the same bits (tests/firmware/test_dsp_kernels.py runs both on an
 * emulated Cortex-M4). ACLE intrinsics (arm_acle.h) throughout, but for the rotated SXTB16 / SXTAB16.
 *
 * Why the results are the same:
 * - Four int8 in one 32-bit word become two words of two int16 each, bytes 0 and 2 (SXTB16) and
 *   bytes 1 and 3 (SXTB16 with ROR #8); both operands of a dot product are split the same way, so the
 *   pairs SMLAD multiplies are still x[i] w[i]. The input offset is added while splitting (SXTAB16):
 *   x + offset stays within int16 for x in [-128, 127] and |offset| <= TFC_DSP_MAX_OFFSET (the kernels
 *   take the portable loop past it), and every product within +-2^23.
 * - SMLAD's accumulate is a 32-bit two's-complement addition (it only sets the Q flag on overflow),
 *   the same wrap as the portable code's uint32 sums; the order of additions does not change a sum
 *   modulo 2^32.
 * - tfc_dsp_requantize is tfc_requantize (TFLM's double rounding) with the 64-bit rounding written
 *   for SMLAL and QADD; see there. */
#ifndef TFC_DSP_COMMON_H
#define TFC_DSP_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tfc_kernels.h"

#ifndef TFC_USE_DSP
#define TFC_USE_DSP 0
#endif

#if TFC_USE_DSP && !defined(__ARM_FEATURE_DSP)
#error "TFC_USE_DSP is 1 but the target has no DSP extension (__ARM_FEATURE_DSP): build with TFC_USE_DSP=0"
#endif

#if TFC_USE_DSP && defined(__ARM_FEATURE_DSP)
#define TFC_DSP_PATH 1
#else
#define TFC_DSP_PATH 0
#endif

#if TFC_DSP_PATH
#include <arm_acle.h>

/* The largest |input offset| for which x + offset fits an int16 lane for every int8 x (32640). */
#define TFC_DSP_MAX_OFFSET (INT16_MAX - INT8_MAX)

/* 32 bits from any address (an unaligned LDR on the core; memcpy keeps it defined C). */
static inline uint32_t tfc_dsp_read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes 1 and 3 sign-extended to two int16: SXTB16 with its rotation (GCC 12's arm_acle.h has no
 * __ror, and GCC does not fold a rotate into SXTB16 by itself; one instruction either way). */
static inline int16x2_t tfc_dsp_sxtb16_ror8(uint32_t w)
{
    int16x2_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(w));
    return r;
}

/* a + bytes 1 and 3 of w, lane by lane. */
static inline int16x2_t tfc_dsp_sxtab16_ror8(int16x2_t a, uint32_t w)
{
    int16x2_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(w));
    return r;
}

/* Four int8 as two words of int16 pairs: *even = (w[0], w[2]), *odd = (w[1], w[3]) (CMSIS-NN's
 * read_and_pad_reordered). */
static inline void tfc_dsp_read_s8x4(const int8_t *p, int16x2_t *even, int16x2_t *odd)
{
    const uint32_t w = tfc_dsp_read_u32(p);
    *even = __sxtb16((int8x4_t)w);
    *odd = tfc_dsp_sxtb16_ror8(w);
}

/* The offset in both int16 lanes; |offset| <= TFC_DSP_MAX_OFFSET. */
/* Adds the four 16-bit lane sums (even, odd) = (x0, x2), (x1, x3) to sum[0..3], widened (wrapping uint32). */
static inline void tfc_dsp_add_lanes(int16x2_t even, int16x2_t odd, uint32_t sum[4])
{
    sum[0] += (uint32_t)(int32_t)(int16_t)(uint32_t)even;
    sum[1] += (uint32_t)(int32_t)(int16_t)(uint32_t)odd;
    sum[2] += (uint32_t)((int32_t)even >> 16);
    sum[3] += (uint32_t)((int32_t)odd >> 16);
}

static inline int16x2_t tfc_dsp_offset_pair(int32_t offset)
{
    return (int16x2_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
}

/* x[0 .. 4 quads) + offset as int16 pairs, each quad two words: (x0, x2), (x1, x3), offset added. */
static inline void tfc_dsp_expand_s8(const int8_t *x, int32_t offset, int32_t quads, int16x2_t *xe)
{
    const int16x2_t off = tfc_dsp_offset_pair(offset);
    for (int32_t k = 0; k < quads; ++k) {
        const uint32_t w = tfc_dsp_read_u32(x + 4 * k);
        xe[2 * k] = __sxtab16(off, (int8x4_t)w);
        xe[2 * k + 1] = tfc_dsp_sxtab16_ror8(off, w);
    }
}

/* t[0 .. 4 quads) (int16, any even address) as pairs: (t0, t2), (t1, t3) per quad (PKHBT, PKHTB). */
static inline void tfc_dsp_expand_s16(const int16_t *t, int32_t quads, int16x2_t *te)
{
    for (int32_t k = 0; k < quads; ++k) {
        const uint32_t t01 = tfc_dsp_read_u32(t + 4 * k), t23 = tfc_dsp_read_u32(t + 4 * k + 2);
        te[2 * k] = (int16x2_t)((t01 & 0xFFFFu) | (t23 << 16));
        te[2 * k + 1] = (int16x2_t)((t01 >> 16) | (t23 & 0xFFFF0000u));
    }
}

/* A scheduling barrier: GCC does not move instructions across a volatile asm, which keeps it from
 * hoisting every row's loads to the top of a multi-row loop body and running out of registers. */
#define TFC_DSP_BARRIER() __asm__ volatile("")

/* The multi-row loops are kept out of line: alone in a function the register allocator keeps every
 * accumulator and pointer in a register (four rows use all fourteen). */
#define TFC_DSP_NOINLINE __attribute__((noinline, unused))

/* acc + the four products of one quad: w (int8, any alignment) times the expanded pair (xa, xb). */
static inline int32_t tfc_dsp_mac_quad(int32_t acc, const int8_t *w, int16x2_t xa, int16x2_t xb)
{
    const uint32_t word = tfc_dsp_read_u32(w);
    acc = __smlad(__sxtb16((int8x4_t)word), xa, acc);
    return __smlad(tfc_dsp_sxtb16_ror8(word), xb, acc);
}

/* acc[r] += sum over `quads` quads of the expanded input xe times row r of w, r < 4, rows `stride`
 * bytes apart; wrapping. Each expanded pair is loaded once for the four rows: 24 instructions for 16
 * MACs, every accumulator and pointer in a register (inline it only where little else is live).
 * Unrolling further does not pay: GCC then gives up the post-incremented loads. */
static inline void tfc_dsp_dot_expanded_x4(const int16x2_t *xe, const int8_t *w, size_t stride, int32_t quads,
                                           int32_t *acc)
{
    const int16x2_t *const end = xe + 2 * quads;
    const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride, *w3 = w + 3 * stride;
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    while (xe != end) {
        const int16x2_t xa = xe[0], xb = xe[1];
        xe += 2;
        a0 = tfc_dsp_mac_quad(a0, w0, xa, xb);
        w0 += 4;
        TFC_DSP_BARRIER();
        a1 = tfc_dsp_mac_quad(a1, w1, xa, xb);
        w1 += 4;
        TFC_DSP_BARRIER();
        a2 = tfc_dsp_mac_quad(a2, w2, xa, xb);
        w2 += 4;
        TFC_DSP_BARRIER();
        a3 = tfc_dsp_mac_quad(a3, w3, xa, xb);
        w3 += 4;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* The same for 1 .. 4 rows, out of line. */
static TFC_DSP_NOINLINE void tfc_dsp_dot_expanded_rows(const int16x2_t *xe, const int8_t *w, size_t stride,
                                                       int32_t quads, int32_t rows, int32_t *acc)
{
    const int16x2_t *const end = xe + 2 * quads;
    if (rows == 4) {
        tfc_dsp_dot_expanded_x4(xe, w, stride, quads, acc);
        return;
    }
    if (rows == 3) {
        const int8_t *w0 = w, *w1 = w + stride, *w2 = w + 2 * stride;
        int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2];
        for (const int16x2_t *p = xe; p != end; p += 2) {
            const int16x2_t xa = p[0], xb = p[1];
            a0 = tfc_dsp_mac_quad(a0, w0, xa, xb);
            w0 += 4;
            TFC_DSP_BARRIER();
            a1 = tfc_dsp_mac_quad(a1, w1, xa, xb);
            w1 += 4;
            TFC_DSP_BARRIER();
            a2 = tfc_dsp_mac_quad(a2, w2, xa, xb);
            w2 += 4;
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        return;
    }
    if (rows == 2) {
        const int8_t *w0 = w, *w1 = w + stride;
        int32_t a0 = acc[0], a1 = acc[1];
        for (const int16x2_t *p = xe; p != end; p += 2) {
            const int16x2_t xa = p[0], xb = p[1];
            a0 = tfc_dsp_mac_quad(a0, w0, xa, xb);
            w0 += 4;
            a1 = tfc_dsp_mac_quad(a1, w1, xa, xb);
            w1 += 4;
        }
        acc[0] = a0;
        acc[1] = a1;
        return;
    }
    int32_t a0 = acc[0];
    for (const int16x2_t *p = xe; p != end; p += 2) {
        a0 = tfc_dsp_mac_quad(a0, w, p[0], p[1]);
        w += 4;
    }
    acc[0] = a0;
}

/* Inputs the structured products split on the stack at a time (2 bytes each); a multiple of 4. Longer
 * vectors take the one-row products below. */
#define TFC_DSP_CHUNK 256

/* acc[r] += sum_{i < n} (x[i] + offset) w[r stride + i] for r < rows (1 .. 4): the first 4 (n / 4)
 * inputs from xe (x split by tfc_dsp_expand_s8, n <= TFC_DSP_CHUNK), the n % 4 others as the portable
 * loops sum them. */
static inline void tfc_dsp_dot_rows_s8(const int16x2_t *xe, const int8_t *x, int32_t offset, int32_t n,
                                       const int8_t *w, size_t stride, int32_t rows, int32_t *acc)
{
    const int32_t quads = n / 4;
    tfc_dsp_dot_expanded_rows(xe, w, stride, quads, rows, acc);
    for (int32_t r = 0; r < rows && 4 * quads < n; ++r) {
        uint32_t sum = (uint32_t)acc[r];
        for (int32_t i = 4 * quads; i < n; ++i) {
            sum += (uint32_t)(((int32_t)x[i] + offset) * (int32_t)w[(size_t)r * stride + (size_t)i]);
        }
        acc[r] = (int32_t)sum;
    }
}

/* The same for an int16 t split by tfc_dsp_expand_s16 into te. */
static inline void tfc_dsp_dot_rows_s16(const int16x2_t *te, const int16_t *t, int32_t n, const int8_t *w,
                                        size_t stride, int32_t rows, int32_t *acc)
{
    const int32_t quads = n / 4;
    tfc_dsp_dot_expanded_rows(te, w, stride, quads, rows, acc);
    for (int32_t r = 0; r < rows && 4 * quads < n; ++r) {
        uint32_t sum = (uint32_t)acc[r];
        for (int32_t k = 4 * quads; k < n; ++k) {
            sum += (uint32_t)((int32_t)t[k] * (int32_t)w[(size_t)r * stride + (size_t)k]);
        }
        acc[r] = (int32_t)sum;
    }
}

/* sum_i (x[i] + offset) w[i], wrapping, the input split in registers (one row: nothing to share);
 * |offset| <= TFC_DSP_MAX_OFFSET. */
static inline uint32_t tfc_dsp_dot_s8(const int8_t *x, int32_t offset, const int8_t *w, int32_t n)
{
    const int16x2_t off = tfc_dsp_offset_pair(offset);
    int32_t acc = 0;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const uint32_t xw = tfc_dsp_read_u32(x + i);
        int16x2_t we, wo;
        tfc_dsp_read_s8x4(w + i, &we, &wo);
        acc = __smlad(we, __sxtab16(off, (int8x4_t)xw), acc);
        acc = __smlad(wo, tfc_dsp_sxtab16_ror8(off, xw), acc);
    }
    uint32_t sum = (uint32_t)acc;
    for (; i < n; ++i) {
        sum += (uint32_t)(((int32_t)x[i] + offset) * (int32_t)w[i]);
    }
    return sum;
}

/* sum_k t[k] w[k], wrapping: t int16 (any even address), w int8. t's pairs (t0, t1), (t2, t3) are
 * rearranged to (t0, t2), (t1, t3) by PKHBT / PKHTB to meet w's split. */
static inline uint32_t tfc_dsp_dot_s16_s8(const int16_t *t, const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        const uint32_t t01 = tfc_dsp_read_u32(t + k), t23 = tfc_dsp_read_u32(t + k + 2);
        const int16x2_t t02 = (int16x2_t)((t01 & 0xFFFFu) | (t23 << 16));
        const int16x2_t t13 = (int16x2_t)((t01 >> 16) | (t23 & 0xFFFF0000u));
        int16x2_t we, wo;
        tfc_dsp_read_s8x4(w + k, &we, &wo);
        acc = __smlad(we, t02, acc);
        acc = __smlad(wo, t13, acc);
    }
    uint32_t sum = (uint32_t)acc;
    for (; k < n; ++k) {
        sum += (uint32_t)((int32_t)t[k] * (int32_t)w[k]);
    }
    return sum;
}

/* tfc_requantize, inlined and shorter, the same bits for every x, multiplier and shift in [-31, 31]:
 * - SaturatingRoundingDoublingHighMul: gemmlowp's (ab + nudge) / 2^31, truncating, with nudge 2^30 for
 *   ab >= 0 and 1 - 2^30 below, is floor((ab + 2^30) / 2^31) for every ab (for ab < 0, truncation is
 *   the ceiling and ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 1 - 2^30 + 2^31 - 1) / 2^31)). That is
 *   the high word of the SMLAL ab + 2^30 doubled, plus the top bit of its low word. The only ab whose
 *   result leaves int32 is (-2^31)^2 = 2^62, where the doubling of the high word 2^30 saturates to
 *   INT32_MAX by QADD, as gemmlowp's special case; every other result is > INT32_MIN (|ab| < 2^62).
 * - RoundingDivideByPOT by k >= 1, halves away from zero: floor((r - [r < 0] + 2^(k-1)) / 2^k), which
 *   is y = r - [r < 0] (no overflow, r > INT32_MIN) shifted right by k - 1, then halved rounding up. */
static inline int32_t tfc_dsp_srdhm(int32_t x, int32_t multiplier)
{
    const int64_t ab = (int64_t)x * multiplier + (INT64_C(1) << 30);
    return (int32_t)((uint32_t)__qadd((int32_t)(ab >> 32), (int32_t)(ab >> 32)) | ((uint32_t)ab >> 31));
}

static inline int32_t tfc_dsp_requantize(int32_t x, tfc_quant_multiplier m)
{
    if (m.shift >= 0) {
        return tfc_dsp_srdhm((int32_t)((uint32_t)x << m.shift), m.multiplier); /* wraps as TFLM's product */
    }
    const int32_t r = tfc_dsp_srdhm(x, m.multiplier);
    const int32_t y = (int32_t)((uint32_t)r - ((uint32_t)r >> 31)) >> (-m.shift - 1);
    return (y >> 1) + (y & 1);
}

#endif /* TFC_DSP_PATH */

/* The requantisation of the kernels' loops: tfc_dsp_requantize inlined on the DSP path, else the
 * portable tfc_requantize (requantize.c) itself, so that the portable build is the code it was. */
#if TFC_DSP_PATH
#define tfc_requantize_fast tfc_dsp_requantize
#else
#define tfc_requantize_fast tfc_requantize
#endif

#endif /* TFC_DSP_COMMON_H */
