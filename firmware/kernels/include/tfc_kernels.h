/*
 * tfcompress int8 kernels: one C99 implementation per operator, shared by every runtime
 * (the generated C on the host and on the boards, and the TFLM glue).
 *
 * Conventions (after CMSIS-NN): each kernel takes explicit parameter structs for its
 * dimensions and quantisation, precomputed once by the caller (`tfcompress.reference`'s
 * prepare step gives the same numbers); the inner loops only compute. Kernels never
 * allocate; a kernel that needs scratch has a `*_get_buffer_size` twin and takes the buffer.
 * Every kernel returns a tfc_status. The math of each op is specified by its NumPy reference
 * in tfcompress/reference/ (builtin_ops.py, custom_ops.py, structured_ops.py, recurrent_ops.py),
 * which these kernels equal bit for bit.
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
    const uint8_t *data; /* never NULL, even when nnz is 0 (then nothing is read) */
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

/* ---- Fused structured FULLY_CONNECTED: TFC_{LMF,HMF,KP,DKP}_FULLY_CONNECTED (tfcompress/reference/
 *      structured_ops.py). FULLY_CONNECTED over batches rows of x with W [input_depth][output_depth]
 *      kept as int8 factors of zero point 0 and never formed. A first stage (x + input_offset) times a
 *      factor is requantised to an int16 intermediate t (saturating) in the caller's scratch; the
 *      output is one or two parts, each requantised to the output scale, then summed:
 *        out[c] = clamp(output_offset + requant_c(part1[c]) [+ requant_c(part2[c])], activation)
 *      Sums wrap as int32; `bias` (may be NULL) is added to the first part. `params` as for
 *      FULLY_CONNECTED, input_offset in [-127, 128] (-zero point) and the activation within int8. */
typedef struct {
    int32_t batches;
    int32_t input_depth;  /* rows of W */
    int32_t output_depth; /* cols of W */
    int32_t rank;         /* r: the rows of u (HMF: also the inputs through the head) */
} tfc_mf_fc_dims;

typedef struct {
    tfc_quant_multiplier stage1;          /* (x + input_offset) U -> t, one for the tensor */
    const tfc_quant_multiplier *head;     /* HMF: output_depth, the head part; LMF: unused */
    const tfc_quant_multiplier *low_rank; /* output_depth, the low-rank part t V */
} tfc_mf_fc_quant;

/* LMF: u [rank][input_depth], v [output_depth][rank], one part:
 *   t[k] = sat16(requant_stage1(sum_i (x[i] + input_offset) u[k][i]))
 *   part1[c] = bias[c] + sum_k t[k] v[c][k]                        (low_rank multipliers)
 * Needs rank int16 of scratch. */
int32_t tfc_lmf_fully_connected_s8_get_buffer_size(const tfc_mf_fc_dims *dims); /* bytes */
tfc_status tfc_lmf_fully_connected_s8(const tfc_fc_params *params, const tfc_mf_fc_quant *quant,
                                      const tfc_mf_fc_dims *dims, const int8_t *input, const int8_t *u,
                                      const int8_t *v, const int32_t *bias, int16_t *scratch, int8_t *output);

/* HMF: the first rank inputs through a dense head h [output_depth][rank], the rest low rank through
 * u [rank][input_depth - rank] and v [output_depth][rank]; 0 < rank < input_depth:
 *   t[k] = sat16(requant_stage1(sum_{i >= rank} (x[i] + input_offset) u[k][i - rank]))
 *   part1[c] = bias[c] + sum_{i < rank} (x[i] + input_offset) h[c][i]   (head multipliers)
 *   part2[c] = sum_k t[k] v[c][k]                                      (low_rank multipliers)
 * Needs rank int16 of scratch. */
