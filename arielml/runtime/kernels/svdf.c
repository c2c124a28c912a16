/* kernels/svdf.c - SVDF (arielml/ops/svdf.py): per unit, its `rank` filters each shift their state
 * row left by one, put a feature dot product into its newest slot and take a dot product of the row
 * with their time weights; the unit's output is the filters' sum plus the bias.
 * Work item k = (batch b, unit u) = (k / units, k % units): it touches only its own filters' state
 * rows, so items run on any core in any order. */
#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: input, weights_feature, weights_time, bias (NULL: none), state (updated), output */
typedef struct {
    int32_t batch, input_size, units, rank, memory;
    int32_t activation; /* float32: 0 none, 1 RELU, 2 RELU_N1_TO_1, 3 RELU6 */
    int32_t lanes;      /* float32: 4 (LiteRT's vector sum order) or 1 (index order, TFLite Micro) */
    int32_t bias_first; /* float32: 1 = the rank sum starts from the bias (TFLite Micro), 0 = bias last */
    int32_t input_zero_point, output_zero_point; /* int8 */
    int32_t feature_multiplier, feature_shift;   /* int8: input x feature -> int16 state */
    int32_t output_multiplier, output_shift;     /* int8: state x time -> int8 output */
    int32_t rounding;                            /* ARIEL_ROUND_SINGLE / ARIEL_ROUND_DOUBLE */
    int32_t state_zero_point;                    /* int8 state */
} ariel_svdf_params;

void ariel_svdf_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_svdf_s8_state8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_svdf_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* The integer kernels, one per state type: int16 (LiteRT's and TFLite Micro's; zero point 0) and int8
 * (TFLite Micro's, with int8 time weights). The new value is saturated to the state type, offset by
 * the state's zero point (an int8 store wraps, as TFLite Micro's does) and taken off again in the time
 * sum. |w (x - zp)| <= 128 * 255: int32 holds input_size up to 65,000; the time products (< 2^31)
 * are summed in int32, wrapping as TFLite's int32 sums do. */
#define ARIEL_SVDF_INTEGER_KERNEL(NAME, STATE_T, UNSIGNED_STATE_T, STATE_MIN, STATE_MAX)                          \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                              \
    {                                                                                                          \
        const ariel_svdf_params *p = (const ariel_svdf_params *)params;                                        \
        const int8_t *input = (const int8_t *)buffers[0];                                                      \
        const int8_t *weights_feature = (const int8_t *)buffers[1];                                            \
        const STATE_T *weights_time = (const STATE_T *)buffers[2];                                             \
        const int32_t *bias = (const int32_t *)buffers[3];                                                     \
        STATE_T *state = (STATE_T *)buffers[4];                                                                \
        int8_t *output = (int8_t *)buffers[5];                                                                 \
        const int32_t filters = p->units * p->rank;                                                            \
        int32_t item;                                                                                          \
        for (item = begin; item < end; item++) {                                                               \
            const int32_t b = item / p->units;                                                                 \
            const int32_t u = item % p->units;                                                                 \
            const int8_t *x = input + b * p->input_size;                                                       \
            int32_t sum = bias != 0 ? bias[u] : 0; /* integer sums: the order does not matter */               \
            int32_t f;                                                                                         \
            int64_t scaled;                                                                                    \
            for (f = u * p->rank; f < (u + 1) * p->rank; f++) {                                                \
                const int8_t *w = weights_feature + f * p->input_size;                                         \
                const STATE_T *wt = weights_time + f * p->memory;                                              \
                STATE_T *row = state + (b * filters + f) * p->memory;                                          \
                int32_t dot = 0;                                                                               \
                int32_t time = 0;                                                                              \
                int32_t c;                                                                                     \
                int64_t newest;                                                                                \
                for (c = 0; c + 1 < p->memory; c++) { /* the oldest value leaves */                            \
                    row[c] = row[c + 1];                                                                       \
                }                                                                                              \
                for (c = 0; c < p->input_size; c++) {                                                          \
                    dot += (int32_t)w[c] * ((int32_t)x[c] - p->input_zero_point);                              \
                }                                                                                              \
                newest = ariel_requantize(dot, p->feature_multiplier, p->feature_shift, p->rounding);          \
                newest = newest < (STATE_MIN) ? (STATE_MIN) : newest > (STATE_MAX) ? (STATE_MAX) : newest;     \
                row[p->memory - 1] = (STATE_T)(UNSIGNED_STATE_T)(uint32_t)(p->state_zero_point + (int32_t)newest); \
                for (c = 0; c < p->memory; c++) {                                                              \
                    time = ariel_wrapping_add(time, (int32_t)wt[c] * ((int32_t)row[c] - p->state_zero_point)); \
                }                                                                                              \
                sum = ariel_wrapping_add(sum, time);                                                           \
            }                                                                                                  \
            scaled = ariel_requantize(sum, p->output_multiplier, p->output_shift, p->rounding) +               \
                     p->output_zero_point;                                                                     \
            output[b * p->units + u] = ariel_clamp_s8(scaled, -128, 127);                                      \
        }                                                                                                      \
    }

