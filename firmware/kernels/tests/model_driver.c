/* Runs a generated model (converters/generated_c.py: tfc_model.c, tfc_model.h) over the inputs on
 * stdin, for tests/converters/test_generated_c.py (built with AddressSanitizer and UBSan).
 *
 * stdin: rows of TFC_MODEL_INPUT_LENGTH int32 ids (native byte order), read to the end.
 * stdout: per row, the int32 status of tfc_model_invoke, then TFC_MODEL_OUTPUT_LENGTH int8 outputs
 * (zeros when the model refused the row). Built with TFC_PROFILE, then one text line per operator:
 * "k name calls ns" from the default profiler, or with TFC_PROFILE_USER_HEADER "k name begins ends",
 * the counts a test's tfc_profile.h keeps in tfc_test_begins and tfc_test_ends.
 */
#include <stdio.h>
#include <string.h>

#include "tfc_model.h"

#if defined(TFC_PROFILE) && defined(TFC_PROFILE_USER_HEADER)
uint32_t tfc_test_begins[TFC_MODEL_OPERATOR_COUNT];
uint32_t tfc_test_ends[TFC_MODEL_OPERATOR_COUNT];
#endif

int main(void)
{
    static int32_t ids[TFC_MODEL_INPUT_LENGTH];
    static int8_t out[TFC_MODEL_OUTPUT_LENGTH];
    while (fread(ids, sizeof ids[0], TFC_MODEL_INPUT_LENGTH, stdin) == TFC_MODEL_INPUT_LENGTH) {
        memset(out, 0, sizeof out);
        const int32_t status = tfc_model_invoke(ids, out);
        if (fwrite(&status, sizeof status, 1, stdout) != 1 || fwrite(out, 1, sizeof out, stdout) != sizeof out) {
            return 1;
        }
    }
#ifdef TFC_PROFILE
    for (int k = 0; k < TFC_MODEL_OPERATOR_COUNT; ++k) {
#ifdef TFC_PROFILE_USER_HEADER
        printf("%d %s %lu %lu\n", k, tfc_model_operator_names[k], (unsigned long)tfc_test_begins[k],
               (unsigned long)tfc_test_ends[k]);
#else
        printf("%d %s %llu %llu\n", k, tfc_model_operator_names[k], (unsigned long long)tfc_model_op_calls[k],
               (unsigned long long)tfc_model_op_ns[k]);
#endif
    }
#endif
    return ferror(stdin) ? 1 : 0;
}
