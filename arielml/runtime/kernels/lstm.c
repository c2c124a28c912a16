/* kernels/lstm.c - UNIDIRECTIONAL_SEQUENCE_LSTM (arielml/ops/lstm.py): the Keras LSTM as TFLite
 * Micro computes it, float32, int8 activations (int16 cell state) and int16 activations; and as
 * LiteRT computes int8 (the *_s8_litert kernels, arielml/ops/lstm_litert.py: gemmlowp's int16
 * logistic / tanh from ariel_fixed16.h, its own saturation order and cell shifts).
 *
 * ariel_lstm_*: work item = one batch row: its whole sequence, time step after time step, reading
 * and writing only its own rows of the output state, the cell state and the output, so items run on
 * any core in any order. Within a step every unit's gates read the whole previous output state, so
 * the new one is built in the core's scratch (cells values) and copied over after the last unit.
 *
 * ariel_lstm_step_*: one time step (`step`) of the same layer, work item = one (batch row, unit):
 * a batch-1 stream split over hidden units (passes/lstm_steps.py lowers the layer to one such op
 * per step, with a barrier between steps). The previous output state is a separate buffer and the
 * new one goes to the step's own output, so units read the old state while others write the new;
 * a unit reads and writes only its own cell. */
#include <math.h>

#include "ariel_fixed16.h"
#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: input, output state (updated), cell state (updated), output, then the per-core scratch
 * (cells activations); a step op: input, previous output state, cell state (updated), this step's
 * output state [batch][cells]. Weights and biases are compile-time arrays, gates in the order input,
 * forget, cell, output: input_weights [4][cells][input_size], recurrent_weights [4][cells][cells],
 * biases [4][cells] (int16 activations: each int64 bias as its low then high 32-bit word). */
typedef struct {
    int32_t batch, time_steps, input_size, cells;
    int32_t time_major;          /* 1: input [time, batch, in]; 0: [batch, time, in] */
    const void *input_weights;   /* int8_t, or float for float32 */
    const void *recurrent_weights;
    const int32_t *biases;       /* integer; int8: bias - input zero point x the row's weight sum */
    const int32_t *recurrent_offsets; /* int8: - output-state zero point x the recurrent row's sum */
    const float *float_biases;   /* float32 */
    float cell_clip;             /* float32: > 0 clips the cell state to +-cell_clip */
    int32_t quantized_cell_clip; /* integer: > 0 clips the int16 cell state */
    int32_t input_zero_point, hidden_zero_point;
    /* per gate: input multiplier, shift, recurrent multiplier, shift (products -> int16 Q3.12) */
    const int32_t *gate_scales;
    int32_t forget_multiplier, forget_shift; /* forget gate x cell -> cell */
    int32_t update_multiplier, update_shift; /* input gate x cell gate -> cell */
    int32_t hidden_multiplier, hidden_shift; /* tanh(cell) x output gate -> output state */
    int32_t tanh_multiplier, tanh_shift;     /* the cell state into tanh's input unit */
    int32_t rounding;                        /* ARIEL_ROUND_* of the int32 requantisations */
    const int32_t *sigmoid;                  /* 256 entries, sigmoid(i/24) in 0.16 */
    int32_t step;                            /* a step op: the time step it computes */
    /* LiteRT's int8 LSTM (ariel_lstm*_s8_litert): the cell scale is 2^cell_scale_power, the new
     * output state's zero point is the hidden intermediate's (hidden_multiplier/shift: its scale) */
    int32_t cell_scale_power, output_zero_point;
} ariel_lstm_params;

