/* The product x W of one input row and a dense or structured W (tfc_structured_matrix), shared by
 * the fused structured fully connected ops and the recurrent ops. Internal. The product runs in
 * two calls: the first stage (an int16 intermediate t, and DKP's sparse sums) once per input
 * row, then any column c of the result, its int32 parts (sums that wrap) each requantised with
 * that part's multiplier and added in int64. */
#ifndef TFC_STRUCTURED_COMMON_H
#define TFC_STRUCTURED_COMMON_H

#include <stddef.h>

#include "dsp_common.h"
#include "tfc_kernels.h"

/* Every multiplier shifts by at most 31 either way (tfc_requantize's shifts are then defined). */
int tfc_multipliers_valid(const tfc_quant_multiplier *m, int32_t count);

/* The descriptor is one the product can read: its kind's dimensions, factors, multipliers and
 * (DKP) the header of S [rows][cols] with background 0. */
int tfc_structured_valid(const tfc_structured_matrix *m);

/* int16 entries of the intermediate t: 0 (DENSE), rank (LMF, HMF) or a_in * b_out (KP, DKP). */
int32_t tfc_structured_stage1_size(const tfc_structured_matrix *m);

/* t from x (rows int8, each plus `offset`, in [-127, 128]); nothing for DENSE. */
void tfc_structured_stage1(const tfc_structured_matrix *m, const int8_t *x, int32_t offset, int16_t *t);

/* DKP: sparse[c] = sum_i (x[i] + offset) s[i][c] for every column (wrapping); 0 when S is damaged. */
int tfc_structured_sparse_sums(const tfc_structured_matrix *m, const int8_t *x, int32_t offset, uint32_t *sparse);

/* sum_i (x[i] + offset) w[i], wrapping. */
static inline uint32_t tfc_dot_s8(const int8_t *x, int32_t offset, const int8_t *w, int32_t n)
{
#if TFC_DSP_PATH
    if (offset >= -TFC_DSP_MAX_OFFSET && offset <= TFC_DSP_MAX_OFFSET) {
        return tfc_dsp_dot_s8(x, offset, w, n);
    }
#endif
    uint32_t acc = 0u;
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)(((int32_t)x[i] + offset) * (int32_t)w[i]);
    }
    return acc;
}

/* sum_k t[k] w[k], wrapping. */
static inline uint32_t tfc_dot_s16_s8(const int16_t *t, const int8_t *w, int32_t n)
{
#if TFC_DSP_PATH
    return tfc_dsp_dot_s16_s8(t, w, n);
#endif
    uint32_t acc = 0u;
    for (int32_t k = 0; k < n; ++k) {
        acc += (uint32_t)((int32_t)t[k] * (int32_t)w[k]);
    }
    return acc;
}

/* KP, DKP: the rows of X = x zero-padded to [a_in][b_in] that hold inputs. The rest contribute 0
 * and requant(0) is 0, so t is only written and read for i below it. */
static inline int32_t tfc_structured_kp_rows_used(const tfc_structured_matrix *m)
{
    return (m->rows + m->b_in - 1) / m->b_in;
}

/* KP, DKP: column c = p * b_out + q (loops walking the columns in order pass p and q, dividing
 * nothing; rows_used from tfc_structured_kp_rows_used). */
static inline int64_t tfc_structured_kp_column(const tfc_structured_matrix *m, const int16_t *t,
                                               const uint32_t *sparse, int32_t c, int32_t p, int32_t q,
                                               int32_t rows_used, uint32_t addend)
{
    const uint32_t kron = addend + tfc_dot_s16_s8(t + (size_t)q * (size_t)m->a_in,
                                                  m->a + (size_t)p * (size_t)m->a_in, rows_used);
    int64_t total = tfc_requantize_fast((int32_t)kron, m->part1[c]);
    if (m->kind == TFC_MATRIX_DKP) {
        total += tfc_requantize_fast((int32_t)sparse[c], m->sparse);
    }
    return total;
}

/* Column c of x W: sum over its parts of requant(part), `addend` added (wrapping) to the first
 * part before it is requantised (a fully connected op's bias; 0 for the recurrent ops). */
static inline int64_t tfc_structured_column(const tfc_structured_matrix *m, const int8_t *x, int32_t offset,
                                            const int16_t *t, const uint32_t *sparse, int32_t c, uint32_t addend)
{
    switch (m->kind) {
    case TFC_MATRIX_DENSE:
        return tfc_requantize_fast(
            (int32_t)(addend + tfc_dot_s8(x, offset, m->w + (size_t)c * (size_t)m->rows, m->rows)), m->part1[c]);
    case TFC_MATRIX_LMF:
        return tfc_requantize_fast(
            (int32_t)(addend + tfc_dot_s16_s8(t, m->v + (size_t)c * (size_t)m->rank, m->rank)), m->part1[c]);
    case TFC_MATRIX_HMF: {
        const uint32_t head = addend + tfc_dot_s8(x, offset, m->h + (size_t)c * (size_t)m->rank, m->rank);
        const uint32_t low_rank = tfc_dot_s16_s8(t, m->v + (size_t)c * (size_t)m->rank, m->rank);
        return (int64_t)tfc_requantize_fast((int32_t)head, m->part1[c]) +
               tfc_requantize_fast((int32_t)low_rank, m->part2[c]);
    }
    case TFC_MATRIX_KP:
    case TFC_MATRIX_DKP:
        return tfc_structured_kp_column(m, t, sparse, c, c / m->b_out, c % m->b_out, tfc_structured_kp_rows_used(m),
                                        addend);
    default:
        return 0;
    }
}

#endif /* TFC_STRUCTURED_COMMON_H */
