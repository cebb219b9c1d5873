/* int8 -> int8 functions by table (LOGISTIC, TANH): the table is built at prepare time. */
#include <stddef.h>

#include "tfc_kernels.h"

tfc_status tfc_lookup_s8(const int8_t table[256], int32_t size, const int8_t *input, int8_t *output)
{
    if (table == NULL || input == NULL || output == NULL || size < 0) {
        return TFC_ARG_ERROR;
    }
    for (int32_t i = 0; i < size; ++i) {
        output[i] = table[(int32_t)input[i] + 128];
    }
    return TFC_OK;
}
