/* kernels/l2.c - L2_NORMALIZATION over the last axis (float32, int8, uint8) and L2_POOL_2D (float32).
 *
 * L2_NORMALIZATION: one work item = one row of `depth` values. The quantised kernels take the
 * inverse square root of the row's sum of squares as a fixed-point multiplier and shift, with
 * gemmlowp's Newton-Raphson iteration in Q3.28 (TFLite's GetInvSqrtQuantizedMultiplierExp), then
 * requantise every value by it (double rounding). L2_POOL_2D: one work item = one output row. The
 * float kernels do the reference's float32 operations in its order. */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t depth;            /* values per row (the last axis) */
    int32_t input_zero_point; /* quantised only */
} ariel_l2_normalization_params;
void ariel_l2_normalization_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_l2_normalization_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_l2_normalization_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
typedef struct {
    int32_t in_h, in_w, channels, out_h, out_w;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    float act_min, act_max;
} ariel_l2_pool_params;
void ariel_l2_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#include <math.h>

/* ---- gemmlowp fixed point ------------------------------------------------------------------- */

static int32_t rounding_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t ab;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * b; /* |ab| <= 2^62 */
    return (int32_t)((ab + (ab >= 0 ? ((int64_t)1 << 30) : 1 - ((int64_t)1 << 30))) / ((int64_t)1 << 31));
}

/* x * 2^exponent: saturated for exponent > 0, rounded half away from zero for exponent < 0 */
static int32_t multiply_by_pot(int32_t x, int32_t exponent)
{
    if (exponent > 0) {
        const int32_t threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1);
        return x > threshold ? INT32_MAX : x < -threshold ? INT32_MIN : (int32_t)((uint32_t)x << exponent);
    }
    if (exponent < 0) {
        const int32_t mask = (int32_t)(((uint32_t)1 << -exponent) - 1);
        const int32_t remainder = x & mask;
        const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> -exponent) + (remainder > threshold ? 1 : 0);
    }
    return x;
}

/* 1 / sqrt(value) as (multiplier, left shift), value >= 0 (0 and 1 give INT32_MAX, 0) */
static void inv_sqrt(int32_t value, int32_t *multiplier, int32_t *left_shift)
{
    int32_t shift = 11, leading_zeros = 0, pairs, half_input, x, i, raw;
    if (value <= 1) {
        *multiplier = INT32_MAX;
        *left_shift = 0;
        return;
    }
    while (value >= (1 << 29)) {
        value /= 4;
        shift++;
    }
    while (!((uint32_t)value & (0x80000000u >> leading_zeros))) {
        leading_zeros++;
    }
    pairs = (leading_zeros - 1) / 2 - 1;
    shift -= pairs;
    value <<= 2 * pairs; /* now in [2^27, 2^29) */
    half_input = multiply_by_pot(value >> 1, -1);
    x = 1 << 28; /* 1.0 in Q3.28 */
    for (i = 0; i < 5; i++) {
        const int32_t x3 = multiply_by_pot(rounding_doubling_high_mul(rounding_doubling_high_mul(x, x), x), 6);
        const int32_t step = (int32_t)((uint32_t)rounding_doubling_high_mul((1 << 28) + (1 << 27), x) -
                                       (uint32_t)rounding_doubling_high_mul(half_input, x3));
        x = multiply_by_pot(step, 3);
    }
    raw = rounding_doubling_high_mul(x, 1518500250); /* times sqrt(2) / 2 */
    if (shift < 0) {
        raw = (int32_t)((uint32_t)raw << -shift);
        shift = 0;
    }
    *multiplier = raw;
    *left_shift = -shift;
}

/* ---- L2_NORMALIZATION ----------------------------------------------------------------------- */

