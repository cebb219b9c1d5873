/* MEAN of int8 over the middle axis of [outer][count][inner]. The portable loop is the reference; with
 * TFC_USE_DSP (dsp_common.h) four neighbouring outputs are summed at once in int16 lanes (SXTAB16). */
#include <stddef.h>

#include "dsp_common.h"
#include "tfc_kernels.h"

#if TFC_DSP_PATH
/* Counts summed in int16 lanes before they are widened: 256 * -128 = INT16_MIN, 256 * 127 < INT16_MAX. */
enum { MEAN_LANE_COUNT = 256 };

/* sum[j] = x[0][j] + ... + x[count - 1][j] for j < 4, rows `inner` bytes apart (wrapping as uint32). */
static void sum_four(const int8_t *x, int32_t count, size_t inner, uint32_t sum[4])
{
    sum[0] = sum[1] = sum[2] = sum[3] = 0u;
    for (int32_t first = 0; first < count; first += MEAN_LANE_COUNT) {
        const int32_t n = count - first < MEAN_LANE_COUNT ? count - first : MEAN_LANE_COUNT;
        const int8_t *p = x + (size_t)first * inner;
        int16x2_t even = 0, odd = 0; /* (x0, x2), (x1, x3) */
        for (int32_t k = 0; k < n; ++k) {
            const uint32_t w = tfc_dsp_read_u32(p);
            p += inner;
            even = __sxtab16(even, (int8x4_t)w);
            odd = tfc_dsp_sxtab16_ror8(odd, w);
        }
        tfc_dsp_add_lanes(even, odd, sum);
    }
}

/* Every output of the outer index o, four neighbours at a time, the last inner % 4 one by one. */
static void mean_dsp(const tfc_mean_params *params, const tfc_mean_dims *dims, const int8_t *x, uint32_t zero_sum,
                     int8_t *output)
{
    int32_t i = 0;
    for (; i + 4 <= dims->inner; i += 4) {
        uint32_t sum[4];
        sum_four(x + i, dims->count, (size_t)dims->inner, sum);
        for (int32_t j = 0; j < 4; ++j) {
            output[i + j] = (int8_t)__ssat(
                tfc_dsp_requantize((int32_t)(sum[j] - zero_sum), params->multiplier) + params->output_zero_point, 8);
        }
    }
    for (; i < dims->inner; ++i) {
        uint32_t sum = 0u;
        for (int32_t k = 0; k < dims->count; ++k) {
            sum += (uint32_t)(int32_t)x[(size_t)k * (size_t)dims->inner + (size_t)i];
        }
        output[i] = (int8_t)__ssat(
            tfc_dsp_requantize((int32_t)(sum - zero_sum), params->multiplier) + params->output_zero_point, 8);
    }
}
#endif

tfc_status tfc_mean_s8(const tfc_mean_params *params, const tfc_mean_dims *dims, const int8_t *input,
                       int8_t *output)
{
    if (params == NULL || dims == NULL || input == NULL || output == NULL || dims->outer < 1 || dims->count < 1 ||
        dims->inner < 1) {
        return TFC_ARG_ERROR;
    }
    const uint32_t zero_sum = (uint32_t)params->input_zero_point * (uint32_t)dims->count;
#if TFC_DSP_PATH
    for (int32_t o = 0; o < dims->outer; ++o) {
        mean_dsp(params, dims, input + (size_t)o * (size_t)dims->count * (size_t)dims->inner, zero_sum,
                 output + (size_t)o * (size_t)dims->inner);
    }
    return TFC_OK;
#endif
    /* The portable loop (the reference of the DSP path). */
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
