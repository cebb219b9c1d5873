/* Fused structured FULLY_CONNECTED: TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED, the matrix never formed.
 * Each op describes its W as a tfc_structured_matrix and runs the product of structured_common.c
 * over the batches: the first stage, then every column's parts (the bias added to the first),
 * requantised, summed in int64 with the output offset, clamped. */
#include <stddef.h>

#include "structured_common.h"
#include "tfc_kernels.h"

static int8_t clamp_s8(int64_t x, tfc_activation range)
{
    return (int8_t)(x < range.min ? range.min : x > range.max ? range.max : x);
}

/* The offset of an int8 zero point (so that x + offset times an int8 never overflows) and an int8 range. */
static int params_valid(const tfc_fc_params *params)
{
    return params != NULL && -INT8_MAX <= params->input_offset && params->input_offset <= -INT8_MIN &&
           INT8_MIN <= params->activation.min &&
           params->activation.min <= params->activation.max && params->activation.max <= INT8_MAX;
}

#if TFC_DSP_PATH
/* clamp(offset + part1 + part2): the int64 sum of the portable loop as saturating int32 additions (QADD),
 * the same after the clamp (into int8) for |offset| <= 2^30: when part1 + part2 saturates, the exact sum
 * is at least 2^30 from 0 on the same side, and so is the saturated one plus the offset. */
static int8_t output_dsp(int32_t offset, int32_t part1, int32_t part2, tfc_activation range)
{
    const int32_t y = __qadd(__qadd(part1, part2), offset);
    return (int8_t)(y < range.min ? range.min : y > range.max ? range.max : y);
}

/* The columns of one input row, four at a time on split vectors (dsp_common.h): KP and DKP one
 * group of columns c = p b_out + q per q (the rows of a times t's q-th part), LMF and HMF every column
 * (rows of v times t, of h times the head of x). 0 when a vector is longer than TFC_DSP_CHUNK or the
 * output offset past +-2^30 (output_dsp): then the caller takes the one-column loops. */
static int columns_dsp(const tfc_fc_params *params, const tfc_structured_matrix *m, const int8_t *x,
                       const int16_t *t, const uint32_t *sparse, const int32_t *bias, int8_t *out)
{
    int16x2_t te[TFC_DSP_CHUNK / 2], xe[TFC_DSP_CHUNK / 2];
    const tfc_activation range = params->activation;
    if (params->output_offset < -(INT32_C(1) << 30) || params->output_offset > (INT32_C(1) << 30)) {
        return 0;
    }
    if (m->kind == TFC_MATRIX_KP || m->kind == TFC_MATRIX_DKP) {
        const int32_t rows_used = tfc_structured_kp_rows_used(m);
        if (rows_used > TFC_DSP_CHUNK) {
            return 0;
        }
        for (int32_t q = 0; q < m->b_out && q < m->cols; ++q) {
            const int16_t *tq = t + (size_t)q * (size_t)m->a_in;
            const int32_t count = (m->cols - q + m->b_out - 1) / m->b_out; /* p with p b_out + q < cols */
            tfc_dsp_expand_s16(tq, rows_used / 4, te);
            for (int32_t p = 0; p < count; p += 4) {
                const int32_t rows = count - p < 4 ? count - p : 4;
                int32_t acc[4] = {0, 0, 0, 0};
                for (int32_t r = 0; bias != NULL && r < rows; ++r) {
                    acc[r] = bias[(p + r) * m->b_out + q];
                }
                tfc_dsp_dot_rows_s16(te, tq, rows_used, m->a + (size_t)p * (size_t)m->a_in, (size_t)m->a_in, rows,
                                     acc);
                for (int32_t r = 0; r < rows; ++r) {
                    const int32_t c = (p + r) * m->b_out + q;
                    const int32_t s = m->kind == TFC_MATRIX_DKP ? tfc_dsp_requantize((int32_t)sparse[c], m->sparse)
                                                                : 0;
                    out[c] = output_dsp(params->output_offset, tfc_dsp_requantize(acc[r], m->part1[c]), s, range);
                }
            }
        }
        return 1;
    }
    if (m->rank > TFC_DSP_CHUNK) {
        return 0;
    }
    tfc_dsp_expand_s16(t, m->rank / 4, te);
    if (m->kind == TFC_MATRIX_HMF) {
        tfc_dsp_expand_s8(x, params->input_offset, m->rank / 4, xe);
    }
    for (int32_t c = 0; c < m->cols; c += 4) {
        const int32_t rows = m->cols - c < 4 ? m->cols - c : 4;
        const size_t first = (size_t)c * (size_t)m->rank;
        int32_t acc[4] = {0, 0, 0, 0}, low_rank[4] = {0, 0, 0, 0};
        for (int32_t r = 0; bias != NULL && r < rows; ++r) {
            acc[r] = bias[c + r];
        }
        if (m->kind == TFC_MATRIX_HMF) {
            tfc_dsp_dot_rows_s8(xe, x, params->input_offset, m->rank, m->h + first, (size_t)m->rank, rows, acc);
            tfc_dsp_dot_rows_s16(te, t, m->rank, m->v + first, (size_t)m->rank, rows, low_rank);
            for (int32_t r = 0; r < rows; ++r) {
                out[c + r] = output_dsp(params->output_offset, tfc_dsp_requantize(acc[r], m->part1[c + r]),
                                        tfc_dsp_requantize(low_rank[r], m->part2[c + r]), range);
            }
        } else {
            tfc_dsp_dot_rows_s16(te, t, m->rank, m->v + first, (size_t)m->rank, rows, acc);
            for (int32_t r = 0; r < rows; ++r) {
                out[c + r] = output_dsp(params->output_offset, tfc_dsp_requantize(acc[r], m->part1[c + r]), 0, range);
            }
        }
    }
    return 1;
}
#endif

