/* TFC_LSTM and TFC_GRU: a whole recurrent encoder in one call (tfcompress/reference/recurrent_ops.py).
 * Every step runs the first stages of x_t W and h U (structured_common.c), then unit by unit its G
 * gate columns: each column's parts requantised to Q3.12 and summed with the biases in int64, the
 * gates through gemmlowp's sigmoid / tanh (fixed_point.c), the state update in int16, the new h
 * requantised to int8. The previous h stays in the scratch until every unit has read it. */
#include <stddef.h>
#include <string.h>

#include "fixed_point.h"
#include "structured_common.h"
#include "tfc_kernels.h"

enum { LSTM_GATES = 4, GRU_GATES = 3, STATE_BITS = 15, GATE_INTEGER_BITS = 3, MAX_CELL_BITS = 15 };

static int16_t saturate_s16(int64_t x)
{
    return (int16_t)(x < INT16_MIN ? INT16_MIN : x > INT16_MAX ? INT16_MAX : x);
}

static int8_t saturate_s8(int32_t x)
{
    return (int8_t)(x < INT8_MIN ? INT8_MIN : x > INT8_MAX ? INT8_MAX : x);
}

/* The caller's scratch, carved: int32 first, then int16, then int8 (aligned for int32 as a whole). */
typedef struct {
    uint32_t *sparse_w; /* DKP W: cols */
    uint32_t *sparse_u; /* DKP U: cols */
    int16_t *t_w;       /* W's first stage */
    int16_t *t_u;       /* U's first stage */
    int16_t *state;     /* units: the LSTM cell state or the GRU state */
    int8_t *h;          /* units: the previous hidden state */
} workspace;

static int32_t sparse_count(const tfc_structured_matrix *m)
{
    return m->kind == TFC_MATRIX_DKP ? m->cols : 0;
}

/* Dimensions and matrices consistent: W [input_depth][gates units], U [units][gates units]. */
static int shapes_valid(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w, const tfc_structured_matrix *u,
                        int32_t gates)
{
    return dims != NULL && dims->steps >= 1 && dims->input_depth >= 1 && dims->units >= 1 &&
           (int64_t)dims->units * gates <= INT32_MAX / 4 && tfc_structured_valid(w) && tfc_structured_valid(u) &&
           w->rows == dims->input_depth && u->rows == dims->units && w->cols == gates * dims->units &&
           u->cols == w->cols;
}

static int32_t buffer_size(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                           const tfc_structured_matrix *u, int32_t gates)
{
    if (!shapes_valid(dims, w, u, gates)) {
        return 0;
    }
    const int64_t bytes = (int64_t)sizeof(uint32_t) * (sparse_count(w) + sparse_count(u)) +
                          (int64_t)sizeof(int16_t) *
                              ((int64_t)tfc_structured_stage1_size(w) + tfc_structured_stage1_size(u) + dims->units) +
                          dims->units;
    return bytes <= INT32_MAX ? (int32_t)bytes : 0;
}

static workspace carve(void *scratch, const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                       const tfc_structured_matrix *u)
{
    workspace ws;
    ws.sparse_w = (uint32_t *)scratch;
    ws.sparse_u = ws.sparse_w + sparse_count(w);
    ws.t_w = (int16_t *)(void *)(ws.sparse_u + sparse_count(u));
    ws.t_u = ws.t_w + tfc_structured_stage1_size(w);
    ws.state = ws.t_u + tfc_structured_stage1_size(u);
    ws.h = (int8_t *)(void *)(ws.state + dims->units);
    return ws;
}

static int params_valid(const tfc_recurrent_params *params, int lstm)
{
    return params != NULL && -INT8_MAX <= params->input_offset && params->input_offset <= -INT8_MIN &&
           tfc_multipliers_valid(&params->hidden, 1) &&
           (!lstm || (params->cell_bits >= 0 && params->cell_bits <= MAX_CELL_BITS));
}

/* The first stages of step `step`: x_t W (x_t plus the input offset) and h U (h of zero point 0). */
static int step_stage1(const tfc_recurrent_params *params, const int8_t *x, const tfc_structured_matrix *w,
                       const tfc_structured_matrix *u, const workspace *ws)
{
    tfc_structured_stage1(w, x, params->input_offset, ws->t_w);
    tfc_structured_stage1(u, ws->h, 0, ws->t_u);
    return (w->kind != TFC_MATRIX_DKP || tfc_structured_sparse_sums(w, x, params->input_offset, ws->sparse_w)) &&
           (u->kind != TFC_MATRIX_DKP || tfc_structured_sparse_sums(u, ws->h, 0, ws->sparse_u));
}

/* Column c of x_t W + bias and of h U (+ recurrent bias), Q3.12, exact. */
static int64_t input_gate(const tfc_recurrent_params *params, const int8_t *x, const tfc_structured_matrix *w,
                          const int32_t *bias, const workspace *ws, int32_t c)
{
    return (bias != NULL ? bias[c] : 0) +
           tfc_structured_column(w, x, params->input_offset, ws->t_w, ws->sparse_w, c, 0u);
}

static int64_t recurrent_gate(const tfc_structured_matrix *u, const int32_t *recurrent_bias, const workspace *ws,
                              int32_t c)
{
    return (recurrent_bias != NULL ? recurrent_bias[c] : 0) + tfc_structured_column(u, ws->h, 0, ws->t_u,
                                                                                     ws->sparse_u, c, 0u);
}

