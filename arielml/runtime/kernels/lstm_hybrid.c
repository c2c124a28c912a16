/* kernels/lstm_hybrid.c - hybrid UNIDIRECTIONAL_SEQUENCE_LSTM (arielml/ops/lstm_hybrid.py): float32
 * activations and states, int8 weights with one scale each, float32 biases, as LiteRT computes it.
 *
 * Per time step and batch row: the input row and the previous output state row are quantised to
 * int8 on the fly (ariel_hybrid_quant.h: symmetric, or asymmetric with a zero point), an all-zero row
 * skipped; each gate = bias, += (float)(dot - zero point x row sum) * (row scale x weight scale), input
 * part then recurrent part; sigmoid 1 / (1 + expf(-x)), tanhf; c = f * c + g * i, the clip; h = o * tanh(c).
 *
 * ariel_lstm_hybrid_f32: work item = a batch row, its whole sequence (rows share nothing).
 * ariel_lstm_step_hybrid_f32: one time step, work item = (batch row, unit) (passes/lstm_steps.py):
 * a tile quantises each row it touches into its core's scratch; a unit writes only its own cell. */
#include <math.h>

#include "ariel_hybrid_quant.h"
#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: input, output state (updated; a step op: the previous output state), cell state
 * (updated), output (a step op: this step's output state [batch][cells]), then the per-core scratch:
 * cells floats, then input_size + cells bytes. Weights are compile-time arrays, gates in the order
 * input, forget, cell, output: input_weights [4][cells][input_size], recurrent_weights
 * [4][cells][cells], biases and row sums [4][cells], weight_scales [8] (input weights, then recurrent). */
typedef struct {
    int32_t batch, time_steps, input_size, cells;
    int32_t time_major; /* 1: input [time, batch, in]; 0: [batch, time, in] */
    const int8_t *input_weights;
    const int8_t *recurrent_weights;
    const float *biases;
    const int32_t *input_row_sums; /* sum of each weight row: the zero point's share of a dot product */
    const int32_t *recurrent_row_sums;
    const float *weight_scales;
    float cell_clip;    /* > 0 clips the cell state to +-cell_clip */
    int32_t asymmetric; /* the rows are quantised with a zero point */
    int32_t step;       /* a step op: the time step it computes */
} ariel_lstm_hybrid_params;

void ariel_lstm_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_step_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

enum { HYBRID_BUF_INPUT = 0, HYBRID_BUF_HIDDEN = 1, HYBRID_BUF_CELL = 2, HYBRID_BUF_OUTPUT = 3, HYBRID_BUF_SCRATCH = 4 };

/* a row quantised: present == 0 means all zero (its products are skipped) */
typedef struct {
    const int8_t *q;
    float scale;
    int32_t zero_point, present;
} hybrid_row;

static hybrid_row hybrid_quantise_row(const float *v, int32_t n, int32_t asymmetric, int8_t *to)
{
    hybrid_row row = {to, 1.0f, 0, 0};
    float inverse = 0.0f;
    int32_t i;
    if (is_zero_vector(v, n)) {
        return row;
    }
    row.present = 1;
    if (asymmetric) {
        const int32_t nonzero = asymmetric_scales(v, n, &inverse, &row.scale, &row.zero_point);
        for (i = 0; i < n; i++) {
            to[i] = (int8_t)(nonzero ? quantise_asymmetric(v[i], inverse, row.zero_point) : row.zero_point);
        }
    } else {
        const int32_t nonzero = batch_scales(v, n, &inverse, &row.scale);
        const int32_t tail = n - n % 8; /* LiteRT's 8-wide loop ends here */
        for (i = 0; i < n; i++) {
            to[i] = (int8_t)(nonzero ? quantise(v[i], inverse, i, tail) : 0);
        }
    }
    return row;
}

/* gate += (float)(w . q - zero point x row sum) * (row scale x weight scale) */
static float hybrid_accumulate(float gate, const int8_t *w, int32_t row_sum, const hybrid_row *r, int32_t n,
                               float weight_scale)
{
    int32_t dot = 0;
    int32_t i;
    if (!r->present) {
        return gate;
    }
    for (i = 0; i < n; i++) {
        dot += (int32_t)w[i] * r->q[i];
    }
    dot -= r->zero_point * row_sum;
    return gate + (float)dot * (r->scale * weight_scale);
}

static float hybrid_sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* unit u of one step for a row whose input x and previous output state h are quantised: its
 * cell (updated in place) and its new output state value */
static float hybrid_unit(const ariel_lstm_hybrid_params *p, int32_t u, const hybrid_row *x, const hybrid_row *h,
                         float *cell)
{
    float gates[4];
    float c;
    int32_t k;
    for (k = 0; k < 4; k++) {
        const int32_t row = k * p->cells + u;
        float gate = p->biases[row];
        gate = hybrid_accumulate(gate, p->input_weights + row * p->input_size, p->input_row_sums[row], x,
                                 p->input_size, p->weight_scales[k]);
        gate = hybrid_accumulate(gate, p->recurrent_weights + row * p->cells, p->recurrent_row_sums[row], h,
                                 p->cells, p->weight_scales[4 + k]);
        gates[k] = k == 2 ? tanhf(gate) : hybrid_sigmoid(gate);
    }
    c = gates[1] * cell[u];
    c = c + gates[2] * gates[0];
    if (p->cell_clip > 0.0f) {
        if (c > p->cell_clip) {
            c = p->cell_clip;
        }
        if (c < -p->cell_clip) {
            c = -p->cell_clip;
        }
    }
    cell[u] = c;
    return gates[3] * tanhf(c);
}

static int32_t hybrid_row_offset(const ariel_lstm_hybrid_params *p, int32_t b, int32_t t, int32_t width)
{
    return (p->time_major ? t * p->batch + b : b * p->time_steps + t) * width;
}

void ariel_lstm_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_lstm_hybrid_params *p = (const ariel_lstm_hybrid_params *)params;
    float *fresh = (float *)buffers[HYBRID_BUF_SCRATCH];
    int8_t *qx = (int8_t *)(fresh + p->cells);
    int8_t *qh = qx + p->input_size;
    int32_t b;
    for (b = begin; b < end; b++) {
        float *hidden = (float *)buffers[HYBRID_BUF_HIDDEN] + b * p->cells;
        float *cell = (float *)buffers[HYBRID_BUF_CELL] + b * p->cells;
        int32_t t;
        for (t = 0; t < p->time_steps; t++) {
            const float *x = (const float *)buffers[HYBRID_BUF_INPUT] + hybrid_row_offset(p, b, t, p->input_size);
            float *y = (float *)buffers[HYBRID_BUF_OUTPUT] + hybrid_row_offset(p, b, t, p->cells);
            const hybrid_row rx = hybrid_quantise_row(x, p->input_size, p->asymmetric, qx);
            const hybrid_row rh = hybrid_quantise_row(hidden, p->cells, p->asymmetric, qh);
            int32_t u;
            for (u = 0; u < p->cells; u++) {
                fresh[u] = hybrid_unit(p, u, &rx, &rh, cell);
            }
            for (u = 0; u < p->cells; u++) {
                hidden[u] = fresh[u];
                y[u] = fresh[u];
            }
        }
    }
}

void ariel_lstm_step_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_lstm_hybrid_params *p = (const ariel_lstm_hybrid_params *)params;
    int8_t *qx = (int8_t *)((float *)buffers[HYBRID_BUF_SCRATCH] + p->cells);
    int8_t *qh = qx + p->input_size;
    hybrid_row rx = {qx, 1.0f, 0, 0}, rh = {qh, 1.0f, 0, 0};
    int32_t quantised_row = -1;
    int32_t i;
    for (i = begin; i < end; i++) {
        const int32_t b = i / p->cells, u = i % p->cells;
        if (b != quantised_row) {
            const float *x = (const float *)buffers[HYBRID_BUF_INPUT] + hybrid_row_offset(p, b, p->step, p->input_size);
            rx = hybrid_quantise_row(x, p->input_size, p->asymmetric, qx);
            rh = hybrid_quantise_row((const float *)buffers[HYBRID_BUF_HIDDEN] + b * p->cells, p->cells, p->asymmetric,
                                     qh);
            quantised_row = b;
        }
        ((float *)buffers[HYBRID_BUF_OUTPUT])[i] =
            hybrid_unit(p, u, &rx, &rh, (float *)buffers[HYBRID_BUF_CELL] + b * p->cells);
    }
}