int32_t tfc_hmf_fully_connected_s8_get_buffer_size(const tfc_mf_fc_dims *dims); /* bytes */
tfc_status tfc_hmf_fully_connected_s8(const tfc_fc_params *params, const tfc_mf_fc_quant *quant,
                                      const tfc_mf_fc_dims *dims, const int8_t *input, const int8_t *h,
                                      const int8_t *u, const int8_t *v, const int32_t *bias, int16_t *scratch,
                                      int8_t *output);

typedef struct {
    int32_t batches;
    int32_t input_depth;  /* <= a_in * b_in: x is zero-padded (after the offset) to [a_in][b_in] */
    int32_t output_depth; /* <= a_out * b_out: the columns past it are dropped */
    int32_t a_out;
    int32_t a_in;
    int32_t b_out;
    int32_t b_in;
} tfc_kp_fc_dims;

typedef struct {
    const tfc_quant_multiplier *stage1; /* b_out, one per row q of b: X b^T -> t */
    const tfc_quant_multiplier *kron;   /* output_depth, the Kronecker part */
    tfc_quant_multiplier sparse;        /* DKP: the sparse part, one for the tensor; KP: unused */
} tfc_kp_fc_quant;

/* KP: W = A kron B given as a [a_out][a_in] and b [b_out][b_in] (TFLite's [out][in]); X = x + input_offset
 * zero-padded to [a_in][b_in]; c = p * b_out + q:
 *   t[q][i] = sat16(requant_stage1_q(sum_j X[i][j] b[q][j]))       (t stored [b_out][a_in])
 *   part1[c] = bias[c] + sum_i a[p][i] t[q][i]                      (kron multipliers)
 * Needs a_in * b_out int16 of scratch. */
int32_t tfc_kp_fully_connected_s8_get_buffer_size(const tfc_kp_fc_dims *dims); /* bytes */
tfc_status tfc_kp_fully_connected_s8(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                     const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                     const int8_t *b, const int32_t *bias, int16_t *scratch, int8_t *output);

/* DKP: KP plus a sparse s [input_depth][output_depth] (background 0):
 *   part2[c] = sum_i (x[i] + input_offset) s[i][c]                  (the sparse multiplier)
 * Needs output_depth int32 and then a_in * b_out int16 of scratch, aligned for int32. */
int32_t tfc_dkp_fully_connected_s8_get_buffer_size(const tfc_kp_fc_dims *dims); /* bytes */
tfc_status tfc_dkp_fully_connected_s8(const tfc_fc_params *params, const tfc_kp_fc_quant *quant,
                                      const tfc_kp_fc_dims *dims, const int8_t *input, const int8_t *a,
                                      const int8_t *b, const tfc_sparse_matrix *s, const int32_t *bias,
                                      void *scratch, int8_t *output);

/* ---- Fused structured embedding bags: TFC_{LMF,HMF,KP,DKP,SPARSE}_EMBEDDING_BAG. TFC_EMBEDDING_BAG
 *      over a [vocab][depth] table kept as int8 factors of zero point 0 and never formed: each part
 *      is the sum over the tokens t with ids[t] != pad_id of that part's row of ids[t], and
 *        out[d] = clamp(output_zero_point + requant_d(part1[d]) [+ requant_d(part2[d])], int8)
 *      the mean's 1/tokens folded into the multipliers. Sums wrap as int32. TFC_ARG_ERROR for an
 *      id outside [0, vocab): nothing is read past a factor. */
typedef struct {
    int32_t output_zero_point;
    int32_t pad_id;
} tfc_structured_bag_params;

typedef struct {
    int32_t vocab;
    int32_t depth;
    int32_t tokens;
    int32_t rank; /* the r of LMF and HMF (HMF: also the head rows) */
} tfc_mf_bag_dims;

typedef struct {
    const tfc_quant_multiplier *head;     /* HMF: depth, the head rows; LMF: unused */
    const tfc_quant_multiplier *low_rank; /* depth, the low-rank rows */
} tfc_mf_bag_quant;

