/* Copies that move elements without changing them: strided copy, fill and row gather. */
#include <stddef.h>
#include <string.h>

#include "tfc_kernels.h"

tfc_status tfc_strided_copy(const tfc_copy_plan *plan, const void *input, void *output)
{
    if (plan == NULL || input == NULL || output == NULL || plan->element_size < 1 || plan->in_offset < 0 ||
        plan->out_offset < 0) {
        return TFC_ARG_ERROR;
    }
    for (int d = 0; d < TFC_COPY_DIMS; ++d) {
        if (plan->shape[d] < 1 || plan->in_strides[d] < 0 || plan->out_strides[d] < 0) {
            return TFC_ARG_ERROR;
        }
    }
    const unsigned char *in = input;
    unsigned char *out = output;
    const size_t size = (size_t)plan->element_size;
    const int32_t *n = plan->shape, *si = plan->in_strides, *so = plan->out_strides;
    for (int32_t a = 0; a < n[0]; ++a) {
        for (int32_t b = 0; b < n[1]; ++b) {
            for (int32_t c = 0; c < n[2]; ++c) {
                for (int32_t d = 0; d < n[3]; ++d) {
                    for (int32_t e = 0; e < n[4]; ++e) {
                        const size_t i = (size_t)plan->in_offset + (size_t)a * (size_t)si[0] + (size_t)b * (size_t)si[1] +
                                         (size_t)c * (size_t)si[2] + (size_t)d * (size_t)si[3] + (size_t)e * (size_t)si[4];
                        const size_t o = (size_t)plan->out_offset + (size_t)a * (size_t)so[0] + (size_t)b * (size_t)so[1] +
                                         (size_t)c * (size_t)so[2] + (size_t)d * (size_t)so[3] + (size_t)e * (size_t)so[4];
                        memcpy(out + o * size, in + i * size, size);
                    }
                }
            }
        }
    }
    return TFC_OK;
}

tfc_status tfc_fill(int32_t count, int32_t element_size, const void *value, void *output)
{
    if (value == NULL || output == NULL || count < 0 || element_size < 1) {
        return TFC_ARG_ERROR;
    }
    unsigned char *out = output;
    for (int32_t i = 0; i < count; ++i) {
        memcpy(out + (size_t)i * (size_t)element_size, value, (size_t)element_size);
    }
    return TFC_OK;
}

tfc_status tfc_gather_rows(const void *table, int32_t rows, int32_t row_bytes, const int32_t *indices,
                           int32_t count, void *output)
{
    if (table == NULL || indices == NULL || output == NULL || rows < 1 || row_bytes < 1 || count < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t i = 0; i < count; ++i) {
        if (indices[i] < 0 || indices[i] >= rows) {
            return TFC_ARG_ERROR;
        }
    }
    const unsigned char *in = table;
    unsigned char *out = output;
    for (int32_t i = 0; i < count; ++i) {
        memcpy(out + (size_t)i * (size_t)row_bytes, in + (size_t)indices[i] * (size_t)row_bytes, (size_t)row_bytes);
    }
    return TFC_OK;
}