void ariel_lstm_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_step_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_step_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_step_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_s8_litert(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lstm_step_s8_litert(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

enum { LSTM_INPUT_GATE = 0, LSTM_FORGET_GATE = 1, LSTM_CELL_GATE = 2, LSTM_OUTPUT_GATE = 3 };
/* the integer arithmetics: TFLite Micro's int8 and int16, LiteRT's int8 */
enum { LSTM_S8 = 0, LSTM_S16 = 1, LSTM_S8_LITERT = 2 };
enum { LSTM_BUF_INPUT = 0, LSTM_BUF_HIDDEN = 1, LSTM_BUF_CELL = 2, LSTM_BUF_OUTPUT = 3, LSTM_BUF_SCRATCH = 4 };

/* Element offsets of row b at time t in the input (width `width`) and the output (width cells). */
static int32_t lstm_row(const ariel_lstm_params *p, int32_t b, int32_t t, int32_t width)
{
    return (p->time_major ? t * p->batch + b : b * p->time_steps + t) * width;
}

static int32_t clamp16(int64_t v)
{
    return v < -32768 ? -32768 : v > 32767 ? 32767 : (int32_t)v;
}

/* TFLite's int16 logistic / tanh: the input rescaled ((x * multiplier + round) >> shift, to units
 * of 1/(3*4096)), then the interpolated sigmoid table; Q0.15 out. |x * multiplier| < 2^31 for the
 * multipliers the compiler allows (<= 3 << 8); interpolation terms stay below 2^26. */
static int32_t lstm_sigmoid16(const ariel_lstm_params *p, int32_t x, int32_t multiplier, int32_t shift,
                              int32_t logistic)
{
    const int32_t rounding = shift > 0 ? (int32_t)1 << (shift - 1) : 0;
    const int32_t v = (x * multiplier + rounding) >> shift;
    const int32_t magnitude = v < 0 ? -v : v;
    const int32_t frac_bits = logistic ? 9 : 8;
    const int32_t segment = magnitude >> frac_bits;
    const int32_t fraction = magnitude & ((1 << frac_bits) - 1);
    int32_t result;
    if (segment >= 255) {
        result = logistic ? 0x7FFF << 10 : 0xFFFF << 8;
    } else {
        result = (p->sigmoid[segment] << frac_bits) + fraction * (p->sigmoid[segment + 1] - p->sigmoid[segment]);
    }
    if (logistic) {
        result = (v >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1) >> 10;
    } else {
        result = (v >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1) >> 8;
    }
    return (int16_t)(uint16_t)(uint32_t)result; /* the reference stores the int32 into an int16 */
}

/* TFLite's requantisation of int64 accumulators (int16 activations): the multiplier reduced to
 * 16 bits, one rounding; the product wraps in 64 bits as the reference's does. */
static int64_t lstm_requantize_wide(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t product = (int64_t)((uint64_t)acc * (uint64_t)reduced);
    const int64_t rounded = (int64_t)((uint64_t)product + ((uint64_t)1 << (total_shift - 1))) >> total_shift;
    return rounded < INT32_MIN ? INT32_MIN : rounded > INT32_MAX ? INT32_MAX : rounded;
}

/* int8 dot product, four terms per iteration (integer sums: the order does not matter) */
static int32_t lstm_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t acc = 0;
    int32_t c = 0;
    for (; c + 4 <= n; c += 4) {
        acc += (int32_t)w[c] * x[c] + (int32_t)w[c + 1] * x[c + 1] + (int32_t)w[c + 2] * x[c + 2] +
               (int32_t)w[c + 3] * x[c + 3];
    }
    for (; c < n; c++) {
        acc += (int32_t)w[c] * x[c];
    }
    return acc;
}

/* One gate's pre-activation for unit u (int16, Q3.12): the input and recurrent products, each
 * requantised and saturated to int16, then added with saturation (TFLite Micro's two fully
 * connected layers and AddElementWise). wide: int16 activations (int64 sums, int64 bias). */
static int32_t lstm_gate_pre(const ariel_lstm_params *p, int32_t gate, int32_t u, const void *x, const void *h,
                             int32_t wide)
{
    const int32_t row = gate * p->cells + u;
    const int8_t *wx = (const int8_t *)p->input_weights + row * p->input_size;
    const int8_t *wh = (const int8_t *)p->recurrent_weights + row * p->cells;
    const int32_t *scale = p->gate_scales + 4 * gate;
    int32_t from_input;
    int32_t from_hidden;
    int32_t c;
    if (wide) {
        const int16_t *x16 = (const int16_t *)x;
        const int16_t *h16 = (const int16_t *)h;
        /* the int64 bias from its two words; |w x| < 2^22 per term */
        int64_t acc = (int64_t)(((uint64_t)(uint32_t)p->biases[2 * row + 1] << 32) | (uint32_t)p->biases[2 * row]);
        int64_t rec = 0;
        for (c = 0; c < p->input_size; c++) {
            acc += (int32_t)wx[c] * (int32_t)x16[c];
        }
        for (c = 0; c < p->cells; c++) {
            rec += (int32_t)wh[c] * (int32_t)h16[c];
        }
        from_input = clamp16(lstm_requantize_wide(acc, scale[0], scale[1]));
        from_hidden = clamp16(lstm_requantize_wide(rec, scale[2], scale[3]));
    } else {
        /* zero points folded into the compile-time offsets: sum w (x - zp) + bias = sum w x +
         * (bias - zp sum w); |w x| <= 2^14, so int32 holds the 65,000 terms of any sane layer */
        const int32_t acc = lstm_dot_s8(wx, (const int8_t *)x, p->input_size) + p->biases[row];
        const int32_t rec = lstm_dot_s8(wh, (const int8_t *)h, p->cells) + p->recurrent_offsets[row];
        from_input = clamp16(ariel_requantize(acc, scale[0], scale[1], p->rounding));
        from_hidden = clamp16(ariel_requantize(rec, scale[2], scale[3], p->rounding));
    }
    return clamp16((int64_t)from_input + from_hidden);
}

/* Unit u of one step: its four gates over the input x and the previous output state h, its cell
 * (updated in place), and its new output state value (returned, clamped to the activation type). */
static int32_t lstm_unit_integer(const ariel_lstm_params *p, int32_t u, const void *x, const void *h, int16_t *cell,
                                 int32_t wide)
{
    const int32_t lo = wide ? -32768 : -128;
    const int32_t hi = wide ? 32767 : 127;
    const int32_t in = lstm_sigmoid16(p, lstm_gate_pre(p, LSTM_INPUT_GATE, u, x, h, wide), 3, 0, 1);
    const int32_t forget = lstm_sigmoid16(p, lstm_gate_pre(p, LSTM_FORGET_GATE, u, x, h, wide), 3, 0, 1);
    const int32_t gate = lstm_sigmoid16(p, lstm_gate_pre(p, LSTM_CELL_GATE, u, x, h, wide), 3, 0, 0);
    const int32_t out = lstm_sigmoid16(p, lstm_gate_pre(p, LSTM_OUTPUT_GATE, u, x, h, wide), 3, 0, 1);
    /* Q0.15 x int16 products are below 2^30 */
    const int32_t kept = clamp16(ariel_requantize(forget * (int32_t)cell[u], p->forget_multiplier, p->forget_shift,
                                                  p->rounding));
    const int32_t added = clamp16(ariel_requantize(in * gate, p->update_multiplier, p->update_shift, p->rounding));
    int32_t c = clamp16((int64_t)kept + added);
    int64_t value;
    if (p->quantized_cell_clip > 0) {
        c = c > p->quantized_cell_clip ? p->quantized_cell_clip : c;
        c = c < -p->quantized_cell_clip ? -p->quantized_cell_clip : c;
    }
    cell[u] = (int16_t)c;
    value = ariel_requantize(lstm_sigmoid16(p, c, p->tanh_multiplier, p->tanh_shift, 0) * out, p->hidden_multiplier,
                             p->hidden_shift, p->rounding) + p->hidden_zero_point;
    return (int32_t)(value < lo ? lo : value > hi ? hi : value);
}

/* LiteRT's gate pre-activation (int16, Q3.12): the input product requantised and saturated, then
 * the recurrent product requantised, added to it and saturated (one saturation fewer than TFLite
 * Micro's). Zero points are folded into the compile-time biases and offsets as for TFLite Micro. */
static int32_t lstm_gate_pre_litert(const ariel_lstm_params *p, int32_t gate, int32_t u, const int8_t *x,
                                    const int8_t *h)
{
    const int32_t row = gate * p->cells + u;
    const int32_t *scale = p->gate_scales + 4 * gate;
    const int32_t acc = lstm_dot_s8((const int8_t *)p->input_weights + row * p->input_size, x, p->input_size) +
                        p->biases[row];
    const int32_t rec = lstm_dot_s8((const int8_t *)p->recurrent_weights + row * p->cells, h, p->cells) +
                        p->recurrent_offsets[row];
    const int32_t from_input = clamp16(ariel_requantize(acc, scale[0], scale[1], p->rounding));
    return clamp16((int64_t)ariel_requantize(rec, scale[2], scale[3], p->rounding) + from_input);
}

/* Unit u of one step of LiteRT's int8 LSTM (ops/lstm_litert.py): gemmlowp's int16 logistic / tanh
 * of the Q3.12 gates, f x c and i x g by rounding shifts (2^15, 2^(30 + p)) stored as int16, added
 * with saturation and clipped; tanh of the cell read as Q(15 + p); tanh(c) x o requantised. */
static int32_t lstm_unit_litert(const ariel_lstm_params *p, int32_t u, const int8_t *x, const int8_t *h,
                                int16_t *cell)
{
    const int32_t in = fx16_logistic(lstm_gate_pre_litert(p, LSTM_INPUT_GATE, u, x, h), 3);
    const int32_t forget = fx16_logistic(lstm_gate_pre_litert(p, LSTM_FORGET_GATE, u, x, h), 3);
    const int32_t gate = fx16_tanh(lstm_gate_pre_litert(p, LSTM_CELL_GATE, u, x, h), 3);
    const int32_t out = fx16_logistic(lstm_gate_pre_litert(p, LSTM_OUTPUT_GATE, u, x, h), 3);
    const int32_t kept = fx16_wrap(fx16_rounding_shift(forget * (int32_t)cell[u], 15));
    const int32_t added = fx16_wrap(fx16_rounding_shift(in * gate, 30 + p->cell_scale_power));
    int32_t c = clamp16((int64_t)kept + added);
    int32_t value;
    if (p->quantized_cell_clip > 0) {
        c = c > p->quantized_cell_clip ? p->quantized_cell_clip : c;
        c = c < -p->quantized_cell_clip ? -p->quantized_cell_clip : c;
    }
    cell[u] = (int16_t)c;
    value = ariel_requantize(fx16_tanh(c, 15 + p->cell_scale_power) * out, p->hidden_multiplier, p->hidden_shift,
                             p->rounding) + p->output_zero_point;
    return value < -128 ? -128 : value > 127 ? 127 : value;
}

static int32_t lstm_unit(const ariel_lstm_params *p, int32_t u, const void *x, const void *h, int16_t *cell,
                         int32_t mode)
{
    if (mode == LSTM_S8_LITERT) {
        return lstm_unit_litert(p, u, (const int8_t *)x, (const int8_t *)h, cell);
    }
    return lstm_unit_integer(p, u, x, h, cell, mode == LSTM_S16);
}

static void lstm_store(uint8_t *to, int32_t index, int32_t value, int32_t wide)
{
    if (wide) {
        ((int16_t *)to)[index] = (int16_t)value;
    } else {
        ((int8_t *)to)[index] = (int8_t)value;
    }
}

static void lstm_integer(const ariel_lstm_params *p, void *const *buffers, int32_t begin, int32_t end,
                         int32_t mode)
{
    const int32_t wide = mode == LSTM_S16;
    const int32_t bytes = wide ? 2 : 1;
    const uint8_t *input = (const uint8_t *)buffers[LSTM_BUF_INPUT];
    uint8_t *output = (uint8_t *)buffers[LSTM_BUF_OUTPUT];
    uint8_t *scratch = (uint8_t *)buffers[LSTM_BUF_SCRATCH];
    int32_t b;

    for (b = begin; b < end; b++) {
        uint8_t *hidden = (uint8_t *)buffers[LSTM_BUF_HIDDEN] + b * p->cells * bytes;
        int16_t *cell = (int16_t *)buffers[LSTM_BUF_CELL] + b * p->cells;
        int32_t t;
        for (t = 0; t < p->time_steps; t++) {
            const uint8_t *x = input + lstm_row(p, b, t, p->input_size) * bytes;
            int32_t u;
            for (u = 0; u < p->cells; u++) {
                lstm_store(scratch, u, lstm_unit(p, u, x, hidden, cell, mode), wide);
            }
            for (u = 0; u < p->cells * bytes; u++) {
                hidden[u] = scratch[u];
                output[lstm_row(p, b, t, p->cells) * bytes + u] = scratch[u];
            }
        }
    }
}

/* one time step over items (batch row, unit) */
static void lstm_step_integer(const ariel_lstm_params *p, void *const *buffers, int32_t begin, int32_t end,
                              int32_t mode)
{
    const int32_t wide = mode == LSTM_S16;
    const int32_t bytes = wide ? 2 : 1;
    int32_t i;
    for (i = begin; i < end; i++) {
        const int32_t b = i / p->cells, u = i % p->cells;
        const uint8_t *x = (const uint8_t *)buffers[LSTM_BUF_INPUT] + lstm_row(p, b, p->step, p->input_size) * bytes;
        const uint8_t *previous = (const uint8_t *)buffers[LSTM_BUF_HIDDEN] + b * p->cells * bytes;
        int16_t *cell = (int16_t *)buffers[LSTM_BUF_CELL] + b * p->cells;
        lstm_store((uint8_t *)buffers[LSTM_BUF_OUTPUT], i, lstm_unit(p, u, x, previous, cell, mode), wide);
    }
}

void ariel_lstm_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S8);
}

