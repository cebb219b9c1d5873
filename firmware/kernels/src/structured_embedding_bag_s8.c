/* Fused structured embedding bags: TFC_{LMF,HMF,KP,DKP,SPARSE}_EMBEDDING_BAG, the table never formed.
 * Every id is checked before any row is read; sums are uint32 so that they wrap as TFLM's int32
 * sums; the parts are added in int64. With TFC_USE_DSP the requantisation is dsp_common.h's, inlined. */
#include <stddef.h>

#include "dsp_common.h"
#include "sparse_common.h"
#include "tfc_kernels.h"

static int8_t clamp_s8(int64_t x)
{
    return (int8_t)(x < INT8_MIN ? INT8_MIN : x > INT8_MAX ? INT8_MAX : x);
}

/* Pointers, dimensions, and every id inside [0, vocab). */
static int bag_valid(const tfc_structured_bag_params *params, const void *quant, int32_t vocab, int32_t depth,
                     int32_t tokens, const int32_t *ids, const void *scratch, const int8_t *output)
{
    if (params == NULL || quant == NULL || ids == NULL || scratch == NULL || output == NULL || vocab < 1 ||
        depth < 1 || tokens < 1) {
        return 0;
    }
    for (int32_t t = 0; t < tokens; ++t) {
        if (ids[t] < 0 || ids[t] >= vocab) {
            return 0;
        }
    }
    return 1;
}

static void zero(uint32_t *sum, int32_t n)
{
    for (int32_t i = 0; i < n; ++i) {
        sum[i] = 0u;
    }
}

/* sum[k] += row[k] */
static void add_row(uint32_t *sum, const int8_t *row, int32_t n)
{
    for (int32_t k = 0; k < n; ++k) {
        sum[k] += (uint32_t)(int32_t)row[k];
    }
}

/* sum_k sum[k] w[k], wrapping (the sums of u's rows times a row of v). */
static uint32_t dot_u32_s8(const uint32_t *sum, const int8_t *w, int32_t n)
{
    uint32_t acc = 0u;
    for (int32_t k = 0; k < n; ++k) {
        acc += sum[k] * (uint32_t)(int32_t)w[k];
    }
    return acc;
}

/* ---- LMF and HMF: the rows of u summed first (rank values), then times v once */

static int mf_valid(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                    const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *u, const int8_t *v,
                    const int32_t *scratch, const int8_t *output)
{
    return dims != NULL && bag_valid(params, quant, dims->vocab, dims->depth, dims->tokens, ids, scratch, output) &&
           quant->low_rank != NULL && u != NULL && v != NULL && dims->rank >= 1;
}

int32_t tfc_lmf_embedding_bag_s8_get_buffer_size(const tfc_mf_bag_dims *dims)
{
    return dims != NULL && dims->rank > 0 ? dims->rank * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_lmf_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                                    const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *u,
                                    const int8_t *v, int32_t *scratch, int8_t *output)
{
    if (!mf_valid(params, quant, dims, ids, u, v, scratch, output)) {
        return TFC_ARG_ERROR;
    }
    const int32_t rank = dims->rank;
    uint32_t *u_sum = (uint32_t *)scratch;
    zero(u_sum, rank);
    for (int32_t t = 0; t < dims->tokens; ++t) {
        if (ids[t] != params->pad_id) {
            add_row(u_sum, u + (size_t)ids[t] * (size_t)rank, rank);
        }
    }
    for (int32_t d = 0; d < dims->depth; ++d) {
        const uint32_t acc = dot_u32_s8(u_sum, v + (size_t)d * (size_t)rank, rank);
        output[d] = clamp_s8((int64_t)params->output_zero_point +
                             tfc_requantize_fast((int32_t)acc, quant->low_rank[d]));
    }
    return TFC_OK;
}

int32_t tfc_hmf_embedding_bag_s8_get_buffer_size(const tfc_mf_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 && dims->rank > 0
               ? (dims->depth + dims->rank) * (int32_t)sizeof(int32_t)
               : 0;
}

tfc_status tfc_hmf_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                                    const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *h,
                                    const int8_t *u, const int8_t *v, int32_t *scratch, int8_t *output)
{
    if (!mf_valid(params, quant, dims, ids, u, v, scratch, output) || h == NULL || quant->head == NULL ||
        dims->rank >= dims->vocab) {
        return TFC_ARG_ERROR;
    }
    const int32_t rank = dims->rank, depth = dims->depth;
    uint32_t *head = (uint32_t *)scratch; /* depth: the head rows' sums */
    uint32_t *u_sum = head + depth;       /* rank: the low-rank rows' sums of u */
    zero(head, depth);
    zero(u_sum, rank);
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const int32_t id = ids[t];
        if (id == params->pad_id) {
            continue;
        }
        if (id < rank) {
            add_row(head, h + (size_t)id * (size_t)depth, depth);
        } else {
            add_row(u_sum, u + (size_t)(id - rank) * (size_t)rank, rank);
        }
    }
    for (int32_t d = 0; d < depth; ++d) {
        const uint32_t low_rank = dot_u32_s8(u_sum, v + (size_t)d * (size_t)rank, rank);
        output[d] = clamp_s8((int64_t)params->output_zero_point +
                             tfc_requantize_fast((int32_t)head[d], quant->head[d]) +
                             tfc_requantize_fast((int32_t)low_rank, quant->low_rank[d]));
    }
    return TFC_OK;
}

