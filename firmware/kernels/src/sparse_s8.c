/* Sparse int8 matrices: TFC_SPARSE_GATHER and TFC_SPARSE_FULLY_CONNECTED over COO or CSR. */
#include <stddef.h>
#include <string.h>

#include "sparse_common.h"
#include "tfc_kernels.h"

tfc_status tfc_sparse_gather_s8(const tfc_sparse_matrix *matrix, const int32_t *ids, int32_t count, int8_t *output)
{
    if (!tfc_sparse_valid(matrix) || ids == NULL || output == NULL || count < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t t = 0; t < count; ++t) {
        if (ids[t] < 0 || ids[t] >= matrix->rows) {
            return TFC_ARG_ERROR;
        }
    }
    const uint8_t *cols = tfc_sparse_col_array(matrix);
    const int8_t *values = tfc_sparse_value_array(matrix);
    for (int32_t t = 0; t < count; ++t) {
        int8_t *row = output + (size_t)t * (size_t)matrix->cols;
        memset(row, (unsigned char)(int8_t)matrix->background, (size_t)matrix->cols);
        int32_t begin, end;
        if (!tfc_sparse_row_range(matrix, ids[t], &begin, &end)) {
            return TFC_ARG_ERROR;
        }
        for (int32_t k = begin; k < end; ++k) {
            const uint32_t c = tfc_sparse_read_index(cols, matrix->col_bytes, k);
            if (c >= (uint32_t)matrix->cols) {
                return TFC_ARG_ERROR;
            }
            row[c] = values[k];
        }
    }
    return TFC_OK;
}

int32_t tfc_sparse_fully_connected_s8_get_buffer_size(const tfc_fc_dims *dims)
{
    return dims != NULL && dims->output_depth > 0 ? dims->output_depth * (int32_t)sizeof(int32_t) : 0;
}

tfc_status tfc_sparse_fully_connected_s8(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                         const tfc_fc_dims *dims, const int8_t *input,
                                         const tfc_sparse_matrix *weights, const int32_t *bias, int32_t *scratch,
                                         int8_t *output)
{
    if (params == NULL || per_channel == NULL || dims == NULL || input == NULL || !tfc_sparse_valid(weights) ||
        scratch == NULL || output == NULL || dims->batches < 1 || dims->input_depth != weights->rows ||
        dims->output_depth != weights->cols || weights->background != 0 ||
        params->activation.min > params->activation.max) {
        return TFC_ARG_ERROR;
    }
    uint32_t *acc = (uint32_t *)scratch; /* wraps as TFLM's int32 sum */
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)dims->input_depth;
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            acc[c] = bias != NULL ? (uint32_t)bias[c] : 0u;
        }
        for (int32_t r = 0; r < weights->rows; ++r) {
            if (!tfc_sparse_accumulate_row(weights, r, (int32_t)x[r] + params->input_offset, acc)) {
                return TFC_ARG_ERROR;
            }
        }
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            int32_t out = tfc_requantize((int32_t)acc[c], per_channel[c]) + params->output_offset;
            out = out < params->activation.min ? params->activation.min : out;
            out = out > params->activation.max ? params->activation.max : out;
            output[(size_t)b * (size_t)dims->output_depth + (size_t)c] = (int8_t)out;
        }
    }
    return TFC_OK;
}