int32_t tfc_lstm_s8_get_buffer_size(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                                    const tfc_structured_matrix *u)
{
    return buffer_size(dims, w, u, LSTM_GATES);
}

tfc_status tfc_lstm_s8(const tfc_recurrent_params *params, const tfc_recurrent_dims *dims, const int8_t *input,
                       const tfc_structured_matrix *w, const tfc_structured_matrix *u, const int32_t *bias,
                       void *scratch, int8_t *output)
{
    if (!params_valid(params, 1) || !shapes_valid(dims, w, u, LSTM_GATES) || input == NULL || scratch == NULL ||
        output == NULL) {
        return TFC_ARG_ERROR;
    }
    const int32_t units = dims->units, cell_bits = params->cell_bits;
    const workspace ws = carve(scratch, dims, w, u);
    memset(ws.state, 0, sizeof *ws.state * (size_t)units);
    memset(ws.h, 0, (size_t)units);
    for (int32_t step = 0; step < dims->steps; ++step) {
        const int8_t *x = input + (size_t)step * (size_t)dims->input_depth;
        if (!step_stage1(params, x, w, u, &ws)) {
            return TFC_ARG_ERROR;
        }
        for (int32_t j = 0; j < units; ++j) {
            int16_t pre[LSTM_GATES]; /* i, f, g, o */
            for (int32_t g = 0; g < LSTM_GATES; ++g) {
                const int32_t c = g * units + j;
                pre[g] = saturate_s16(input_gate(params, x, w, bias, &ws, c) + recurrent_gate(u, NULL, &ws, c));
            }
            const int32_t i_gate = tfc_sigmoid_q15(pre[0]), f_gate = tfc_sigmoid_q15(pre[1]);
            const int32_t g_gate = tfc_tanh_q15(pre[2], GATE_INTEGER_BITS), o_gate = tfc_sigmoid_q15(pre[3]);
            /* |f c|, |i g| < 2^30 */
            const int16_t cell = saturate_s16(
                tfc_rounding_divide_by_pot64((int64_t)f_gate * ws.state[j], STATE_BITS) +
                tfc_rounding_divide_by_pot64((int64_t)i_gate * g_gate, STATE_BITS + cell_bits));
            ws.state[j] = cell;
            const int32_t hidden = o_gate * (int32_t)tfc_tanh_q15(cell, cell_bits); /* Q0.30 */
            output[j] = saturate_s8(tfc_requantize(hidden, params->hidden));
        }
        memcpy(ws.h, output, (size_t)units);
    }
    return TFC_OK;
}

int32_t tfc_gru_s8_get_buffer_size(const tfc_recurrent_dims *dims, const tfc_structured_matrix *w,
                                   const tfc_structured_matrix *u)
{
    return buffer_size(dims, w, u, GRU_GATES);
}

tfc_status tfc_gru_s8(const tfc_recurrent_params *params, const tfc_recurrent_dims *dims, const int8_t *input,
                      const tfc_structured_matrix *w, const tfc_structured_matrix *u, const int32_t *bias,
                      const int32_t *recurrent_bias, void *scratch, int8_t *output)
{
    if (!params_valid(params, 0) || !shapes_valid(dims, w, u, GRU_GATES) || input == NULL || scratch == NULL ||
        output == NULL) {
        return TFC_ARG_ERROR;
    }
    const int32_t units = dims->units;
    const workspace ws = carve(scratch, dims, w, u);
    memset(ws.state, 0, sizeof *ws.state * (size_t)units);
    memset(ws.h, 0, (size_t)units);
    for (int32_t step = 0; step < dims->steps; ++step) {
        const int8_t *x = input + (size_t)step * (size_t)dims->input_depth;
        if (!step_stage1(params, x, w, u, &ws)) {
            return TFC_ARG_ERROR;
        }
        for (int32_t j = 0; j < units; ++j) {
            const int32_t cz = j, cr = units + j, cn = 2 * units + j; /* z, r, n */
            const int32_t z = tfc_sigmoid_q15(saturate_s16(input_gate(params, x, w, bias, &ws, cz) +
                                                           recurrent_gate(u, recurrent_bias, &ws, cz)));
            const int32_t r = tfc_sigmoid_q15(saturate_s16(input_gate(params, x, w, bias, &ws, cr) +
                                                           recurrent_gate(u, recurrent_bias, &ws, cr)));
            const int32_t hn = saturate_s16(recurrent_gate(u, recurrent_bias, &ws, cn));
            const int32_t n = tfc_tanh_q15(
                saturate_s16(input_gate(params, x, w, bias, &ws, cn) +
                             tfc_rounding_divide_by_pot64((int64_t)r * hn, STATE_BITS)), /* |r hn| < 2^30 */
                GATE_INTEGER_BITS);
            /* |z (state - n)| < 2^31 */
            const int16_t state = saturate_s16(n + tfc_rounding_divide_by_pot64((int64_t)z * (ws.state[j] - n),
                                                                                STATE_BITS));
            ws.state[j] = state;
            output[j] = saturate_s8(tfc_requantize(state, params->hidden));
        }
        memcpy(ws.h, output, (size_t)units);
    }
    return TFC_OK;
}
