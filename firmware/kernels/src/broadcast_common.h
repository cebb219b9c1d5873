/* What the broadcasting kernels share (ADD, SUB, MUL of int8; int32 arithmetic). Internal. */
#ifndef TFC_BROADCAST_COMMON_H
#define TFC_BROADCAST_COMMON_H

#include <stddef.h>

#include "tfc_kernels.h"

/* Every dimension positive and every stride non-negative. */
static inline int tfc_broadcast_dims_valid(const tfc_broadcast_dims *dims)
{
    for (int d = 0; d < 4; ++d) {
        if (dims->shape[d] < 1 || dims->strides_a[d] < 0 || dims->strides_b[d] < 0) {
            return 0;
        }
    }
    return 1;
}

/* The element of an input at output index (i0, i1, i2, i3), given that input's strides. */
static inline size_t tfc_broadcast_offset(const int32_t strides[4], int32_t i0, int32_t i1, int32_t i2, int32_t i3)
{
    return (size_t)i0 * (size_t)strides[0] + (size_t)i1 * (size_t)strides[1] + (size_t)i2 * (size_t)strides[2] +
           (size_t)i3 * (size_t)strides[3];
}

#endif /* TFC_BROADCAST_COMMON_H */
