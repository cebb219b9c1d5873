/*
 * Host test driver: runs kernels on cases read from stdin, writes the outputs to stdout.
 * Built with AddressSanitizer and UBSan by tests/firmware/test_kernels.py; every buffer is
 * allocated at its exact size so an out-of-bounds access is caught.
 *
 * Stream of little-endian int32 words: op (0 ends), parameter count, parameters, buffer count,
 * then per buffer its byte length and bytes (an empty buffer is NULL), then the output byte
 * length. Answer per case: the kernel's status, then the output bytes. tests/firmware/
 * test_kernels.py and test_recurrent_kernels.py write each op's parameters in the order its
 * case reads them here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc_kernels.h"

enum {
    OP_FC = 1, OP_MEAN = 2, OP_ADD = 3, OP_SUB = 4, OP_MUL = 5, OP_LOOKUP = 6, OP_EMBEDDING_BAG = 7,
    OP_BINARY_S32 = 8, OP_STRIDED_COPY = 9, OP_GATHER_ROWS = 10, OP_QUANTIZE_F32 = 11, OP_CAST_S32_F32 = 12,
    OP_SPARSE_GATHER = 13, OP_SPARSE_FC = 14, OP_LMF_FC = 15, OP_HMF_FC = 16, OP_KP_FC = 17, OP_DKP_FC = 18,
    OP_LMF_BAG = 19, OP_HMF_BAG = 20, OP_KP_BAG = 21, OP_DKP_BAG = 22, OP_SPARSE_BAG = 23,
    OP_SIGMOID_TANH = 24, OP_LSTM = 25, OP_GRU = 26, OP_LMF_GATHER = 27, OP_HMF_GATHER = 28, OP_KP_GATHER = 29,
    OP_DKP_GATHER = 30
};

static tfc_sparse_matrix sparse_at(const int32_t *p, const void *data)
{
    tfc_sparse_matrix m;
    m.rows = p[0];
    m.cols = p[1];
    m.nnz = p[2];
    m.format = (tfc_sparse_format)p[3];
    m.row_bytes = p[4];
    m.col_bytes = p[5];
    m.background = p[6];
    m.data = data;
    return m;
}
enum { MAX_PARAMS = 1 << 16, MAX_BUFFERS = 12 };

static int32_t read_word(void)
{
    int32_t w;
    if (fread(&w, sizeof w, 1, stdin) != 1) {
        fprintf(stderr, "kernel_driver: truncated input\n");
        exit(2);
    }
    return w;
}

static void *read_buffer(int32_t *length)
{
    *length = read_word();
    if (*length < 0) {
        fprintf(stderr, "kernel_driver: negative buffer length\n");
        exit(2);
    }
    if (*length == 0) {
        return NULL;
    }
    void *data = malloc((size_t)*length);
    if (data == NULL || fread(data, 1, (size_t)*length, stdin) != (size_t)*length) {
        fprintf(stderr, "kernel_driver: cannot read a buffer of %d bytes\n", (int)*length);
        exit(2);
    }
    return data;
}

static tfc_quant_multiplier multiplier_at(const int32_t *p)
{
    tfc_quant_multiplier m;
    m.multiplier = p[0];
    m.shift = p[1];
    return m;
}

/* FULLY_CONNECTED's first 7 words: batches, input and output depth, offsets, activation range. */
static void fc_at(const int32_t *p, tfc_fc_dims *dims, tfc_fc_params *params)
{
    dims->batches = p[0];
    dims->input_depth = p[1];
    dims->output_depth = p[2];
    params->input_offset = p[3];
    params->output_offset = p[4];
    params->activation.min = p[5];
    params->activation.max = p[6];
}

/* `count` (multiplier, shift) pairs, allocated; NULL when the words do not hold them. */
static tfc_quant_multiplier *multipliers_at(const int32_t *p, int32_t words, int32_t count)
{
    if (count < 1 || words != 2 * count) {
        return NULL;
    }
    tfc_quant_multiplier *m = malloc(sizeof *m * (size_t)count);
    for (int32_t c = 0; m != NULL && c < count; ++c) {
        m[c] = multiplier_at(p + 2 * c);
    }
    return m;
}

