/* TFC_{LMF,HMF,KP,DKP}_GATHER: each token's row of a structured table, int8 [tokens][depth]. Row t is
 * the embedding bag of the same kind over the one token ids[t] (structured_embedding_bag_s8.c), so
 * the factors are read exactly as the bags read them. Every id is checked before a row is written. */
#include <stddef.h>

#include "structured_common.h"
#include "tfc_kernels.h"

/* Pointers, the window, and every id inside [0, vocab) (the bags check the rest, token by token). */
static int ids_valid(const int32_t *ids, int32_t tokens, int32_t vocab, const int8_t *output)
{
    if (ids == NULL || output == NULL || tokens < 1) {
        return 0;
    }
    for (int32_t t = 0; t < tokens; ++t) {
        if (ids[t] < 0 || ids[t] >= vocab) {
            return 0;
        }
    }
    return 1;
}

static int mf_valid(const tfc_mf_bag_quant *quant, const tfc_mf_bag_dims *dims, const int32_t *ids,
                    const int8_t *output, int head)
{
    return quant != NULL && dims != NULL && dims->depth >= 1 && ids_valid(ids, dims->tokens, dims->vocab, output) &&
           tfc_multipliers_valid(quant->low_rank, dims->depth) &&
           (!head || tfc_multipliers_valid(quant->head, dims->depth));
}

static int kp_valid(const tfc_kp_bag_quant *quant, const tfc_kp_bag_dims *dims, const int32_t *ids,
                    const int8_t *output, int sparse)
{
    return quant != NULL && dims != NULL && dims->depth >= 1 && ids_valid(ids, dims->tokens, dims->vocab, output) &&
           tfc_multipliers_valid(quant->kron, dims->depth) && (!sparse || tfc_multipliers_valid(&quant->sparse, 1));
}

int32_t tfc_lmf_gather_s8_get_buffer_size(const tfc_mf_bag_dims *dims)
{
    return tfc_lmf_embedding_bag_s8_get_buffer_size(dims);
}

tfc_status tfc_lmf_gather_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                             const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *u, const int8_t *v,
                             int32_t *scratch, int8_t *output)
{
    if (!mf_valid(quant, dims, ids, output, 0)) {
        return TFC_ARG_ERROR;
    }
    tfc_mf_bag_dims one = *dims;
    one.tokens = 1;
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const tfc_status status = tfc_lmf_embedding_bag_s8(params, quant, &one, ids + t, u, v, scratch,
                                                           output + (size_t)t * (size_t)dims->depth);
        if (status != TFC_OK) {
            return status;
        }
    }
    return TFC_OK;
}

int32_t tfc_hmf_gather_s8_get_buffer_size(const tfc_mf_bag_dims *dims)
{
    return tfc_hmf_embedding_bag_s8_get_buffer_size(dims);
}

tfc_status tfc_hmf_gather_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                             const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *h, const int8_t *u,
                             const int8_t *v, int32_t *scratch, int8_t *output)
{
    if (!mf_valid(quant, dims, ids, output, 1)) {
        return TFC_ARG_ERROR;
    }
    tfc_mf_bag_dims one = *dims;
    one.tokens = 1;
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const tfc_status status = tfc_hmf_embedding_bag_s8(params, quant, &one, ids + t, h, u, v, scratch,
                                                           output + (size_t)t * (size_t)dims->depth);
        if (status != TFC_OK) {
            return status;
        }
    }
    return TFC_OK;
}

int32_t tfc_kp_gather_s8_get_buffer_size(const tfc_kp_bag_dims *dims)
{
    return tfc_kp_embedding_bag_s8_get_buffer_size(dims);
}

tfc_status tfc_kp_gather_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                            const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                            int32_t *scratch, int8_t *output)
{
    if (!kp_valid(quant, dims, ids, output, 0)) {
        return TFC_ARG_ERROR;
    }
    tfc_kp_bag_dims one = *dims;
    one.tokens = 1;
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const tfc_status status = tfc_kp_embedding_bag_s8(params, quant, &one, ids + t, a, b, scratch,
                                                          output + (size_t)t * (size_t)dims->depth);
        if (status != TFC_OK) {
            return status;
        }
    }
    return TFC_OK;
}

int32_t tfc_dkp_gather_s8_get_buffer_size(const tfc_kp_bag_dims *dims)
{
    return tfc_dkp_embedding_bag_s8_get_buffer_size(dims);
}

tfc_status tfc_dkp_gather_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                             const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                             const tfc_sparse_matrix *s, int32_t *scratch, int8_t *output)
{
    if (!kp_valid(quant, dims, ids, output, 1)) {
        return TFC_ARG_ERROR;
    }
    tfc_kp_bag_dims one = *dims;
    one.tokens = 1;
    for (int32_t t = 0; t < dims->tokens; ++t) {
        const tfc_status status = tfc_dkp_embedding_bag_s8(params, quant, &one, ids + t, a, b, s, scratch,
                                                           output + (size_t)t * (size_t)dims->depth);
        if (status != TFC_OK) {
            return status;
        }
    }
    return TFC_OK;
}
