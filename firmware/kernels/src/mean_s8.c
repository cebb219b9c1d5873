/* MEAN of int8 over the middle axis of [outer][count][inner]. */
#include <stddef.h>

#include "tfc_kernels.h"

tfc_status tfc_mean_s8(const tfc_mean_params *params, const tfc_mean_dims *dims, const int8_t *input,
                       int8_t *output)
{
    if (params == NULL || dims == NULL || input == NULL || output == NULL || dims->outer < 1 || dims->count < 1 ||
        dims->inner < 1) {
        return TFC_ARG_ERROR;
    }
    const uint32_t zero_sum = (uint32_t)params->input_zero_point * (uint32_t)dims->count;
    for (int32_t o = 0; o < dims->outer; ++o) {
        for (int32_t i = 0; i < dims->inner; ++i) {
            const int8_t *x = input + (size_t)o * (size_t)dims->count * (size_t)dims->inner + (size_t)i;
            uint32_t sum = 0u;
            for (int32_t k = 0; k < dims->count; ++k) {
                sum += (uint32_t)(int32_t)x[(size_t)k * (size_t)dims->inner];
            }
            int32_t out = tfc_requantize((int32_t)(sum - zero_sum), params->multiplier) + params->output_zero_point;
            out = out < INT8_MIN ? INT8_MIN : out > INT8_MAX ? INT8_MAX : out;
            output[(size_t)o * (size_t)dims->inner + (size_t)i] = (int8_t)out;
        }
    }
    return TFC_OK;
}