ARIEL_SVDF_INTEGER_KERNEL(ariel_svdf_s8, int16_t, uint16_t, -32768, 32767)
ARIEL_SVDF_INTEGER_KERNEL(ariel_svdf_s8_state8, int8_t, uint8_t, -128, 127)

/* std::max(lo, std::min(v, hi)) as LiteRT's ApplyActivationToVector evaluates it (a NaN gives lo) */
static float svdf_activation(float v, int32_t activation)
{
    float hi;
    float lo;
    switch (activation) {
    case 1:
        return 0.0f < v ? v : 0.0f;
    case 2:
        lo = -1.0f;
        hi = 1.0f;
        break;
    case 3:
        lo = 0.0f;
        hi = 6.0f;
        break;
    default:
        return v;
    }
    v = hi < v ? hi : v;
    return lo < v ? v : lo;
}

/* Sums in the order of a `lanes`-wide vector loop (arielml/ops/svdf.py lane_sum): value i of n goes
 * to lane i % lanes while whole blocks last; then the lanes are added in order, then the rest. */
typedef struct {
    float lane[4];
    float total;
    int32_t count, full, lanes;
} lane_sum;

static void lane_sum_start(lane_sum *s, int32_t n, int32_t lanes)
{
    s->lane[0] = s->lane[1] = s->lane[2] = s->lane[3] = 0.0f;
    s->total = 0.0f;
    s->count = 0;
    s->lanes = lanes;
    s->full = lanes > 1 ? n / lanes * lanes : 0; /* one lane: every value straight onto the total */
}

static void lane_sum_add(lane_sum *s, float v)
{
    int32_t k;
    if (s->count < s->full) {
        s->lane[s->count % s->lanes] += v;
        if (++s->count == s->full) {
            for (k = 0; k < s->lanes; k++) {
                s->total += s->lane[k];
            }
        }
        return;
    }
    s->total += v;
    s->count++;
}

static float lane_dot(const float *a, const float *b, int32_t n, int32_t lanes)
{
    lane_sum s;
    int32_t c;
    lane_sum_start(&s, n, lanes);
    for (c = 0; c < n; c++) {
        lane_sum_add(&s, a[c] * b[c]);
    }
    return s.total;
}

void ariel_svdf_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_svdf_params *p = (const ariel_svdf_params *)params;
    const float *input = (const float *)buffers[0];
    const float *weights_feature = (const float *)buffers[1];
    const float *weights_time = (const float *)buffers[2];
    const float *bias = (const float *)buffers[3];
    float *state = (float *)buffers[4];
    float *output = (float *)buffers[5];
    const int32_t filters = p->units * p->rank;
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t b = item / p->units;
        const int32_t u = item % p->units;
        const float *x = input + b * p->input_size;
        lane_sum rank_sum;
        float sum;
        int32_t f;
        lane_sum_start(&rank_sum, p->rank, p->lanes);
        if (p->bias_first && bias != 0) {
            rank_sum.total = bias[u]; /* one lane then: each value is added to the total in turn */
        }
        for (f = u * p->rank; f < (u + 1) * p->rank; f++) {
            float *row = state + (b * filters + f) * p->memory;
            int32_t c;
            for (c = 0; c + 1 < p->memory; c++) { /* the oldest value leaves */
                row[c] = row[c + 1];
            }
            /* the newest goes into the cleared slot: 0 + dot (a -0.0 dot becomes +0.0, as in LiteRT) */
            row[p->memory - 1] = 0.0f + lane_dot(weights_feature + f * p->input_size, x, p->input_size, p->lanes);
            lane_sum_add(&rank_sum, lane_dot(weights_time + f * p->memory, row, p->memory, p->lanes));
        }
        sum = bias != 0 && !p->bias_first ? rank_sum.total + bias[u] : rank_sum.total;
        output[b * p->units + u] = svdf_activation(sum, p->activation);
    }
}