/* ---- KP and DKP: row n is a[n / b_in] kron b[n % b_in], summed entry by entry */

static int kp_valid(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                    const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                    const int32_t *scratch, const int8_t *output)
{
    return dims != NULL && bag_valid(params, quant, dims->vocab, dims->depth, dims->tokens, ids, scratch, output) &&
           quant->kron != NULL && a != NULL && b != NULL && dims->a_in >= 1 && dims->a_out >= 1 && dims->b_in >= 1 &&
           dims->b_out >= 1 && (int64_t)dims->a_in * dims->b_in >= dims->vocab &&
           (int64_t)dims->a_out * dims->b_out >= dims->depth;
}

/* Both ops; `s` NULL for KP, else its rows are summed into `sparse` (depth). */
static tfc_status kp_embedding_bag(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                                   const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                                   const tfc_sparse_matrix *s, uint32_t *kron, uint32_t *sparse, int8_t *output)
{
    const int32_t depth = dims->depth, b_out = dims->b_out;
    const int32_t a_cols = (depth + b_out - 1) / b_out; /* entries of a's rows not all dropped */
    zero(kron, depth);
    if (s != NULL) {
        zero(sparse, depth);
    }
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const int32_t id = ids[t];
        if (id == params->pad_id) {
            continue;
        }
        const int8_t *ar = a + (size_t)(id / dims->b_in) * (size_t)dims->a_out;
        const int8_t *br = b + (size_t)(id % dims->b_in) * (size_t)b_out;
        for (int32_t p = 0; p < a_cols; ++p) {
            const int32_t first = p * b_out;
            const int32_t width = depth - first < b_out ? depth - first : b_out;
            for (int32_t q = 0; q < width; ++q) {
                kron[first + q] += (uint32_t)((int32_t)ar[p] * (int32_t)br[q]);
            }
        }
        if (s != NULL && !tfc_sparse_accumulate_row(s, id, 1, sparse)) {
            return TFC_ARG_ERROR;
        }
    }
    for (int32_t d = 0; d < depth; ++d) {
        int64_t total = (int64_t)params->output_zero_point + tfc_requantize_fast((int32_t)kron[d], quant->kron[d]);
        if (s != NULL) {
            total += tfc_requantize_fast((int32_t)sparse[d], quant->sparse);
        }
        output[d] = clamp_s8(total);
    }
    return TFC_OK;
}

int32_t tfc_kp_embedding_bag_s8_get_buffer_size(const tfc_kp_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 ? dims->depth * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_kp_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                                   const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a,
                                   const int8_t *b, int32_t *scratch, int8_t *output)
{
    if (!kp_valid(params, quant, dims, ids, a, b, scratch, output)) {
        return TFC_ARG_ERROR;
    }
    return kp_embedding_bag(params, quant, dims, ids, a, b, NULL, (uint32_t *)scratch, NULL, output);
}

int32_t tfc_dkp_embedding_bag_s8_get_buffer_size(const tfc_kp_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 ? 2 * dims->depth * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_dkp_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                                    const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a,
                                    const int8_t *b, const tfc_sparse_matrix *s, int32_t *scratch,
                                    int8_t *output)
{
    if (!kp_valid(params, quant, dims, ids, a, b, scratch, output) || !tfc_sparse_valid(s) ||
        s->rows != dims->vocab || s->cols != dims->depth || s->background != 0) {
        return TFC_ARG_ERROR;
    }
    uint32_t *kron = (uint32_t *)scratch;
    return kp_embedding_bag(params, quant, dims, ids, a, b, s, kron, kron + dims->depth, output);
}

/* ---- SPARSE: the table's stored entries of each id's row */

int32_t tfc_sparse_embedding_bag_s8_get_buffer_size(const tfc_embedding_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 ? dims->depth * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_sparse_embedding_bag_s8(const tfc_structured_bag_params *params, tfc_quant_multiplier multiplier,
                                       const tfc_embedding_bag_dims *dims, const int32_t *ids,
                                       const tfc_sparse_matrix *table, int32_t *scratch, int8_t *output)
{
    if (dims == NULL || !bag_valid(params, &multiplier, dims->vocab, dims->depth, dims->tokens, ids, scratch, output) ||
        !tfc_sparse_valid(table) || table->rows != dims->vocab || table->cols != dims->depth ||
        table->background != 0) {
        return TFC_ARG_ERROR;
    }
    uint32_t *sum = (uint32_t *)scratch;
    zero(sum, dims->depth);
    for (int32_t t = 0; t < dims->tokens; ++t) {
        if (ids[t] != params->pad_id && !tfc_sparse_accumulate_row(table, ids[t], 1, sum)) {
            return TFC_ARG_ERROR;
        }
    }
    for (int32_t d = 0; d < dims->depth; ++d) {
        output[d] = clamp_s8((int64_t)params->output_zero_point + tfc_requantize_fast((int32_t)sum[d], multiplier));
    }
    return TFC_OK;
}