/* LMF: row n of the table is u[n] v^T, u [vocab][rank], v [depth][rank]:
 *   part1[d] = sum_k (sum_t u[ids[t]][k]) v[d][k]                   (low_rank multipliers)
 * Needs rank int32 of scratch. */
int32_t tfc_lmf_embedding_bag_s8_get_buffer_size(const tfc_mf_bag_dims *dims); /* bytes */
tfc_status tfc_lmf_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                                    const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *u,
                                    const int8_t *v, int32_t *scratch, int8_t *output);

/* HMF: rows below rank are h [rank][depth], row n >= rank is u[n - rank] v^T, u [vocab - rank][rank],
 * v [depth][rank]; 0 < rank < vocab:
 *   part1[d] = sum over ids[t] < rank of h[ids[t]][d]               (head multipliers)
 *   part2[d] = sum_k (sum over ids[t] >= rank of u[ids[t] - rank][k]) v[d][k]   (low_rank multipliers)
 * Needs depth + rank int32 of scratch. */
int32_t tfc_hmf_embedding_bag_s8_get_buffer_size(const tfc_mf_bag_dims *dims); /* bytes */
tfc_status tfc_hmf_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                                    const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *h,
                                    const int8_t *u, const int8_t *v, int32_t *scratch, int8_t *output);

typedef struct {
    int32_t vocab;  /* <= a_in * b_in */
    int32_t depth;  /* <= a_out * b_out: the columns past it are dropped */
    int32_t tokens;
    int32_t a_in;
    int32_t a_out;
    int32_t b_in;
    int32_t b_out;
} tfc_kp_bag_dims;

typedef struct {
    const tfc_quant_multiplier *kron; /* depth, the Kronecker part */
    tfc_quant_multiplier sparse;      /* DKP: the sparse part, one for the tensor; KP: unused */
} tfc_kp_bag_quant;

/* KP: the table is a kron b, a [a_in][a_out] and b [b_in][b_out] (stored [in][out], as the table):
 * row n = a[n / b_in] kron b[n % b_in], entry d = p * b_out + q:
 *   part1[d] = sum_t a[ids[t] / b_in][p] b[ids[t] % b_in][q]        (kron multipliers)
 * Needs depth int32 of scratch. */
int32_t tfc_kp_embedding_bag_s8_get_buffer_size(const tfc_kp_bag_dims *dims); /* bytes */
tfc_status tfc_kp_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                                   const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a,
                                   const int8_t *b, int32_t *scratch, int8_t *output);

/* DKP: KP plus a sparse s [vocab][depth] (background 0):
 *   part2[d] = sum_t s[ids[t]][d]                                   (the sparse multiplier)
 * Needs 2 * depth int32 of scratch. */
int32_t tfc_dkp_embedding_bag_s8_get_buffer_size(const tfc_kp_bag_dims *dims); /* bytes */
tfc_status tfc_dkp_embedding_bag_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                                    const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a,
                                    const int8_t *b, const tfc_sparse_matrix *s, int32_t *scratch,
                                    int8_t *output);

/* SPARSE: the table itself sparse [vocab][depth] (background 0), one multiplier:
 *   part1[d] = sum_t table[ids[t]][d]
 * Needs depth int32 of scratch. */
int32_t tfc_sparse_embedding_bag_s8_get_buffer_size(const tfc_embedding_bag_dims *dims); /* bytes */
tfc_status tfc_sparse_embedding_bag_s8(const tfc_structured_bag_params *params, tfc_quant_multiplier multiplier,
                                       const tfc_embedding_bag_dims *dims, const int32_t *ids,
                                       const tfc_sparse_matrix *table, int32_t *scratch, int8_t *output);

