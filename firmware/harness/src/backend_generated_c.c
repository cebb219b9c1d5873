/* The generated-C backend: converters/generated_c.py's tfc_model_invoke, each operator counted
   through the TFC_PROFILE hooks (tfc_profile.h). */
#include "tfc_backend.h"

#include "labels_data.h"
#include "tfc_model.h"
#include "tokenizer_data.h"

#if TFC_MODEL_INPUT_LENGTH != TFC_MAX_LENGTH || TFC_MODEL_OUTPUT_LENGTH != TFC_NUM_LABELS
#error "the generated model does not take the tokenizer's length or give one score per label"
#endif

const char tfc_backend_name[] = "c";

uint32_t tfc_layer_ticks[TFC_MODEL_OPERATOR_COUNT];
uint32_t tfc_layer_started;

int32_t tfc_backend_init(void)
{
    return 0;
}

const char *tfc_backend_error(void)
{
    return "";
}

int32_t tfc_backend_invoke(const int32_t *ids, int8_t *scores)
{
    for (int32_t k = 0; k < TFC_MODEL_OPERATOR_COUNT; ++k) {
        tfc_layer_ticks[k] = 0;
    }
    return tfc_model_invoke(ids, scores);
}

int32_t tfc_backend_layer_count(void)
{
    return TFC_MODEL_OPERATOR_COUNT;
}

const char *tfc_backend_layer_name(int32_t layer)
{
    return tfc_model_operator_names[layer];
}

uint32_t tfc_backend_layer_ticks(int32_t layer)
{
    return tfc_layer_ticks[layer];
}

size_t tfc_backend_arena_bytes(void)
{
    return TFC_MODEL_ARENA_BYTES;
}