/* W's product over the batches; `sparse` (DKP: output_depth) and `t` the caller's scratch. */
static tfc_status structured_fully_connected(const tfc_fc_params *params, const tfc_structured_matrix *m,
                                             int32_t batches, const int8_t *input, const int32_t *bias,
                                             uint32_t *sparse, int16_t *t, int8_t *output)
{
    if (!params_valid(params) || !tfc_structured_valid(m) || batches < 1 || input == NULL || output == NULL ||
        (t == NULL && tfc_structured_stage1_size(m) > 0) || (sparse == NULL && m->kind == TFC_MATRIX_DKP)) {
        return TFC_ARG_ERROR;
    }
    for (int32_t n = 0; n < batches; ++n) {
        const int8_t *x = input + (size_t)n * (size_t)m->rows;
        int8_t *out = output + (size_t)n * (size_t)m->cols;
        tfc_structured_stage1(m, x, params->input_offset, t);
        if (m->kind == TFC_MATRIX_DKP && !tfc_structured_sparse_sums(m, x, params->input_offset, sparse)) {
            return TFC_ARG_ERROR;
        }
#if TFC_DSP_PATH
        if (columns_dsp(params, m, x, t, sparse, bias, out)) {
            continue;
        }
#endif
        if (m->kind == TFC_MATRIX_KP || m->kind == TFC_MATRIX_DKP) { /* c = p * b_out + q, in order */
            const int32_t rows_used = tfc_structured_kp_rows_used(m);
            for (int32_t c = 0, p = 0; c < m->cols; ++p) {
                for (int32_t q = 0; q < m->b_out && c < m->cols; ++q, ++c) {
                    const int64_t total = tfc_structured_kp_column(m, t, sparse, c, p, q, rows_used,
                                                                   bias != NULL ? (uint32_t)bias[c] : 0u);
                    out[c] = clamp_s8((int64_t)params->output_offset + total, params->activation);
                }
            }
            continue;
        }
        for (int32_t c = 0; c < m->cols; ++c) {
            const int64_t total = tfc_structured_column(m, x, params->input_offset, t, sparse, c,
                                                        bias != NULL ? (uint32_t)bias[c] : 0u);
            out[c] = clamp_s8((int64_t)params->output_offset + total, params->activation);
        }
    }
    return TFC_OK;
}

/* ---- LMF and HMF: t = sat16(requant((x + offset) u^T)), then t v^T */

static tfc_structured_matrix mf_matrix(tfc_matrix_kind kind, const tfc_mf_fc_quant *quant, const tfc_mf_fc_dims *dims,
                                       const int8_t *h, const int8_t *u, const int8_t *v)
{
    tfc_structured_matrix m = {TFC_MATRIX_LMF, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                               NULL, NULL, NULL, {0, 0}};
    m.kind = kind;
    m.rows = dims->input_depth;
    m.cols = dims->output_depth;
    m.rank = dims->rank;
    m.h = h;
    m.u = u;
    m.v = v;
    m.stage1 = &quant->stage1;
    m.part1 = kind == TFC_MATRIX_HMF ? quant->head : quant->low_rank;
    m.part2 = kind == TFC_MATRIX_HMF ? quant->low_rank : NULL;
    return m;
}

int32_t tfc_lmf_fully_connected_s8_get_buffer_size(const tfc_mf_fc_dims *dims)
{
    return dims != NULL && dims->rank > 0 ? dims->rank * (int32_t)sizeof(int16_t) : 0;
}

