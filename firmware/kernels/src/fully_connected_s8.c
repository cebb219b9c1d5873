/* FULLY_CONNECTED, int8 activations and weights, per-channel requantisation. The portable loop is the
 * reference; with TFC_USE_DSP (dsp_common.h) the same sums run on SMLAD, four output channels at once. */
#include <stddef.h>

#include "dsp_common.h"
#include "tfc_kernels.h"

#if TFC_DSP_PATH
/* Inputs split into int16 pairs at a time (2 bytes of stack each); a multiple of 4. */
enum { FC_CHUNK = 512 };

/* The output as the portable loop computes it, the requantisation inlined. */
static int8_t requantize_s8(int32_t acc, tfc_quant_multiplier m, int32_t output_offset, tfc_activation range)
{
    const int32_t out = tfc_dsp_requantize(acc, m) + output_offset;
    return (int8_t)(out < range.min ? range.min : out > range.max ? range.max : out);
}

/* Every group of four channels when the inputs, split once (xe), are all quads: the four sums in
 * registers from the bias to the requantised outputs. */
static TFC_DSP_NOINLINE void fc_groups_of_four(const int16x2_t *xe, int32_t quads, const int8_t *w, int32_t groups,
                                               const int32_t *bias, const tfc_quant_multiplier *per_channel,
                                               int32_t output_offset, tfc_activation range, int8_t *out)
{
    const size_t stride = 4 * (size_t)quads;
    for (int32_t g = 0; g < groups; ++g) {
        int32_t acc[4] = {0, 0, 0, 0};
        if (bias != NULL) {
            acc[0] = bias[4 * g];
            acc[1] = bias[4 * g + 1];
            acc[2] = bias[4 * g + 2];
            acc[3] = bias[4 * g + 3];
        }
        tfc_dsp_dot_expanded_x4(xe, w + 4 * (size_t)g * stride, stride, quads, acc);
        const tfc_quant_multiplier *m = per_channel + 4 * g;
        int8_t *o = out + 4 * g;
        o[0] = requantize_s8(acc[0], m[0], output_offset, range);
        o[1] = requantize_s8(acc[1], m[1], output_offset, range);
        o[2] = requantize_s8(acc[2], m[2], output_offset, range);
        o[3] = requantize_s8(acc[3], m[3], output_offset, range);
    }
}

/* The portable loop's sums four channels at a time: the inputs split once per batch (per chunk of
 * FC_CHUNK when deeper, then again for every four channels), the depth % 4 last inputs summed as the
 * portable loop sums them. */
static void fully_connected_dsp(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                const tfc_fc_dims *dims, const int8_t *input, const int8_t *weights,
                                const int32_t *bias, int8_t *output)
{
    int16x2_t xe[FC_CHUNK / 2];
    const int32_t depth = dims->input_depth, channels = dims->output_depth, offset = params->input_offset;
    const int32_t output_offset = params->output_offset, quads = depth / 4;
    const int whole = depth <= FC_CHUNK;
    const tfc_activation range = params->activation;
    for (int32_t b = 0; b < dims->batches; ++b) {
        const int8_t *x = input + (size_t)b * (size_t)depth;
        int8_t *out = output + (size_t)b * (size_t)channels;
        int32_t c = 0;
        if (whole) {
            tfc_dsp_expand_s8(x, offset, quads, xe);
            if (4 * quads == depth) {
                fc_groups_of_four(xe, quads, weights, channels / 4, bias, per_channel, output_offset, range, out);
                c = channels & ~3;
            }
        }
        for (; c < channels; c += 4) {
            const int32_t rows = channels - c < 4 ? channels - c : 4;
            const int8_t *w = weights + (size_t)c * (size_t)depth;
            int32_t acc[4] = {0, 0, 0, 0};
            for (int32_t r = 0; bias != NULL && r < rows; ++r) {
                acc[r] = bias[c + r];
            }
            for (int32_t first = 0; first < 4 * quads; first += FC_CHUNK) {
                const int32_t n = 4 * quads - first < FC_CHUNK ? 4 * quads - first : FC_CHUNK;
                if (!whole) {
                    tfc_dsp_expand_s8(x + first, offset, n / 4, xe);
                }
                tfc_dsp_dot_expanded_rows(xe, w + first, (size_t)depth, n / 4, rows, acc);
            }
            for (int32_t r = 0; r < rows && 4 * quads < depth; ++r) {
                const int8_t *wr = w + (size_t)r * (size_t)depth;
                uint32_t sum = (uint32_t)acc[r];
                for (int32_t i = 4 * quads; i < depth; ++i) {
                    sum += (uint32_t)(((int32_t)x[i] + offset) * (int32_t)wr[i]);
                }
                acc[r] = (int32_t)sum;
            }
            for (int32_t r = 0; r < rows; ++r) {
                out[c + r] = requantize_s8(acc[r], per_channel[c + r], output_offset, range);
            }
        }
    }
}
#endif

tfc_status tfc_fully_connected_s8(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                  const tfc_fc_dims *dims, const int8_t *input, const int8_t *weights,
                                  const int32_t *bias, int8_t *output)
{
    if (params == NULL || per_channel == NULL || dims == NULL || input == NULL || weights == NULL ||
        output == NULL || dims->batches < 1 || dims->input_depth < 1 || dims->output_depth < 1 ||
        params->activation.min > params->activation.max) {
        return TFC_ARG_ERROR;
    }
#if TFC_DSP_PATH
    if (params->input_offset >= -TFC_DSP_MAX_OFFSET && params->input_offset <= TFC_DSP_MAX_OFFSET) {
        fully_connected_dsp(params, per_channel, dims, input, weights, bias, output);
        return TFC_OK;
    }
#endif
    /* The portable loop (the reference of the DSP path): one channel at a time. */
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
