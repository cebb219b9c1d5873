/* TFC_EMBEDDING_BAG: the mean of a window's int8 embedding rows, padding skipped, table never expanded. */
#include <stddef.h>

#include "tfc_kernels.h"

int32_t tfc_embedding_bag_s8_get_buffer_size(const tfc_embedding_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 ? dims->depth * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_embedding_bag_s8(const tfc_embedding_bag_params *params, const tfc_embedding_bag_dims *dims,
                                const int32_t *ids, const int8_t *table, int32_t *scratch, int8_t *output)
{
    if (params == NULL || dims == NULL || ids == NULL || table == NULL || scratch == NULL || output == NULL ||
        dims->vocab < 1 || dims->depth < 1 || dims->tokens < 1) {
        return TFC_ARG_ERROR;
    }
    for (int32_t t = 0; t < dims->tokens; ++t) {
        if (ids[t] < 0 || ids[t] >= dims->vocab) {
            return TFC_ARG_ERROR;
        }
    }
    uint32_t *sum = (uint32_t *)scratch; /* wraps as TFLM's int32 sum */
    for (int32_t d = 0; d < dims->depth; ++d) {
        sum[d] = 0u;
    }
    for (int32_t t = 0; t < dims->tokens; ++t) {
        if (ids[t] == params->pad_id) {
            continue;
        }
        const int8_t *row = table + (size_t)ids[t] * (size_t)dims->depth;
        for (int32_t d = 0; d < dims->depth; ++d) {
            sum[d] += (uint32_t)((int32_t)row[d] - params->table_zero_point);
        }
    }
    for (int32_t d = 0; d < dims->depth; ++d) {
        int32_t out = tfc_requantize((int32_t)sum[d], params->multiplier) + params->output_zero_point;
        out = out < INT8_MIN ? INT8_MIN : out > INT8_MAX ? INT8_MAX : out;
        output[d] = (int8_t)out;
    }
    return TFC_OK;
}
