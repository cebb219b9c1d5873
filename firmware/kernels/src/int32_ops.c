/* int32 arithmetic, CAST and QUANTIZE: the index and mask computations of the builtin lowering. */
#include <stddef.h>

#include "broadcast_common.h"
#include "tfc_kernels.h"

static int32_t combine(tfc_int32_op op, int32_t a, int32_t b)
{
    switch (op) {
    case TFC_INT32_ADD:
        return (int32_t)((uint32_t)a + (uint32_t)b); /* wraps, as the reference */
    case TFC_INT32_SUB:
        return (int32_t)((uint32_t)a - (uint32_t)b);
    case TFC_INT32_MUL:
        return (int32_t)((uint32_t)a * (uint32_t)b);
    case TFC_INT32_DIV:
        return (a == INT32_MIN && b == -1) ? INT32_MIN : a / b; /* C99: truncates toward zero */
    case TFC_INT32_MIN:
        return a < b ? a : b;
    default:
        return a > b ? a : b;
    }
}

tfc_status tfc_binary_s32(tfc_int32_op op, const tfc_broadcast_dims *dims, const int32_t *a, const int32_t *b,
                          int32_t *output)
{
    if (dims == NULL || a == NULL || b == NULL || output == NULL ||
        (unsigned)op > (unsigned)TFC_INT32_MAX) { /* unsigned: enums may be unsigned (arm-none-eabi) */
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
                    if (op == TFC_INT32_DIV && b[ib] == 0) {
                        return TFC_ARG_ERROR;
                    }
                    output[out++] = combine(op, a[ia], b[ib]);
                }
            }
        }
    }
    return TFC_OK;
}

tfc_status tfc_cast_s32_f32(int32_t size, const int32_t *input, float *output)
{
    if (input == NULL || output == NULL || size < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = (float)input[i];
    }
    return TFC_OK;
}

/* std::round in float: halves away from zero, without libm. */
static int32_t round_half_away(float x)
{
    const float magnitude = x < 0.0f ? -x : x;
    if (magnitude >= 2147483520.0f) { /* beyond int32 (largest float below 2^31): saturate */
        return x < 0.0f ? INT32_MIN : INT32_MAX;
    }
    int32_t r = (int32_t)magnitude; /* truncation */
    if (magnitude - (float)r >= 0.5f) {
        ++r;
    }
    return x < 0.0f ? -r : r;
}

tfc_status tfc_quantize_f32_s8(int32_t size, float scale, int32_t zero_point, const float *input, int8_t *output)
{
    if (input == NULL || output == NULL || size < 0 || !(scale > 0.0f)) {
        return TFC_ARG_ERROR;
    }
    for (int32_t i = 0; i < size; ++i) {
        int64_t q = (int64_t)round_half_away(input[i] / scale) + zero_point;
        q = q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q;
        output[i] = (int8_t)q;
    }
    return TFC_OK;
}

tfc_status tfc_requantize_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                             tfc_quant_multiplier multiplier, const int8_t *input, int8_t *output)
{
    if (input == NULL || output == NULL || size < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t i = 0; i < size; ++i) {
        int32_t q = tfc_requantize((int32_t)input[i] - input_zero_point, multiplier) + output_zero_point;
        q = q < INT8_MIN ? INT8_MIN : q > INT8_MAX ? INT8_MAX : q;
        output[i] = (int8_t)q;
    }
    return TFC_OK;
}