/* ---- TFC_{LMF,HMF,KP,DKP}_GATHER: each token's row of a structured [vocab][depth] table, int8
 *      [tokens][depth]: row t is what the embedding bag of the same kind computes for the one token
 *      ids[t] (its multipliers prepared with tokens 1), the pad_id row the output zero point.
 *      Arguments and scratch those of tfc_{kind}_embedding_bag_s8, dims->tokens the window length;
 *      every id is checked before anything is written. */
int32_t tfc_lmf_gather_s8_get_buffer_size(const tfc_mf_bag_dims *dims); /* bytes */
tfc_status tfc_lmf_gather_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                             const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *u, const int8_t *v,
                             int32_t *scratch, int8_t *output);
int32_t tfc_hmf_gather_s8_get_buffer_size(const tfc_mf_bag_dims *dims); /* bytes */
tfc_status tfc_hmf_gather_s8(const tfc_structured_bag_params *params, const tfc_mf_bag_quant *quant,
                             const tfc_mf_bag_dims *dims, const int32_t *ids, const int8_t *h, const int8_t *u,
                             const int8_t *v, int32_t *scratch, int8_t *output);
int32_t tfc_kp_gather_s8_get_buffer_size(const tfc_kp_bag_dims *dims); /* bytes */
tfc_status tfc_kp_gather_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                            const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                            int32_t *scratch, int8_t *output);
int32_t tfc_dkp_gather_s8_get_buffer_size(const tfc_kp_bag_dims *dims); /* bytes */
tfc_status tfc_dkp_gather_s8(const tfc_structured_bag_params *params, const tfc_kp_bag_quant *quant,
                             const tfc_kp_bag_dims *dims, const int32_t *ids, const int8_t *a, const int8_t *b,
                             const tfc_sparse_matrix *s, int32_t *scratch, int8_t *output);

/* ---- A matrix W [rows][cols] used as x W, dense or structured, described for the recurrent ops
 *      (tfcompress/reference/structured_ops.py product_accs): the factors, int8 of zero point 0 and
 *      stored [out][in] as the fused fully connected ops take them, and the multipliers of its
 *      int16 first stage and of its one or two int32 parts (each requantised on its own):
 *        DENSE  w [cols][rows]; part1 = x w^T                                   (part1 multipliers)
 *        LMF    u [rank][rows], v [cols][rank]; t = sat16(requant_stage1(x u^T)), part1 = t v^T
 *        HMF    h [cols][rank], u [rank][rows - rank], v [cols][rank], 0 < rank < rows:
 *               part1 = x[:rank] h^T, t = sat16(requant_stage1(x[rank:] u^T)), part2 = t v^T
 *        KP     a [a_out][a_in], b [b_out][b_in] (a_in * b_in >= rows, a_out * b_out >= cols), as
 *               tfc_kp_fully_connected_s8: stage1 has b_out multipliers, part1 is the Kronecker part
 *        DKP    KP plus s [rows][cols] (background 0): part2 = x s              (the sparse multiplier)
 *      Factors a kind does not use are ignored (may be NULL). */
typedef enum {
    TFC_MATRIX_DENSE = 0, /* the order of tfcompress.reference.custom_options.RECURRENT_KINDS */
    TFC_MATRIX_LMF = 1,
    TFC_MATRIX_HMF = 2,
    TFC_MATRIX_KP = 3,
    TFC_MATRIX_DKP = 4
} tfc_matrix_kind;

typedef struct {
    tfc_matrix_kind kind;
    int32_t rows;  /* inputs */
    int32_t cols;  /* outputs */
    int32_t rank;  /* LMF, HMF */
    int32_t a_out; /* KP, DKP */
    int32_t a_in;
    int32_t b_out;
    int32_t b_in;
    const int8_t *w;
    const int8_t *h;
    const int8_t *u;
    const int8_t *v;
    const int8_t *a;
    const int8_t *b;
    const tfc_sparse_matrix *s;         /* DKP */
    const tfc_quant_multiplier *stage1; /* LMF, HMF: 1; KP, DKP: b_out */
    const tfc_quant_multiplier *part1;  /* cols: DENSE w, LMF low rank, HMF head, KP and DKP Kronecker */
    const tfc_quant_multiplier *part2;  /* cols: HMF low rank */
    tfc_quant_multiplier sparse;        /* DKP: S's part, one for the tensor */
} tfc_structured_matrix;

