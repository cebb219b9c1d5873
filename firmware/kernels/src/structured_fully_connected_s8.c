/* Fused structured FULLY_CONNECTED: TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED, the matrix never formed.
 * Sums are uint32 so that they wrap as TFLM's int32 sums; the parts are added in int64. */
#include <stddef.h>

#include "sparse_common.h"
#include "tfc_kernels.h"

static int16_t saturate_s16(int32_t x)
{
    return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
}

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

/* sum_i (x[i] + offset) w[i], wrapping. */
static uint32_t dot_s8(const int8_t *x, int32_t offset, const int8_t *w, int32_t n)
{
    uint32_t acc = 0u;
    for (int32_t i = 0; i < n; ++i) {
        acc += (uint32_t)(((int32_t)x[i] + offset) * (int32_t)w[i]);
    }
    return acc;
}

/* sum_k t[k] w[k], wrapping. */
static uint32_t dot_s16_s8(const int16_t *t, const int8_t *w, int32_t n)
{
    uint32_t acc = 0u;
    for (int32_t k = 0; k < n; ++k) {
        acc += (uint32_t)((int32_t)t[k] * (int32_t)w[k]);
    }
    return acc;
}

/* ---- LMF and HMF: t = sat16(requant((x + offset) u^T)), then t v^T */

static int mf_valid(const tfc_fc_params *params, const tfc_mf_fc_quant *quant, const tfc_mf_fc_dims *dims,
                    const int8_t *input, const int8_t *u, const int8_t *v, const int16_t *scratch,
                    const int8_t *output)
{
    return params_valid(params) && quant != NULL && quant->low_rank != NULL && dims != NULL && input != NULL &&
           u != NULL && v != NULL && scratch != NULL && output != NULL && dims->batches >= 1 &&
           dims->input_depth >= 1 && dims->output_depth >= 1 && dims->rank >= 1;
}

/* t[k] = sat16(requant(sum_i (x[i] + offset) u[k][i])) over the rank rows of u, each `depth` long. */
static void low_rank_stage1(const int8_t *x, int32_t offset, int32_t depth, const int8_t *u, int32_t rank,
                            tfc_quant_multiplier m, int16_t *t)
{
    for (int32_t k = 0; k < rank; ++k) {
        t[k] = saturate_s16(tfc_requantize((int32_t)dot_s8(x, offset, u + (size_t)k * (size_t)depth, depth), m));
    }
}

int32_t tfc_lmf_fully_connected_s8_get_buffer_size(const tfc_mf_fc_dims *dims)
{
    return dims != NULL && dims->rank > 0 ? dims->rank * (int32_t)sizeof(int16_t) : 0;
}

tfc_status tfc_lmf_fully_connected_s8(const tfc_fc_params *params, const tfc_mf_fc_quant *quant,
                                      const tfc_mf_fc_dims *dims, const int8_t *input, const int8_t *u,
                                      const int8_t *v, const int32_t *bias, int16_t *scratch, int8_t *output)
{
    if (!mf_valid(params, quant, dims, input, u, v, scratch, output)) {
        return TFC_ARG_ERROR;
    }
    const int32_t rank = dims->rank;
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)dims->input_depth;
        int8_t *out = output + (size_t)b * (size_t)dims->output_depth;
        low_rank_stage1(x, params->input_offset, dims->input_depth, u, rank, quant->stage1, scratch);
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            const uint32_t acc = (bias != NULL ? (uint32_t)bias[c] : 0u) +
                                 dot_s16_s8(scratch, v + (size_t)c * (size_t)rank, rank);
            out[c] = clamp_s8((int64_t)params->output_offset + tfc_requantize((int32_t)acc, quant->low_rank[c]),
                              params->activation);
        }
    }
    return TFC_OK;
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
    if (!mf_valid(params, quant, dims, input, u, v, scratch, output) || h == NULL || quant->head == NULL ||
        dims->rank >= dims->input_depth) {
        return TFC_ARG_ERROR;
    }
    const int32_t rank = dims->rank;
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)dims->input_depth;
        int8_t *out = output + (size_t)b * (size_t)dims->output_depth;
        low_rank_stage1(x + rank, params->input_offset, dims->input_depth - rank, u, rank, quant->stage1, scratch);
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            const uint32_t head = (bias != NULL ? (uint32_t)bias[c] : 0u) +
                                  dot_s8(x, params->input_offset, h + (size_t)c * (size_t)rank, rank);
            const uint32_t low_rank = dot_s16_s8(scratch, v + (size_t)c * (size_t)rank, rank);
            out[c] = clamp_s8((int64_t)params->output_offset + tfc_requantize((int32_t)head, quant->head[c]) +
                                  tfc_requantize((int32_t)low_rank, quant->low_rank[c]),
                              params->activation);
        }
    }
    return TFC_OK;
}

/* ---- KP and DKP: t = sat16(requant(X b^T)) per row i of X, then a t (+ (x + offset) s) */

static int32_t kp_intermediate_bytes(const tfc_kp_fc_dims *dims)
{
    return dims->a_in * dims->b_out * (int32_t)sizeof(int16_t);
}

