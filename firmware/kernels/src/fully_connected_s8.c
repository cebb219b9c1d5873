/* FULLY_CONNECTED, int8 activations and weights, per-channel requantisation. */
#include <stddef.h>

#include "tfc_kernels.h"

tfc_status tfc_fully_connected_s8(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                  const tfc_fc_dims *dims, const int8_t *input, const int8_t *weights,
                                  const int32_t *bias, int8_t *output)
{
    if (params == NULL || per_channel == NULL || dims == NULL || input == NULL || weights == NULL ||
        output == NULL || dims->batches < 1 || dims->input_depth < 1 || dims->output_depth < 1 ||
        params->activation.min > params->activation.max) {
        return TFC_ARG_ERROR;
    }
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)dims->input_depth;
        for (int32_t c = 0; c < dims->output_depth; ++c) {
            const int8_t *w = weights + (size_t)c * (size_t)dims->input_depth;
            uint32_t acc = bias != NULL ? (uint32_t)bias[c] : 0u; /* wraps as TFLM's int32 sum */
            for (int32_t i = 0; i < dims->input_depth; ++i) {
                acc += (uint32_t)(((int32_t)x[i] + params->input_offset) * (int32_t)w[i]);
            }
            int32_t out = tfc_requantize((int32_t)acc, per_channel[c]) + params->output_offset;
            out = out < params->activation.min ? params->activation.min : out;
            out = out > params->activation.max ? params->activation.max : out;
            output[(size_t)b * (size_t)dims->output_depth + (size_t)c] = (int8_t)out;
        }
    }
    return TFC_OK;
}