/* ---- The structured ops: parameters read in order by a cursor; the multiplier arrays and the
 *      scratch allocated at their exact sizes (and freed after the call) so ASan sees overreads. */
typedef struct {
    const int32_t *p;
    int32_t left;
    void *owned[16];
    int32_t owned_count;
} cursor;

static int32_t take(cursor *c)
{
    if (c->left < 1) {
        fprintf(stderr, "kernel_driver: too few parameters\n");
        exit(2);
    }
    --c->left;
    return *c->p++;
}

static void *own(cursor *c, size_t bytes)
{
    void *data = malloc(bytes > 0 ? bytes : 1u);
    if (data == NULL || c->owned_count == (int32_t)(sizeof c->owned / sizeof c->owned[0])) {
        fprintf(stderr, "kernel_driver: out of memory\n");
        exit(2);
    }
    c->owned[c->owned_count++] = data;
    return data;
}

static tfc_quant_multiplier take_multiplier(cursor *c)
{
    tfc_quant_multiplier m;
    m.multiplier = take(c);
    m.shift = take(c);
    return m;
}

static const tfc_quant_multiplier *take_multipliers(cursor *c, int32_t count)
{
    tfc_quant_multiplier *m = own(c, sizeof *m * (size_t)(count > 0 ? count : 0));
    for (int32_t i = 0; i < count; ++i) {
        m[i] = take_multiplier(c);
    }
    return m;
}

static tfc_sparse_matrix take_sparse(cursor *c, const void *data)
{
    static const uint8_t empty = 0; /* nnz 0: no bytes, but a pointer */
    const tfc_sparse_matrix m = sparse_at(c->p, data != NULL ? data : (const void *)&empty);
    for (int i = 0; i < 7; ++i) {
        (void)take(c);
    }
    return m;
}

/* FC words: batches, input and output depth, input and output offset, activation range. */
static void take_fc(cursor *c, tfc_fc_params *params, int32_t *batches, int32_t *input_depth,
                    int32_t *output_depth)
{
    *batches = take(c);
    *input_depth = take(c);
    *output_depth = take(c);
    params->input_offset = take(c);
    params->output_offset = take(c);
    params->activation.min = take(c);
    params->activation.max = take(c);
}

static tfc_status run_structured_fc(int32_t op, cursor *c, void *const *buf, int8_t *out)
{
    tfc_fc_params params;
    int32_t batches, input_depth, output_depth;
    take_fc(c, &params, &batches, &input_depth, &output_depth);
    if (op == OP_LMF_FC || op == OP_HMF_FC) {
        const tfc_mf_fc_dims dims = {batches, input_depth, output_depth, take(c)};
        tfc_mf_fc_quant quant;
        quant.stage1 = take_multiplier(c);
        quant.head = op == OP_HMF_FC ? take_multipliers(c, output_depth) : NULL;
        quant.low_rank = take_multipliers(c, output_depth);
        if (op == OP_LMF_FC) {
            int16_t *scratch = own(c, (size_t)tfc_lmf_fully_connected_s8_get_buffer_size(&dims));
            return tfc_lmf_fully_connected_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], buf[3], scratch, out);
        }
        int16_t *scratch = own(c, (size_t)tfc_hmf_fully_connected_s8_get_buffer_size(&dims));
        return tfc_hmf_fully_connected_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], buf[3], buf[4], scratch,
                                          out);
    }
    tfc_kp_fc_dims dims;
    dims.batches = batches;
    dims.input_depth = input_depth;
    dims.output_depth = output_depth;
    dims.a_out = take(c);
    dims.a_in = take(c);
    dims.b_out = take(c);
    dims.b_in = take(c);
    tfc_kp_fc_quant quant;
    tfc_sparse_matrix s;
    quant.sparse.multiplier = quant.sparse.shift = 0;
    if (op == OP_DKP_FC) {
        s = take_sparse(c, buf[3]);
        quant.sparse = take_multiplier(c);
    }
    quant.stage1 = take_multipliers(c, dims.b_out);
    quant.kron = take_multipliers(c, output_depth);
    if (op == OP_KP_FC) {
        int16_t *scratch = own(c, (size_t)tfc_kp_fully_connected_s8_get_buffer_size(&dims));
        return tfc_kp_fully_connected_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], buf[3], scratch, out);
    }
    void *scratch = own(c, (size_t)tfc_dkp_fully_connected_s8_get_buffer_size(&dims));
    return tfc_dkp_fully_connected_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], &s, buf[4], scratch, out);
}

