/*
 * tfcompress int8 kernels: one C99 implementation per operator, shared by every runtime
 * (the generated C on the host and on the boards, and the TFLM glue).
 *
 * Conventions (after CMSIS-NN): each kernel takes explicit parameter structs for its
 * dimensions and quantisation, precomputed once by the caller (`tfcompress.reference`'s
 * prepare step gives the same numbers); the inner loops only compute. Kernels never
 * allocate; a kernel that needs scratch has a `*_get_buffer_size` twin and takes the buffer.
 * Every kernel returns a tfc_status. The math of each op is specified by its NumPy reference
 * in tfcompress/reference/builtin_ops.py, which these kernels equal bit for bit.
 */
#ifndef TFC_KERNELS_H
#define TFC_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TFC_OK = 0,
    TFC_ARG_ERROR = -1 /* a NULL pointer, a non-positive dimension or an inverted range */
} tfc_status;

/* A real multiplier as TFLite holds it: multiplier / 2^31 * 2^shift, multiplier in [2^30, 2^31). */
typedef struct {
    int32_t multiplier;
    int32_t shift;
} tfc_quant_multiplier;

/* Output clamp after requantisation (the fused activation), inclusive. */
typedef struct {
    int32_t min;
    int32_t max;
} tfc_activation;

/* round(x * multiplier / 2^31 * 2^shift), TFLM's double rounding (gemmlowp). */
int32_t tfc_requantize(int32_t x, tfc_quant_multiplier m);

/* ---- FULLY_CONNECTED: out[b][c] = clamp(requant_c(sum_i (in[b][i] + input_offset) * w[c][i] + bias[c]) + output_offset) */
typedef struct {
    int32_t batches;
    int32_t input_depth;
    int32_t output_depth;
} tfc_fc_dims;

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    tfc_activation activation;
} tfc_fc_params;

/* `per_channel` holds output_depth multipliers; `bias` may be NULL. */
tfc_status tfc_fully_connected_s8(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                  const tfc_fc_dims *dims, const int8_t *input, const int8_t *weights,
                                  const int32_t *bias, int8_t *output);

/* ---- MEAN over the middle axis of [outer][count][inner] (contiguous reduced axes collapse to it) */
typedef struct {
    int32_t outer;
    int32_t count;
    int32_t inner;
} tfc_mean_dims;

typedef struct {
    int32_t input_zero_point;
    int32_t output_zero_point;
    tfc_quant_multiplier multiplier; /* in/out scale with 1/count folded in (see the reference) */
} tfc_mean_params;

tfc_status tfc_mean_s8(const tfc_mean_params *params, const tfc_mean_dims *dims, const int8_t *input,
                       int8_t *output);

/* ---- ADD, SUB, MUL with broadcasting: up to 4 dimensions, a stride of 0 repeats an input */
typedef struct {
    int32_t shape[4];     /* output shape, leading dimensions 1 when fewer */
    int32_t strides_a[4]; /* elements, 0 where a is broadcast */
    int32_t strides_b[4];
} tfc_broadcast_dims;

typedef struct {
    int32_t offset_a; /* -zero point of a */
    int32_t offset_b;
    int32_t output_offset;
    int32_t left_shift;            /* ADD/SUB: 20 */
    tfc_quant_multiplier input_a;  /* ADD/SUB only */
    tfc_quant_multiplier input_b;  /* ADD/SUB only */
    tfc_quant_multiplier output;
    tfc_activation activation;
} tfc_elementwise_params;

tfc_status tfc_add_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output);
tfc_status tfc_sub_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output);
tfc_status tfc_mul_s8(const tfc_elementwise_params *params, const tfc_broadcast_dims *dims, const int8_t *a,
                      const int8_t *b, int8_t *output);

/* ---- TFC_EMBEDDING_BAG: out[d] = clamp(requant(sum over tokens t with ids[t] != pad_id of
 *      (table[ids[t]][d] - table_zero_point)) + output_zero_point); the mean's 1/tokens is folded
 *      into `multiplier`, as in MEAN. Needs `depth` int32 of scratch. */
typedef struct {
    int32_t vocab;
    int32_t depth;
    int32_t tokens;
} tfc_embedding_bag_dims;

typedef struct {
    int32_t table_zero_point;
    int32_t output_zero_point;
    int32_t pad_id;
    tfc_quant_multiplier multiplier;
} tfc_embedding_bag_params;

int32_t tfc_embedding_bag_s8_get_buffer_size(const tfc_embedding_bag_dims *dims); /* bytes */

/* TFC_ARG_ERROR also for an id outside [0, vocab): nothing is read past the table. */
tfc_status tfc_embedding_bag_s8(const tfc_embedding_bag_params *params, const tfc_embedding_bag_dims *dims,
                                const int32_t *ids, const int8_t *table, int32_t *scratch, int8_t *output);

