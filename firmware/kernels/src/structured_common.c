/* x W for a dense or structured W, one input row at a time (structured_common.h). Sums are uint32
 * so that they wrap as TFLM's int32 sums. */
#include <stddef.h>

#include "sparse_common.h"
#include "structured_common.h"

static int16_t saturate_s16(int32_t x)
{
    return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
}

int tfc_multipliers_valid(const tfc_quant_multiplier *m, int32_t count)
{
    if (m == NULL) {
        return 0;
    }
    for (int32_t i = 0; i < count; ++i) {
        if (m[i].shift < -31 || m[i].shift > 31) {
            return 0;
        }
    }
    return 1;
}

static int one_multiplier_valid(tfc_quant_multiplier m)
{
    return tfc_multipliers_valid(&m, 1);
}

int tfc_structured_valid(const tfc_structured_matrix *m)
{
    if (m == NULL || m->rows < 1 || m->cols < 1 || !tfc_multipliers_valid(m->part1, m->cols)) {
        return 0;
    }
    switch (m->kind) {
    case TFC_MATRIX_DENSE:
        return m->w != NULL;
    case TFC_MATRIX_LMF:
    case TFC_MATRIX_HMF:
        if (m->rank < 1 || m->u == NULL || m->v == NULL || !tfc_multipliers_valid(m->stage1, 1)) {
            return 0;
        }
        return m->kind == TFC_MATRIX_LMF ||
               (m->h != NULL && m->rank < m->rows && tfc_multipliers_valid(m->part2, m->cols));
    case TFC_MATRIX_KP:
    case TFC_MATRIX_DKP:
        if (m->a == NULL || m->b == NULL || m->a_out < 1 || m->a_in < 1 || m->b_out < 1 || m->b_in < 1 ||
            (int64_t)m->a_in * m->b_in < m->rows || (int64_t)m->a_out * m->b_out < m->cols ||
            (int64_t)m->a_in * m->b_out > INT32_MAX / 2 || !tfc_multipliers_valid(m->stage1, m->b_out)) {
            return 0;
        }
        return m->kind == TFC_MATRIX_KP ||
               (tfc_sparse_valid(m->s) && m->s->rows == m->rows && m->s->cols == m->cols && m->s->background == 0 &&
                one_multiplier_valid(m->sparse));
    default:
        return 0;
    }
}

int32_t tfc_structured_stage1_size(const tfc_structured_matrix *m)
{
    switch (m->kind) {
    case TFC_MATRIX_LMF:
    case TFC_MATRIX_HMF:
        return m->rank;
    case TFC_MATRIX_KP:
    case TFC_MATRIX_DKP:
        return m->a_in * m->b_out;
    default:
        return 0;
    }
}

#if TFC_DSP_PATH
/* t[k] = sat16(requant_k(sum_{i < n} (x[i] + offset) w[k][i])) for k < count, rows of w n bytes apart,
 * t[k] at t + k * t_stride, multiplier k of `stage1` (or the first when `one`): x split once (n at most
 * TFC_DSP_CHUNK), four rows at a time. */
static void stage1_rows_dsp(const int8_t *x, int32_t offset, int32_t n, const int8_t *w, int32_t count,
                            const tfc_quant_multiplier *stage1, int one, int16_t *t, size_t t_stride)
{
    int16x2_t xe[TFC_DSP_CHUNK / 2];
    tfc_dsp_expand_s8(x, offset, n / 4, xe);
    for (int32_t k = 0; k < count; k += 4) {
        const int32_t rows = count - k < 4 ? count - k : 4;
        int32_t acc[4] = {0, 0, 0, 0};
        tfc_dsp_dot_rows_s8(xe, x, offset, n, w + (size_t)k * (size_t)n, (size_t)n, rows, acc);
        for (int32_t r = 0; r < rows; ++r) {
            t[(size_t)(k + r) * t_stride] = saturate_s16(tfc_dsp_requantize(acc[r], stage1[one ? 0 : k + r]));
        }
    }
}
#endif

void tfc_structured_stage1(const tfc_structured_matrix *m, const int8_t *x, int32_t offset, int16_t *t)
{
    if (m->kind == TFC_MATRIX_LMF || m->kind == TFC_MATRIX_HMF) {
        /* t[k] = sat16(requant(sum_i (x[i] + offset) u[k][i])), HMF over the inputs past the head */
        const int32_t head = m->kind == TFC_MATRIX_HMF ? m->rank : 0;
        const int32_t depth = m->rows - head;
#if TFC_DSP_PATH
        if (depth <= TFC_DSP_CHUNK && offset >= -TFC_DSP_MAX_OFFSET && offset <= TFC_DSP_MAX_OFFSET) {
            stage1_rows_dsp(x + head, offset, depth, m->u, m->rank, m->stage1, 1, t, 1);
            return;
        }
#endif
        for (int32_t k = 0; k < m->rank; ++k) {
            const uint32_t acc = tfc_dot_s8(x + head, offset, m->u + (size_t)k * (size_t)depth, depth);
            t[k] = saturate_s16(tfc_requantize_fast((int32_t)acc, m->stage1[0]));
        }
    } else if (m->kind == TFC_MATRIX_KP || m->kind == TFC_MATRIX_DKP) {
        /* t[q][i] = sat16(requant_q(sum_j X[i][j] b[q][j])), each row i of X a slice of x */
        const int32_t rows_used = tfc_structured_kp_rows_used(m);
        for (int32_t i = 0; i < rows_used; ++i) {
            const int8_t *xi = x + (size_t)i * (size_t)m->b_in;
            const int32_t width = m->rows - i * m->b_in < m->b_in ? m->rows - i * m->b_in : m->b_in;
#if TFC_DSP_PATH
            if (width == m->b_in && width <= TFC_DSP_CHUNK && offset >= -TFC_DSP_MAX_OFFSET &&
                offset <= TFC_DSP_MAX_OFFSET) {
                stage1_rows_dsp(xi, offset, width, m->b, m->b_out, m->stage1, 0, t + i, (size_t)m->a_in);
                continue;
            }
#endif
            for (int32_t q = 0; q < m->b_out; ++q) {
                const uint32_t acc = tfc_dot_s8(xi, offset, m->b + (size_t)q * (size_t)m->b_in, width);
                t[(size_t)q * (size_t)m->a_in + (size_t)i] = saturate_s16(tfc_requantize_fast((int32_t)acc,
                                                                                               m->stage1[q]));
            }
        }
    }
}

int tfc_structured_sparse_sums(const tfc_structured_matrix *m, const int8_t *x, int32_t offset, uint32_t *sparse)
{
    for (int32_t c = 0; c < m->cols; ++c) {
        sparse[c] = 0u;
    }
    for (int32_t r = 0; r < m->rows; ++r) {
        if (!tfc_sparse_accumulate_row(m->s, r, (int32_t)x[r] + offset, sparse)) {
            return 0;
        }
    }
    return 1;
}
