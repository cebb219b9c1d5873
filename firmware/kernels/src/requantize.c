/* Fixed-point requantisation shared by every kernel: TFLM's MultiplyByQuantizedMultiplier. */
#include "fixed_point.h"
#include "tfc_kernels.h"

int32_t tfc_requantize(int32_t x, tfc_quant_multiplier m)
{
    const int32_t left = m.shift > 0 ? m.shift : 0;
    const int32_t right = m.shift > 0 ? 0 : -m.shift;
    /* The left shift wraps like TFLM's int32 product, without C's signed-overflow UB. */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tfc_rounding_divide_by_pot(tfc_srdhm(shifted, m.multiplier), right);
}