void ariel_lstm_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S16);
}

void ariel_lstm_s8_litert(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S8_LITERT);
}

void ariel_lstm_step_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_step_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S8);
}

void ariel_lstm_step_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_step_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S16);
}

void ariel_lstm_step_s8_litert(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    lstm_step_integer((const ariel_lstm_params *)params, buffers, begin, end, LSTM_S8_LITERT);
}

/* ---- float32 -------------------------------------------------------------------------------- */

/* TFLite's reference logistic: 1 above 16.619..., expf(x) below -9, the formula between. */
static float lstm_logistic(float x)
{
    if (x > 16.619047164916992188f) {
        return 1.0f;
    }
    if (x < -9.0f) {
        return expf(x);
    }
    return 1.0f / (1.0f + expf(-x));
}

/* (input dot product in index order + bias) + recurrent dot product in index order */
static float lstm_gate_pre_f32(const ariel_lstm_params *p, int32_t gate, int32_t u, const float *x, const float *h)
{
    const int32_t row = gate * p->cells + u;
    const float *wx = (const float *)p->input_weights + row * p->input_size;
    const float *wh = (const float *)p->recurrent_weights + row * p->cells;
    float acc = 0.0f;
    float rec = 0.0f;
    int32_t c;
    for (c = 0; c < p->input_size; c++) {
        acc += x[c] * wx[c];
    }
    for (c = 0; c < p->cells; c++) {
        rec += h[c] * wh[c];
    }
    return (acc + p->float_biases[row]) + rec;
}

