/*
 * Host test driver: runs kernels on cases read from stdin, writes the outputs to stdout.
 * Built with AddressSanitizer and UBSan by tests/firmware/test_kernels.py; every buffer is
 * allocated at its exact size so an out-of-bounds access is caught.
 *
 * Stream of little-endian int32 words: op (0 ends), parameter count, parameters, buffer count,
 * then per buffer its byte length and bytes, then the output byte length. Answer per case:
 * the kernel's status, then the output bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfc_kernels.h"

enum {
    OP_FC = 1, OP_MEAN = 2, OP_ADD = 3, OP_SUB = 4, OP_MUL = 5, OP_LOOKUP = 6, OP_EMBEDDING_BAG = 7,
    OP_BINARY_S32 = 8, OP_STRIDED_COPY = 9, OP_GATHER_ROWS = 10, OP_QUANTIZE_F32 = 11, OP_CAST_S32_F32 = 12,
    OP_SPARSE_GATHER = 13, OP_SPARSE_FC = 14
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
enum { MAX_PARAMS = 1 << 16, MAX_BUFFERS = 4 };

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

static tfc_status run(int32_t op, const int32_t *p, int32_t count, void *const *buf, int8_t *out)
{
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
        void *buffers[MAX_BUFFERS] = {NULL, NULL, NULL, NULL};
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
