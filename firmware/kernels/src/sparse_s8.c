/* Sparse int8 matrices: TFC_SPARSE_GATHER and TFC_SPARSE_FULLY_CONNECTED over COO or CSR. */
#include <stddef.h>
#include <string.h>

#include "tfc_kernels.h"

static uint32_t read_index(const uint8_t *p, int32_t width, int32_t k)
{
    const uint8_t *q = p + (size_t)k * (size_t)width;
    uint32_t v = q[0];
    if (width >= 2) {
        v |= (uint32_t)q[1] << 8;
    }
    if (width == 4) {
        v |= (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    return v;
}

static int valid(const tfc_sparse_matrix *m)
{
    return m != NULL && m->data != NULL && m->rows > 0 && m->cols > 0 && m->nnz >= 0 &&
           (m->format == TFC_SPARSE_COO || m->format == TFC_SPARSE_CSR) &&
           (m->row_bytes == 1 || m->row_bytes == 2 || m->row_bytes == 4) &&
           (m->col_bytes == 1 || m->col_bytes == 2 || m->col_bytes == 4) && m->background >= INT8_MIN &&
           m->background <= INT8_MAX;
}

/* The arrays of the encoding. */
static const uint8_t *first_array(const tfc_sparse_matrix *m) { return m->data; }
static const uint8_t *col_array(const tfc_sparse_matrix *m)
{
    const int32_t first = m->format == TFC_SPARSE_COO ? m->nnz : m->rows + 1;
    return m->data + (size_t)first * (size_t)m->row_bytes;
}
static const int8_t *value_array(const tfc_sparse_matrix *m)
{
    return (const int8_t *)(col_array(m) + (size_t)m->nnz * (size_t)m->col_bytes);
}

/* [begin, end) of row r's entries; 0 when damaged row pointers would leave [0, nnz]. */
static int row_range(const tfc_sparse_matrix *m, int32_t r, int32_t *begin, int32_t *end)
{
    if (m->format == TFC_SPARSE_CSR) {
        const uint32_t b = read_index(first_array(m), m->row_bytes, r);
        const uint32_t e = read_index(first_array(m), m->row_bytes, r + 1);
        if (b > e || e > (uint32_t)m->nnz) {
            return 0;
        }
        *begin = (int32_t)b;
        *end = (int32_t)e;
        return 1;
    }
    const uint32_t row = (uint32_t)r;
    int32_t lo = 0, hi = m->nnz; /* lower bound of r in the rows, sorted as the encoding promises */
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (read_index(first_array(m), m->row_bytes, mid) < row) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *begin = lo;
    while (lo < m->nnz && read_index(first_array(m), m->row_bytes, lo) == row) {
        ++lo;
    }
    *end = lo;
    return 1;
}

tfc_status tfc_sparse_gather_s8(const tfc_sparse_matrix *matrix, const int32_t *ids, int32_t count, int8_t *output)
{
    if (!valid(matrix) || ids == NULL || output == NULL || count < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t t = 0; t < count; ++t) {
        if (ids[t] < 0 || ids[t] >= matrix->rows) {
            return TFC_ARG_ERROR;
        }
    }
    const uint8_t *cols = col_array(matrix);
    const int8_t *values = value_array(matrix);
    for (int32_t t = 0; t < count; ++t) {
        int8_t *row = output + (size_t)t * (size_t)matrix->cols;
        memset(row, (unsigned char)(int8_t)matrix->background, (size_t)matrix->cols);
        int32_t begin, end;
        if (!row_range(matrix, ids[t], &begin, &end)) {
            return TFC_ARG_ERROR;
        }
        for (int32_t k = begin; k < end; ++k) {
            const uint32_t c = read_index(cols, matrix->col_bytes, k);
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
    if (params == NULL || per_channel == NULL || dims == NULL || input == NULL || !valid(weights) ||
        scratch == NULL || output == NULL || dims->batches < 1 || dims->input_depth != weights->rows ||
        dims->output_depth != weights->cols || weights->background != 0 ||
        params->activation.min > params->activation.max) {
        return TFC_ARG_ERROR;
    }
    const uint8_t *cols = col_array(weights);
    const int8_t *values = value_array(weights);
    uint32_t *acc = (uint32_t *)scratch; /* wraps as TFLM's int32 sum */
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)dims->input_depth;
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            acc[c] = bias != NULL ? (uint32_t)bias[c] : 0u;
        }
        for (int32_t r = 0; r < weights->rows; ++r) {
            int32_t begin, end;
            if (!row_range(weights, r, &begin, &end)) {
                return TFC_ARG_ERROR;
            }
            const int32_t xr = (int32_t)x[r] + params->input_offset;
            for (int32_t k = begin; k < end; ++k) {
                const uint32_t c = read_index(cols, weights->col_bytes, k);
                if (c >= (uint32_t)weights->cols) {
                    return TFC_ARG_ERROR;
                }
                acc[c] += (uint32_t)(xr * (int32_t)values[k]);
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