/* Unit u of one float step: its cell (updated in place) and its new output state value. */
static float lstm_unit_f32(const ariel_lstm_params *p, int32_t u, const float *x, const float *h, float *cell)
{
    const float in = lstm_logistic(lstm_gate_pre_f32(p, LSTM_INPUT_GATE, u, x, h));
    const float forget = lstm_logistic(lstm_gate_pre_f32(p, LSTM_FORGET_GATE, u, x, h));
    const float gate = tanhf(lstm_gate_pre_f32(p, LSTM_CELL_GATE, u, x, h));
    const float out = lstm_logistic(lstm_gate_pre_f32(p, LSTM_OUTPUT_GATE, u, x, h));
    const float kept = forget * cell[u];
    const float added = in * gate;
    float c = kept + added;
    if (p->cell_clip > 0.0f) { /* std::max(std::min(clip, c), -clip) */
        c = c < p->cell_clip ? c : p->cell_clip;
        c = c < -p->cell_clip ? -p->cell_clip : c;
    }
    cell[u] = c;
    return tanhf(c) * out;
}

void ariel_lstm_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_lstm_params *p = (const ariel_lstm_params *)params;
    const float *input = (const float *)buffers[LSTM_BUF_INPUT];
    float *output = (float *)buffers[LSTM_BUF_OUTPUT];
    float *scratch = (float *)buffers[LSTM_BUF_SCRATCH];
    int32_t b;

    for (b = begin; b < end; b++) {
        float *hidden = (float *)buffers[LSTM_BUF_HIDDEN] + b * p->cells;
        float *cell = (float *)buffers[LSTM_BUF_CELL] + b * p->cells;
        int32_t t;
        for (t = 0; t < p->time_steps; t++) {
            const float *x = input + lstm_row(p, b, t, p->input_size);
            float *y = output + lstm_row(p, b, t, p->cells);
            int32_t u;
            for (u = 0; u < p->cells; u++) {
                scratch[u] = lstm_unit_f32(p, u, x, hidden, cell);
            }
            for (u = 0; u < p->cells; u++) {
                hidden[u] = scratch[u];
                y[u] = scratch[u];
            }
        }
    }
}

void ariel_lstm_step_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_lstm_params *p = (const ariel_lstm_params *)params;
    int32_t i;
    for (i = begin; i < end; i++) {
        const int32_t b = i / p->cells, u = i % p->cells;
        const float *x = (const float *)buffers[LSTM_BUF_INPUT] + lstm_row(p, b, p->step, p->input_size);
        const float *previous = (const float *)buffers[LSTM_BUF_HIDDEN] + b * p->cells;
        float *cell = (float *)buffers[LSTM_BUF_CELL] + b * p->cells;
        ((float *)buffers[LSTM_BUF_OUTPUT])[i] = lstm_unit_f32(p, u, x, previous, cell);
    }
}