static int kp_valid(const tfc_fc_params *params, const tfc_kp_fc_quant *quant, const tfc_kp_fc_dims *dims,
                    const int8_t *input, const int8_t *a, const int8_t *b, const void *scratch, const int8_t *output)
{
    return params_valid(params) && quant != NULL && quant->stage1 != NULL && quant->kron != NULL && dims != NULL &&
           input != NULL && a != NULL && b != NULL && scratch != NULL && output != NULL && dims->batches >= 1 &&
           dims->input_depth >= 1 && dims->output_depth >= 1 && dims->a_out >= 1 && dims->a_in >= 1 &&
           dims->b_out >= 1 && dims->b_in >= 1 && (int64_t)dims->a_in * dims->b_in >= dims->input_depth &&
           (int64_t)dims->a_out * dims->b_out >= dims->output_depth;
}

/* Both ops; `s` NULL for KP, else its sums go to `sparse` (output_depth). */
static tfc_status kp_fully_connected(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                     const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                     const int8_t *b, const tfc_sparse_matrix *s, const int32_t *bias,
                                     uint32_t *sparse, int16_t *t, int8_t *output)
{
    const int32_t a_in = dims->a_in, b_in = dims->b_in, b_out = dims->b_out;
    const int32_t rows_used = (dims->input_depth + b_in - 1) / b_in;      /* rows of X not all padding */
    const int32_t a_rows = (dims->output_depth + b_out - 1) / b_out;      /* rows of a not all dropped */
    for (int32_t n = 0; n < dims->batches; ++n) {
        const int8_t *x = input + (size_t)n * (size_t)dims->input_depth;
        int8_t *out = output + (size_t)n * (size_t)dims->output_depth;
        /* Stage 1 over the rows of X that hold inputs, each a contiguous slice of x; the padding
         * contributes 0 and requant(0) is 0, so t is only written and read for i < rows_used. */
        for (int32_t i = 0; i < rows_used; ++i) {
            const int8_t *xi = x + (size_t)i * (size_t)b_in;
            const int32_t width = dims->input_depth - i * b_in < b_in ? dims->input_depth - i * b_in : b_in;
            for (int32_t q = 0; q < b_out; ++q) {
                const uint32_t acc = dot_s8(xi, params->input_offset, b + (size_t)q * (size_t)b_in, width);
                t[(size_t)q * (size_t)a_in + (size_t)i] = saturate_s16(tfc_requantize((int32_t)acc,
                                                                                       quant->stage1[q]));
            }
        }
        if (s != NULL) {
            for (int32_t c = 0; c < dims->output_depth; ++c) {
                sparse[c] = 0u;
            }
            for (int32_t r = 0; r < dims->input_depth; ++r) {
                if (!tfc_sparse_accumulate_row(s, r, (int32_t)x[r] + params->input_offset, sparse)) {
                    return TFC_ARG_ERROR;
                }
            }
        }
        for (int32_t p = 0; p < a_rows; ++p) {
            const int8_t *ap = a + (size_t)p * (size_t)a_in;
            const int32_t first = p * b_out;
            const int32_t last = first + b_out < dims->output_depth ? first + b_out : dims->output_depth;
            for (int32_t c = first; c < last; ++c) {
                const uint32_t acc = (bias != NULL ? (uint32_t)bias[c] : 0u) +
                                     dot_s16_s8(t + (size_t)(c - first) * (size_t)a_in, ap, rows_used);
                int64_t total = (int64_t)params->output_offset + tfc_requantize((int32_t)acc, quant->kron[c]);
                if (s != NULL) {
                    total += tfc_requantize((int32_t)sparse[c], quant->sparse);
                }
                out[c] = clamp_s8(total, params->activation);
            }
        }
    }
    return TFC_OK;
}

int32_t tfc_kp_fully_connected_s8_get_buffer_size(const tfc_kp_fc_dims *dims)
{
    return dims != NULL && dims->a_in > 0 && dims->b_out > 0 ? kp_intermediate_bytes(dims) : 0;
}

tfc_status tfc_kp_fully_connected_s8(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                     const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                     const int8_t *b, const int32_t *bias, int16_t *scratch, int8_t *output)
{
    if (!kp_valid(params, quant, dims, input, a, b, scratch, output)) {
        return TFC_ARG_ERROR;
    }
    return kp_fully_connected(params, quant, dims, input, a, b, NULL, bias, NULL, scratch, output);
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
    if (!kp_valid(params, quant, dims, input, a, b, scratch, output) || !tfc_sparse_valid(s) ||
        s->rows != dims->input_depth || s->cols != dims->output_depth || s->background != 0) {
        return TFC_ARG_ERROR;
    }
    uint32_t *sparse = (uint32_t *)scratch; /* output_depth int32, then the int16 intermediate */
    int16_t *t = (int16_t *)(void *)(sparse + dims->output_depth);
    return kp_fully_connected(params, quant, dims, input, a, b, s, bias, sparse, t, output);
}