/* ---- Sparse int8 matrices (tfcompress/structures/sparse.py): the entries that differ from
 *      `background`, sorted by row then column, as COO (row[nnz], col[nnz], values[nnz]) or CSR
 *      (row_ptr[rows + 1], col[nnz], values[nnz]); unsigned little-endian indices of 1, 2 or 4
 *      bytes (row: index_bytes(rows), row_ptr: index_bytes(nnz + 1), col: index_bytes(cols)). */
typedef enum { TFC_SPARSE_COO = 0, TFC_SPARSE_CSR = 1 } tfc_sparse_format;

typedef struct {
    int32_t rows;
    int32_t cols;
    int32_t nnz;
    tfc_sparse_format format;
    int32_t row_bytes; /* width of COO rows or CSR row pointers */
    int32_t col_bytes;
    int32_t background;
    const uint8_t *data;
} tfc_sparse_matrix;

/* TFC_SPARSE_GATHER: out[t][:] = row ids[t] of the matrix (background where nothing is stored). */
tfc_status tfc_sparse_gather_s8(const tfc_sparse_matrix *matrix, const int32_t *ids, int32_t count, int8_t *output);

/* TFC_SPARSE_FULLY_CONNECTED: FULLY_CONNECTED with the weights as a sparse [inputs][outputs]
 * matrix (background 0); dims->input_depth = rows, dims->output_depth = cols. Needs
 * output_depth int32 of scratch. */
int32_t tfc_sparse_fully_connected_s8_get_buffer_size(const tfc_fc_dims *dims); /* bytes */
tfc_status tfc_sparse_fully_connected_s8(const tfc_fc_params *params, const tfc_quant_multiplier *per_channel,
                                         const tfc_fc_dims *dims, const int8_t *input,
                                         const tfc_sparse_matrix *weights, const int32_t *bias, int32_t *scratch,
                                         int8_t *output);

/* ---- LOGISTIC, TANH and any other int8 -> int8 function: a 256-entry table indexed by x + 128 */
tfc_status tfc_lookup_s8(const int8_t table[256], int32_t size, const int8_t *input, int8_t *output);

/* ---- Data movement (GATHER, STRIDED_SLICE, TRANSPOSE, SPLIT, PAD, RESHAPE): elements of
 *      `element_size` bytes copied over a 5-D index space; strides in elements, offsets too. */
enum { TFC_COPY_DIMS = 5 };

typedef struct {
    int32_t shape[TFC_COPY_DIMS];       /* the index space, leading dimensions 1 when fewer */
    int32_t in_strides[TFC_COPY_DIMS];  /* may be 0 (repeat) but not negative */
    int32_t out_strides[TFC_COPY_DIMS];
    int32_t in_offset;
    int32_t out_offset;
    int32_t element_size;               /* bytes: 1 (int8) or 4 (int32, float) */
} tfc_copy_plan;

tfc_status tfc_strided_copy(const tfc_copy_plan *plan, const void *input, void *output);

/* Fill `count` elements of `element_size` bytes with the bytes of `value` (PAD's border). */
tfc_status tfc_fill(int32_t count, int32_t element_size, const void *value, void *output);

/* Rows of a [rows][row_bytes] table by index; TFC_ARG_ERROR for an index outside [0, rows). */
tfc_status tfc_gather_rows(const void *table, int32_t rows, int32_t row_bytes, const int32_t *indices,
                           int32_t count, void *output);

/* ---- int32 elementwise arithmetic (index computations of the builtin lowering) */
typedef enum {
    TFC_INT32_ADD,
    TFC_INT32_SUB,
    TFC_INT32_MUL,
    TFC_INT32_DIV, /* truncates toward zero; a zero divisor is TFC_ARG_ERROR */
    TFC_INT32_MIN,
    TFC_INT32_MAX
} tfc_int32_op;

tfc_status tfc_binary_s32(tfc_int32_op op, const tfc_broadcast_dims *dims, const int32_t *a, const int32_t *b,
                          int32_t *output);

/* ---- CAST int32 -> float32 and QUANTIZE float32 -> int8 (round half away from zero, clamp) */
tfc_status tfc_cast_s32_f32(int32_t size, const int32_t *input, float *output);
tfc_status tfc_quantize_f32_s8(int32_t size, float scale, int32_t zero_point, const float *input, int8_t *output);
/* QUANTIZE int8 -> int8: requantise between two scales. */
tfc_status tfc_requantize_s8(int32_t size, int32_t input_zero_point, int32_t output_zero_point,
                             tfc_quant_multiplier multiplier, const int8_t *input, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TFC_KERNELS_H */
