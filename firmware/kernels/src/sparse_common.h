/* What the kernels reading sparse int8 matrices share (tfc_sparse_matrix: COO or CSR). Internal.
 * Damaged data (row pointers past nnz, columns past the matrix) is refused, never read past. */
#ifndef TFC_SPARSE_COMMON_H
#define TFC_SPARSE_COMMON_H

#include <stddef.h>

#include "tfc_kernels.h"

/* Unsigned little-endian index k of an array of `width`-byte indices. */
static inline uint32_t tfc_sparse_read_index(const uint8_t *p, int32_t width, int32_t k)
{
    const uint8_t *q = p + (size_t)k * (size_t)width;
    uint32_t v = q[0];
    if (width >= 2) {
        v |= (uint32_t)q[1] << 8;
    }
    if (width == 4) {
        v |= (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    return v;
}

/* The header describes a matrix the kernels can read (not the entries: those are checked as read). */
static inline int tfc_sparse_valid(const tfc_sparse_matrix *m)
{
    return m != NULL && m->data != NULL && m->rows > 0 && m->cols > 0 && m->nnz >= 0 &&
           (m->format == TFC_SPARSE_COO || m->format == TFC_SPARSE_CSR) &&
           (m->row_bytes == 1 || m->row_bytes == 2 || m->row_bytes == 4) &&
           (m->col_bytes == 1 || m->col_bytes == 2 || m->col_bytes == 4) && m->background >= INT8_MIN &&
           m->background <= INT8_MAX;
}

/* The arrays of the encoding. */
static inline const uint8_t *tfc_sparse_col_array(const tfc_sparse_matrix *m)
{
    const int32_t first = m->format == TFC_SPARSE_COO ? m->nnz : m->rows + 1;
    return m->data + (size_t)first * (size_t)m->row_bytes;
}

static inline const int8_t *tfc_sparse_value_array(const tfc_sparse_matrix *m)
{
    return (const int8_t *)(tfc_sparse_col_array(m) + (size_t)m->nnz * (size_t)m->col_bytes);
}

/* [begin, end) of row r's entries (r in [0, rows)); 0 when damaged row pointers would leave [0, nnz]. */
static inline int tfc_sparse_row_range(const tfc_sparse_matrix *m, int32_t r, int32_t *begin, int32_t *end)
{
    if (m->format == TFC_SPARSE_CSR) {
        const uint32_t b = tfc_sparse_read_index(m->data, m->row_bytes, r);
        const uint32_t e = tfc_sparse_read_index(m->data, m->row_bytes, r + 1);
        if (b > e || e > (uint32_t)m->nnz) {
            return 0;
        }
        *begin = (int32_t)b;
        *end = (int32_t)e;
        return 1;
    }
    const uint32_t row = (uint32_t)r;
    int32_t lo = 0, hi = m->nnz; /* lower bound of r in the rows, sorted as the encoding promises */
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        if (tfc_sparse_read_index(m->data, m->row_bytes, mid) < row) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *begin = lo;
    while (lo < m->nnz && tfc_sparse_read_index(m->data, m->row_bytes, lo) == row) {
        ++lo;
    }
    *end = lo;
    return 1;
}

/* acc[c] += scale * entry (r, c) over row r's stored entries (a matrix of background 0), wrapping as
 * an int32 sum; 0 (acc partly updated) when the row's pointers or a column are damaged. */
static inline int tfc_sparse_accumulate_row(const tfc_sparse_matrix *m, int32_t r, int32_t scale, uint32_t *acc)
{
    int32_t begin, end;
    if (!tfc_sparse_row_range(m, r, &begin, &end)) {
        return 0;
    }
    const uint8_t *cols = tfc_sparse_col_array(m);
    const int8_t *values = tfc_sparse_value_array(m);
    for (int32_t k = begin; k < end; ++k) {
        const uint32_t c = tfc_sparse_read_index(cols, m->col_bytes, k);
        if (c >= (uint32_t)m->cols) {
            return 0;
        }
        acc[c] += (uint32_t)(scale * (int32_t)values[k]);
    }
    return 1;
}

#endif /* TFC_SPARSE_COMMON_H */