void ariel_l2_normalization_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_l2_normalization_params *p = (const ariel_l2_normalization_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    int32_t row, c;
    for (row = begin; row < end; row++) {
        const float *x = input + (int64_t)row * p->depth;
        float *y = output + (int64_t)row * p->depth;
        float squares = 0.0f, norm;
        for (c = 0; c < p->depth; c++) {
            squares += x[c] * x[c];
        }
        norm = sqrtf(squares);
        if (norm < 1e-6f) { /* std::max(norm, epsilon): NaN stays NaN */
            norm = 1e-6f;
        }
        for (c = 0; c < p->depth; c++) {
            y[c] = x[c] / norm;
        }
    }
}

/* the sum of squares is at most 255^2 per value: exact in int32 for the depths the compiler takes */
#define DEFINE_QUANTISED_L2_NORMALIZATION(NAME, T, SCALE_IN, SHIFT_EXTRA, OFFSET, LO, HI)             \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                   \
    {                                                                                                  \
        const ariel_l2_normalization_params *p = (const ariel_l2_normalization_params *)params;       \
        const T *input = (const T *)buffers[0];                                                        \
        T *output = (T *)buffers[1];                                                                   \
        int32_t row, c;                                                                                \
        for (row = begin; row < end; row++) {                                                          \
            const T *x = input + (int64_t)row * p->depth;                                              \
            T *y = output + (int64_t)row * p->depth;                                                   \
            int32_t squares = 0, multiplier, shift;                                                    \
            for (c = 0; c < p->depth; c++) {                                                           \
                const int32_t d = x[c] - p->input_zero_point;                                          \
                squares += d * d;                                                                      \
            }                                                                                          \
            inv_sqrt(squares, &multiplier, &shift);                                                    \
            for (c = 0; c < p->depth; c++) {                                                           \
                const int32_t d = x[c] - p->input_zero_point;                                          \
                const int32_t v = ariel_mul_double(SCALE_IN * d, multiplier, shift + SHIFT_EXTRA) + OFFSET; \
                y[c] = (T)(v < LO ? LO : v > HI ? HI : v);                                             \
            }                                                                                          \
        }                                                                                              \
    }

/* int8: output scale 1/128, zero point 0: 7 more bits of left shift */
DEFINE_QUANTISED_L2_NORMALIZATION(ariel_l2_normalization_s8, int8_t, 1, 7, 0, -128, 127)
/* uint8: 128 * (x - zp) scaled, plus the output zero point 128 */
DEFINE_QUANTISED_L2_NORMALIZATION(ariel_l2_normalization_u8, uint8_t, 128, 0, 128, 0, 255)

/* ---- L2_POOL_2D ----------------------------------------------------------------------------- */

void ariel_l2_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_l2_pool_params *p = (const ariel_l2_pool_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    int32_t item;
    for (item = begin; item < end; item++) {
        const int32_t n = item / p->out_h, oy = item % p->out_h;
        const int32_t y0 = oy * p->stride_h - p->pad_top;
        const int32_t ky0 = y0 < 0 ? -y0 : 0;
        const int32_t ky1 = p->filter_h < p->in_h - y0 ? p->filter_h : p->in_h - y0;
        int32_t ox, c, ky, kx;
        for (ox = 0; ox < p->out_w; ox++) {
            const int32_t x0 = ox * p->stride_w - p->pad_left;
            const int32_t kx0 = x0 < 0 ? -x0 : 0;
            const int32_t kx1 = p->filter_w < p->in_w - x0 ? p->filter_w : p->in_w - x0;
            const int32_t count = (ky1 > ky0 ? ky1 - ky0 : 0) * (kx1 > kx0 ? kx1 - kx0 : 0);
            float *out = output + (((int64_t)n * p->out_h + oy) * p->out_w + ox) * p->channels;
            for (c = 0; c < p->channels; c++) {
                float squares = 0.0f, v;
                for (ky = ky0; ky < ky1; ky++) {
                    const float *row = input + (((int64_t)n * p->in_h + y0 + ky) * p->in_w + x0) * p->channels + c;
                    for (kx = kx0; kx < kx1; kx++) {
                        const float value = row[(int64_t)kx * p->channels];
                        squares += value * value;
                    }
                }
                v = sqrtf(squares / (float)count);
                /* min(max(v, lo), hi): NaN passes through */
                out[c] = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
            }
        }
    }
}
