/* TFC_EMBEDDING_BAG: the mean of a window's int8 embedding rows, padding skipped, table never expanded.
 * The portable loop is the reference; with TFC_USE_DSP (dsp_common.h) four neighbouring entries of the
 * kept rows are summed at once in int16 lanes (SXTAB16), the zero point taken off once per kept token. */
#include <stddef.h>

#include "dsp_common.h"
#include "tfc_kernels.h"

int32_t tfc_embedding_bag_s8_get_buffer_size(const tfc_embedding_bag_dims *dims)
{
    return dims != NULL && dims->depth > 0 ? dims->depth * (int32_t)sizeof(int32_t) : 0;
}

#if TFC_DSP_PATH
/* Tokens summed in int16 lanes before they are widened: 256 * -128 = INT16_MIN, 256 * 127 < INT16_MAX. */
enum { BAG_LANE_TOKENS = 256 };

/* sum[j] = sum over the kept tokens of row[d + j], j < 4, four bytes per load (SXTAB16 into two int16
 * pairs); wrapping. */
static void sum_four(const tfc_embedding_bag_dims *dims, const int32_t *ids, int32_t pad_id, const int8_t *table,
                     int32_t d, uint32_t sum[4])
{
    const int8_t *column = table + d;
    sum[0] = sum[1] = sum[2] = sum[3] = 0u;
    for (int32_t first = 0; first < dims->tokens; first += BAG_LANE_TOKENS) {
        const int32_t end = dims->tokens - first < BAG_LANE_TOKENS ? dims->tokens : first + BAG_LANE_TOKENS;
        int16x2_t even = 0, odd = 0; /* (d, d + 2), (d + 1, d + 3) */
        for (int32_t t = first; t < end; ++t) {
            if (ids[t] != pad_id) {
                const uint32_t w = tfc_dsp_read_u32(column + (size_t)ids[t] * (size_t)dims->depth);
                even = __sxtab16(even, (int8x4_t)w);
                odd = tfc_dsp_sxtab16_ror8(odd, w);
            }
        }
        tfc_dsp_add_lanes(even, odd, sum);
    }
}

static int8_t bag_output(uint32_t sum, uint32_t zero_sum, const tfc_embedding_bag_params *params)
{
    return (int8_t)__ssat(tfc_dsp_requantize((int32_t)(sum - zero_sum), params->multiplier) +
                              params->output_zero_point, 8);
}
#endif

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
#if TFC_DSP_PATH
    uint32_t kept = 0u;
    for (int32_t t = 0; t < dims->tokens; ++t) {
        kept += ids[t] != params->pad_id ? 1u : 0u;
    }
    const uint32_t zero_sum = kept * (uint32_t)params->table_zero_point; /* sum_t (row - zp) = sum_t row - this */
    int32_t d = 0;
    for (; d + 4 <= dims->depth; d += 4) {
        uint32_t four[4];
        sum_four(dims, ids, params->pad_id, table, d, four);
        for (int32_t j = 0; j < 4; ++j) {
            output[d + j] = bag_output(four[j], zero_sum, params);
        }
    }
    for (; d < dims->depth; ++d) {
        uint32_t sum = 0u;
        for (int32_t t = 0; t < dims->tokens; ++t) {
            if (ids[t] != params->pad_id) {
                sum += (uint32_t)(int32_t)table[(size_t)ids[t] * (size_t)dims->depth + (size_t)d];
            }
        }
        output[d] = bag_output(sum, zero_sum, params);
    }
    return TFC_OK;
#else
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
#endif
}