/* Bag words: the output zero point and the pad id. */
static tfc_structured_bag_params take_bag(cursor *c)
{
    tfc_structured_bag_params params;
    params.output_zero_point = take(c);
    params.pad_id = take(c);
    return params;
}

/* The bags, and the gathers (`gather`: the same words, op the bag's code, out [tokens][depth]). */
static tfc_status run_structured_bag(int32_t op, int gather, cursor *c, void *const *buf, int8_t *out)
{
    const int32_t vocab = take(c), depth = take(c), tokens = take(c); /* a full declarator is a sequence point */
    if (op == OP_SPARSE_BAG) {
        const tfc_embedding_bag_dims dims = {vocab, depth, tokens};
        const tfc_structured_bag_params params = take_bag(c);
        const tfc_quant_multiplier multiplier = take_multiplier(c);
        const tfc_sparse_matrix table = take_sparse(c, buf[1]);
        int32_t *scratch = own(c, (size_t)tfc_sparse_embedding_bag_s8_get_buffer_size(&dims));
        return tfc_sparse_embedding_bag_s8(&params, multiplier, &dims, buf[0], &table, scratch, out);
    }
    if (op == OP_LMF_BAG || op == OP_HMF_BAG) {
        const tfc_mf_bag_dims dims = {vocab, depth, tokens, take(c)};
        const tfc_structured_bag_params params = take_bag(c);
        tfc_mf_bag_quant quant;
        quant.head = op == OP_HMF_BAG ? take_multipliers(c, depth) : NULL;
        quant.low_rank = take_multipliers(c, depth);
        if (op == OP_LMF_BAG && gather) {
            int32_t *scratch = own(c, (size_t)tfc_lmf_gather_s8_get_buffer_size(&dims));
            return tfc_lmf_gather_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], scratch, out);
        }
        if (op == OP_LMF_BAG) {
            int32_t *scratch = own(c, (size_t)tfc_lmf_embedding_bag_s8_get_buffer_size(&dims));
            return tfc_lmf_embedding_bag_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], scratch, out);
        }
        if (gather) {
            int32_t *scratch = own(c, (size_t)tfc_hmf_gather_s8_get_buffer_size(&dims));
            return tfc_hmf_gather_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], buf[3], scratch, out);
        }
        int32_t *scratch = own(c, (size_t)tfc_hmf_embedding_bag_s8_get_buffer_size(&dims));
        return tfc_hmf_embedding_bag_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], buf[3], scratch, out);
    }
    tfc_kp_bag_dims dims;
    dims.vocab = vocab;
    dims.depth = depth;
    dims.tokens = tokens;
    dims.a_in = take(c);
    dims.a_out = take(c);
    dims.b_in = take(c);
    dims.b_out = take(c);
    const tfc_structured_bag_params params = take_bag(c);
    tfc_kp_bag_quant quant;
    tfc_sparse_matrix s;
    quant.sparse.multiplier = quant.sparse.shift = 0;
    if (op == OP_DKP_BAG) {
        s = take_sparse(c, buf[3]);
        quant.sparse = take_multiplier(c);
    }
    quant.kron = take_multipliers(c, depth);
    if (op == OP_KP_BAG && gather) {
        int32_t *scratch = own(c, (size_t)tfc_kp_gather_s8_get_buffer_size(&dims));
        return tfc_kp_gather_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], scratch, out);
    }
    if (op == OP_KP_BAG) {
        int32_t *scratch = own(c, (size_t)tfc_kp_embedding_bag_s8_get_buffer_size(&dims));
        return tfc_kp_embedding_bag_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], scratch, out);
    }
    if (gather) {
        int32_t *scratch = own(c, (size_t)tfc_dkp_gather_s8_get_buffer_size(&dims));
        return tfc_dkp_gather_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], &s, scratch, out);
    }
    int32_t *scratch = own(c, (size_t)tfc_dkp_embedding_bag_s8_get_buffer_size(&dims));
    return tfc_dkp_embedding_bag_s8(&params, &quant, &dims, buf[0], buf[1], buf[2], &s, scratch, out);
}