/* ---- TFC_LSTM and TFC_GRU (tfcompress/reference/recurrent_ops.py): a whole recurrent encoder over
 *      x int8 [steps][input_depth] (zero point -input_offset), from h = 0 and a zero state, writing
 *      the last hidden state int8 [units] (zero point 0). W [input_depth][G units] and U [units][G units]
 *      (G = 4 gates i, f, g, o for the LSTM, 3 gates z, r, n for the GRU, each `units` columns) have
 *      their parts requantised to the gates' Q3.12 (multipliers to 2^-12), summed exactly with the
 *      int32 biases (Q3.12, NULL: zeros); sigmoid and tanh are gemmlowp's fixed point to Q0.15
 *      (tfc_sigmoid_q15, tfc_tanh_q15). Every step, with rshift RoundingDivideByPOT and sat16 clamping:
 *        LSTM  pre = sat16(X + R); c = sat16(rshift(f c, 15) + rshift(i g, 15 + cell_bits));
 *              h = clamp8(requant_hidden(o tanh_{cell_bits}(c)))        (c int16 at 2^(cell_bits - 15))
 *        GRU   z, r = sigmoid(sat16(X + R)); n = tanh(sat16(X_n + rshift(r sat16(R_n), 15)));
 *              state = sat16(n + rshift(z (state - n), 15)); h = clamp8(requant_hidden(state))  (Q0.15)
 *      where X = bias + x_t W and R = [recurrent_bias +] h U. Needs *_get_buffer_size bytes of scratch
 *      aligned for int32 (the first stages, DKP's sparse sums, the state and the previous h).
 *      TFC_ARG_ERROR for inconsistent dimensions, multipliers shifting by more than 31, or damaged S. */
typedef struct {
    int32_t steps;       /* T, the window */
    int32_t input_depth; /* D */
    int32_t units;       /* H */
} tfc_recurrent_dims;

typedef struct {
    int32_t input_offset;        /* -x zero point, in [-127, 128] */
    int32_t cell_bits;           /* LSTM: integer bits of the cell state, [0, 15]; GRU: unused */
    tfc_quant_multiplier hidden; /* LSTM: 2^-30 / s_h (o tanh(c) is Q0.30); GRU: 2^-15 / s_h */
} tfc_recurrent_params;

int32_t tfc_lstm_s8_get_buffer_size(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                                    const tfc_structured_matrix *u); /* bytes */
tfc_status tfc_lstm_s8(const tfc_recurrent_params *params, const tfc_recurrent_dims *dims, const int8_t *input,
                       const tfc_structured_matrix *w, const tfc_structured_matrix *u, const int32_t *bias,
                       void *scratch, int8_t *output);
int32_t tfc_gru_s8_get_buffer_size(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                                   const tfc_structured_matrix *u); /* bytes */
tfc_status tfc_gru_s8(const tfc_recurrent_params *params, const tfc_recurrent_dims *dims, const int8_t *input,
                      const tfc_structured_matrix *w, const tfc_structured_matrix *u, const int32_t *bias,
                      const int32_t *recurrent_bias, void *scratch, int8_t *output);

/* gemmlowp's logistic of x Q3.12 and tanh of x with integer_bits ([0, 15], clamped), each of
 * x << 16 in Q(bits).(31 - bits), rounded (RoundingDivideByPOT 16) and saturated to Q0.15; computed
 * in int32 fixed point (no float, no table). */
int16_t tfc_sigmoid_q15(int16_t x);
int16_t tfc_tanh_q15(int16_t x, int32_t integer_bits);

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