tfc_status tfc_lmf_fully_connected_s8(const tfc_fc_params *params, const tfc_mf_fc_quant *quant,
                                      const tfc_mf_fc_dims *dims, const int8_t *input, const int8_t *u,
                                      const int8_t *v, const int32_t *bias, int16_t *scratch, int8_t *output)
{
    if (quant == NULL || dims == NULL || scratch == NULL) {
        return TFC_ARG_ERROR;
    }
    const tfc_structured_matrix m = mf_matrix(TFC_MATRIX_LMF, quant, dims, NULL, u, v);
    return structured_fully_connected(params, &m, dims->batches, input, bias, NULL, scratch, output);
}

int32_t tfc_hmf_fully_connected_s8_get_buffer_size(const tfc_mf_fc_dims *dims)
{
    return tfc_lmf_fully_connected_s8_get_buffer_size(dims);
}

tfc_status tfc_hmf_fully_connected_s8(const tfc_fc_params *params, const tfc_mf_fc_quant *quant,
                                      const tfc_mf_fc_dims *dims, const int8_t *input, const int8_t *h,
                                      const int8_t *u, const int8_t *v, const int32_t *bias, int16_t *scratch,
                                      int8_t *output)
{
    if (quant == NULL || dims == NULL || scratch == NULL) {
        return TFC_ARG_ERROR;
    }
    const tfc_structured_matrix m = mf_matrix(TFC_MATRIX_HMF, quant, dims, h, u, v);
    return structured_fully_connected(params, &m, dims->batches, input, bias, NULL, scratch, output);
}

/* ---- KP and DKP: t = sat16(requant(X b^T)) per row i of X, then a t (+ (x + offset) s) */

static tfc_structured_matrix kp_matrix(tfc_matrix_kind kind, const tfc_kp_fc_quant *quant, const tfc_kp_fc_dims *dims,
                                       const int8_t *a, const int8_t *b, const tfc_sparse_matrix *s)
{
    tfc_structured_matrix m = {TFC_MATRIX_KP, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                               NULL, NULL, NULL, {0, 0}};
    m.kind = kind;
    m.rows = dims->input_depth;
    m.cols = dims->output_depth;
    m.a_out = dims->a_out;
    m.a_in = dims->a_in;
    m.b_out = dims->b_out;
    m.b_in = dims->b_in;
    m.a = a;
    m.b = b;
    m.s = s;
    m.stage1 = quant->stage1;
    m.part1 = quant->kron;
    m.sparse = quant->sparse;
    return m;
}

static int32_t kp_intermediate_bytes(const tfc_kp_fc_dims *dims)
{
    return dims->a_in * dims->b_out * (int32_t)sizeof(int16_t);
}

int32_t tfc_kp_fully_connected_s8_get_buffer_size(const tfc_kp_fc_dims *dims)
{
    return dims != NULL && dims->a_in > 0 && dims->b_out > 0 ? kp_intermediate_bytes(dims) : 0;
}

tfc_status tfc_kp_fully_connected_s8(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                     const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                     const int8_t *b, const int32_t *bias, int16_t *scratch, int8_t *output)
{
    if (quant == NULL || dims == NULL || scratch == NULL) {
        return TFC_ARG_ERROR;
    }
    const tfc_structured_matrix m = kp_matrix(TFC_MATRIX_KP, quant, dims, a, b, NULL);
    return structured_fully_connected(params, &m, dims->batches, input, bias, NULL, scratch, output);
}

int32_t tfc_dkp_fully_connected_s8_get_buffer_size(const tfc_kp_fc_dims *dims)
{
    return dims != NULL && dims->a_in > 0 && dims->b_out > 0 && dims->output_depth > 0
               ? dims->output_depth * (int32_t)sizeof(int32_t) + kp_intermediate_bytes(dims)
               : 0;
}

tfc_status tfc_dkp_fully_connected_s8(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                      const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                      const int8_t *b, const tfc_sparse_matrix *s, const int32_t *bias,
                                      void *scratch, int8_t *output)
{
    if (quant == NULL || dims == NULL || scratch == NULL || dims->output_depth < 1) {
        return TFC_ARG_ERROR;
    }
    const tfc_structured_matrix m = kp_matrix(TFC_MATRIX_DKP, quant, dims, a, b, s);
    uint32_t *sparse = (uint32_t *)scratch; /* output_depth int32, then the int16 intermediate */
    int16_t *t = (int16_t *)(void *)(sparse + dims->output_depth);
    return structured_fully_connected(params, &m, dims->batches, input, bias, sparse, t, output);
}