/* ---- The recurrent ops. A matrix's words: kind, rows, cols, rank, a_out, a_in, b_out, b_in; DKP: S's
 *      7 words and its multiplier; then counted multiplier lists: stage1, part1, part2. Its buffers,
 *      taken in order from `next`: the factors of its kind, then (DKP) S's bytes. */
static const tfc_quant_multiplier *take_counted_multipliers(cursor *c)
{
    const int32_t count = take(c);
    return count > 0 ? take_multipliers(c, count) : NULL;
}

static void take_matrix(cursor *c, void *const *buf, int32_t *next, tfc_structured_matrix *m, tfc_sparse_matrix *s)
{
    memset(m, 0, sizeof *m);
    m->kind = (tfc_matrix_kind)take(c);
    m->rows = take(c);
    m->cols = take(c);
    m->rank = take(c);
    m->a_out = take(c);
    m->a_in = take(c);
    m->b_out = take(c);
    m->b_in = take(c);
    if (m->kind == TFC_MATRIX_DKP) {
        *s = take_sparse(c, buf[*next + 2]);
        m->s = s;
        m->sparse = take_multiplier(c);
    }
    m->stage1 = take_counted_multipliers(c);
    m->part1 = take_counted_multipliers(c);
    m->part2 = take_counted_multipliers(c);
    switch (m->kind) {
    case TFC_MATRIX_DENSE:
        m->w = buf[(*next)++];
        break;
    case TFC_MATRIX_LMF:
        m->u = buf[(*next)++];
        m->v = buf[(*next)++];
        break;
    case TFC_MATRIX_HMF:
        m->h = buf[(*next)++];
        m->u = buf[(*next)++];
        m->v = buf[(*next)++];
        break;
    default:
        m->a = buf[(*next)++];
        m->b = buf[(*next)++];
        if (m->kind == TFC_MATRIX_DKP) {
            ++*next;
        }
    }
}

/* Words: steps, input depth, units, input offset, cell bits, the hidden multiplier, then W and U.
 * Buffers: x, W's, U's, bias, recurrent bias (GRU). */
static tfc_status run_recurrent(int32_t op, cursor *c, void *const *buf, int8_t *out)
{
    tfc_recurrent_dims dims;
    tfc_recurrent_params params;
    dims.steps = take(c);
    dims.input_depth = take(c);
    dims.units = take(c);
    params.input_offset = take(c);
    params.cell_bits = take(c);
    params.hidden = take_multiplier(c);
    tfc_structured_matrix w, u;
    tfc_sparse_matrix s_w, s_u;
    int32_t next = 1;
    take_matrix(c, buf, &next, &w, &s_w);
    take_matrix(c, buf, &next, &u, &s_u);
    if (next + (op == OP_GRU ? 2 : 1) > MAX_BUFFERS) {
        fprintf(stderr, "kernel_driver: too many buffers\n");
        exit(2);
    }
    if (op == OP_LSTM) {
        void *scratch = own(c, (size_t)tfc_lstm_s8_get_buffer_size(&dims, &w, &u));
        return tfc_lstm_s8(&params, &dims, buf[0], &w, &u, buf[next], scratch, out);
    }
    void *scratch = own(c, (size_t)tfc_gru_s8_get_buffer_size(&dims, &w, &u));
    return tfc_gru_s8(&params, &dims, buf[0], &w, &u, buf[next], buf[next + 1], scratch, out);
}

/* Words: 0 (sigmoid) or 1 (tanh), integer bits, count; buffer: count int16; out: count int16. */
static tfc_status run_sigmoid_tanh(cursor *c, void *const *buf, int8_t *out)
{
    const int32_t function = take(c), bits = take(c), count = take(c);
    const int16_t *x = buf[0];
    int16_t *y = (int16_t *)(void *)out;
    for (int32_t i = 0; i < count; ++i) {
        y[i] = function == 0 ? tfc_sigmoid_q15(x[i]) : tfc_tanh_q15(x[i], bits);
    }
    return TFC_OK;
}

