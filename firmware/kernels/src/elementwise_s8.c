/* ADD, SUB and MUL of int8 tensors with 4-D broadcasting (a stride of 0 repeats an input). */
#include <stddef.h>

#include "broadcast_common.h"
#include "tfc_kernels.h"

typedef int32_t (*combine_fn)(const tfc_elementwise_params *params, int32_t a, int32_t b);

static int32_t add_values(const tfc_elementwise_params *p, int32_t a, int32_t b)
{
    const int32_t scaled_a = tfc_requantize((a + p->offset_a) * ((int32_t)1 << p->left_shift), p->input_a);
    const int32_t scaled_b = tfc_requantize((b + p->offset_b) * ((int32_t)1 << p->left_shift), p->input_b);
    return tfc_requantize(scaled_a + scaled_b, p->output);
}

static int32_t sub_values(const tfc_elementwise_params *p, int32_t a, int32_t b)
{
    const int32_t scaled_a = tfc_requantize((a + p->offset_a) * ((int32_t)1 << p->left_shift), p->input_a);
    const int32_t scaled_b = tfc_requantize((b + p->offset_b) * ((int32_t)1 << p->left_shift), p->input_b);
    return tfc_requantize(scaled_a - scaled_b, p->output);
}

static int32_t mul_values(const tfc_elementwise_params *p, int32_t a, int32_t b)
{
    return tfc_requantize((a + p->offset_a) * (b + p->offset_b), p->output);
}

static tfc_status broadcast(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                            const int8_t *b, int8_t *output, combine_fn combine)
{
    if (params == NULL || dims == NULL || a == NULL || b == NULL || output == NULL ||
        params->activation.min > params->activation.max || params->left_shift < 0 || params->left_shift > 20) {
        return TFC_ARG_ERROR;
    }
    if (!tfc_broadcast_dims_valid(dims)) {
        return TFC_ARG_ERROR;
    }
    size_t out = 0;
    for (int32_t i0 = 0; i0 < dims->shape[0]; ++i0) {
        for (int32_t i1 = 0; i1 < dims->shape[1]; ++i1) {
            for (int32_t i2 = 0; i2 < dims->shape[2]; ++i2) {
                for (int32_t i3 = 0; i3 < dims->shape[3]; ++i3) {
                    const size_t ia = tfc_broadcast_offset(dims->strides_a, i0, i1, i2, i3);
                    const size_t ib = tfc_broadcast_offset(dims->strides_b, i0, i1, i2, i3);
                    int32_t value = combine(params, a[ia], b[ib]) + params->output_offset;
                    value = value < params->activation.min ? params->activation.min : value;
                    value = value > params->activation.max ? params->activation.max : value;
                    output[out++] = (int8_t)value;
                }
            }
        }
    }
    return TFC_OK;
}

tfc_status tfc_add_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output)
{
    return broadcast(params, dims, a, b, output, add_values);
}

tfc_status tfc_sub_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output)
{
    return broadcast(params, dims, a, b, output, sub_values);
}

tfc_status tfc_mul_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output)
{
    return broadcast(params, dims, a, b, output, mul_values);
}