static tfc_status run_structured(int32_t op, const int32_t *p, int32_t count, void *const *buf, int8_t *out)
{
    cursor c;
    c.p = p;
    c.left = count;
    c.owned_count = 0;
    tfc_status status;
    if (op <= OP_DKP_FC) {
        status = run_structured_fc(op, &c, buf, out);
    } else if (op <= OP_SPARSE_BAG) {
        status = run_structured_bag(op, 0, &c, buf, out);
    } else if (op == OP_SIGMOID_TANH) {
        status = run_sigmoid_tanh(&c, buf, out);
    } else if (op == OP_LSTM || op == OP_GRU) {
        status = run_recurrent(op, &c, buf, out);
    } else {
        status = run_structured_bag(op - OP_LMF_GATHER + OP_LMF_BAG, 1, &c, buf, out);
    }
    if (c.left != 0) {
        fprintf(stderr, "kernel_driver: %d parameters left over by op %d\n", (int)c.left, (int)op);
        exit(2);
    }
    for (int32_t i = 0; i < c.owned_count; ++i) {
        free(c.owned[i]);
    }
    return status;
}

static tfc_status run(int32_t op, const int32_t *p, int32_t count, void *const *buf, int8_t *out)
{
    if (op >= OP_LMF_FC && op <= OP_DKP_GATHER) {
        return run_structured(op, p, count, buf, out);
    }
    if (op == OP_FC && count >= 7) {
        tfc_fc_dims dims;
        tfc_fc_params params;
        fc_at(p, &dims, &params);
        tfc_quant_multiplier *per_channel = multipliers_at(p + 7, count - 7, dims.output_depth);
        if (per_channel == NULL) {
            return TFC_ARG_ERROR;
        }
        const tfc_status status = tfc_fully_connected_s8(&params, per_channel, &dims, buf[0], buf[1], buf[2], out);
        free(per_channel);
        return status;
    }
    if (op == OP_MEAN && count == 7) {
        tfc_mean_dims dims;
        tfc_mean_params params;
        dims.outer = p[0];
        dims.count = p[1];
        dims.inner = p[2];
        params.input_zero_point = p[3];
        params.output_zero_point = p[4];
        params.multiplier = multiplier_at(p + 5);
        return tfc_mean_s8(&params, &dims, buf[0], out);
    }
    if ((op == OP_ADD || op == OP_SUB || op == OP_MUL) && count == 25) {
        tfc_broadcast_dims dims;
        tfc_elementwise_params params;
        memcpy(dims.shape, p, sizeof dims.shape);
        memcpy(dims.strides_a, p + 4, sizeof dims.strides_a);
        memcpy(dims.strides_b, p + 8, sizeof dims.strides_b);
        params.offset_a = p[12];
        params.offset_b = p[13];
        params.output_offset = p[14];
        params.left_shift = p[15];
        params.input_a = multiplier_at(p + 16);
        params.input_b = multiplier_at(p + 18);
        params.output = multiplier_at(p + 20);
        params.activation.min = p[22];
        params.activation.max = p[23];
        (void)p[24];
        if (op == OP_ADD) {
            return tfc_add_s8(&params, &dims, buf[0], buf[1], out);
        }
        return op == OP_SUB ? tfc_sub_s8(&params, &dims, buf[0], buf[1], out)
                            : tfc_mul_s8(&params, &dims, buf[0], buf[1], out);
    }
    if (op == OP_EMBEDDING_BAG && count == 8) {
        tfc_embedding_bag_dims dims;
        tfc_embedding_bag_params params;
        dims.vocab = p[0];
        dims.depth = p[1];
        dims.tokens = p[2];
        params.table_zero_point = p[3];
        params.output_zero_point = p[4];
        params.pad_id = p[5];
        params.multiplier = multiplier_at(p + 6);
        const int32_t size = tfc_embedding_bag_s8_get_buffer_size(&dims);
        int32_t *scratch = malloc(size > 0 ? (size_t)size : 1u);
        const tfc_status status = tfc_embedding_bag_s8(&params, &dims, buf[0], buf[1], scratch, out);
        free(scratch);
        return status;
    }
    if (op == OP_BINARY_S32 && count == 13) {
        tfc_broadcast_dims dims;
        memcpy(dims.shape, p + 1, sizeof dims.shape);
        memcpy(dims.strides_a, p + 5, sizeof dims.strides_a);
        memcpy(dims.strides_b, p + 9, sizeof dims.strides_b);
        return tfc_binary_s32((tfc_int32_op)p[0], &dims, buf[0], buf[1], (int32_t *)(void *)out);
    }
    if (op == OP_STRIDED_COPY && count == 18) {
        tfc_copy_plan plan;
        memcpy(plan.shape, p, sizeof plan.shape);
        memcpy(plan.in_strides, p + 5, sizeof plan.in_strides);
        memcpy(plan.out_strides, p + 10, sizeof plan.out_strides);
        plan.in_offset = p[15];
        plan.out_offset = p[16];
        plan.element_size = p[17];
        return tfc_strided_copy(&plan, buf[0], out);
    }
    if (op == OP_GATHER_ROWS && count == 3) {
        return tfc_gather_rows(buf[0], p[0], p[1], buf[1], p[2], out);
    }
    if (op == OP_QUANTIZE_F32 && count == 3) {
        float scale;
        memcpy(&scale, &p[1], sizeof scale);
        return tfc_quantize_f32_s8(p[0], scale, p[2], buf[0], out);
    }
    if (op == OP_CAST_S32_F32 && count == 1) {
        return tfc_cast_s32_f32(p[0], buf[0], (float *)(void *)out);
    }
    if (op == OP_SPARSE_GATHER && count == 8) {
        static const uint8_t empty = 0;
        const tfc_sparse_matrix m = sparse_at(p, buf[0] != NULL ? buf[0] : (const void *)&empty);
        return tfc_sparse_gather_s8(&m, buf[1], p[7], out);
    }
    if (op == OP_SPARSE_FC && count >= 14) {
        tfc_fc_dims dims;
        tfc_fc_params params;
        fc_at(p, &dims, &params);
        static const uint8_t empty = 0;
        const tfc_sparse_matrix m = sparse_at(p + 7, buf[1] != NULL ? buf[1] : (const void *)&empty);
        tfc_quant_multiplier *per_channel = multipliers_at(p + 14, count - 14, dims.output_depth);
        if (per_channel == NULL) {
            return TFC_ARG_ERROR;
        }
        const int32_t size = tfc_sparse_fully_connected_s8_get_buffer_size(&dims);
        int32_t *scratch = malloc(size > 0 ? (size_t)size : 1u);
        const tfc_status status = tfc_sparse_fully_connected_s8(&params, per_channel, &dims, buf[0], &m, buf[2],
                                                                scratch, out);
        free(scratch);
        free(per_channel);
        return status;
    }
    if (op == OP_LOOKUP && count == 1) {
        return tfc_lookup_s8(buf[0], p[0], buf[1], out);
    }
    fprintf(stderr, "kernel_driver: unknown op %d with %d parameters\n", (int)op, (int)count);
    exit(2);
}

int main(void)
{
    static int32_t params[MAX_PARAMS];
    for (;;) {
        const int32_t op = read_word();
        if (op == 0) {
            return 0;
        }
        const int32_t count = read_word();
        if (count < 0 || count > MAX_PARAMS) {
            fprintf(stderr, "kernel_driver: bad parameter count %d\n", (int)count);
            return 2;
        }
        for (int32_t i = 0; i < count; ++i) {
            params[i] = read_word();
        }
        void *buffers[MAX_BUFFERS] = {NULL};
        const int32_t buffer_count = read_word();
        if (buffer_count < 0 || buffer_count > MAX_BUFFERS) {
            fprintf(stderr, "kernel_driver: bad buffer count %d\n", (int)buffer_count);
            return 2;
        }
        for (int32_t i = 0; i < buffer_count; ++i) {
            int32_t length;
            buffers[i] = read_buffer(&length);
        }
        int32_t out_length;
        out_length = read_word();
        int8_t *out = malloc(out_length > 0 ? (size_t)out_length : 1u);
        const int32_t status = run(op, params, count, buffers, out);
        fwrite(&status, sizeof status, 1, stdout);
        fwrite(out, 1, (size_t)(out_length > 0 ? out_length : 0), stdout);
        free(out);
        for (int32_t i = 0; i < buffer_count; ++i) {
            free(buffers[i]);
        }
    }
}
