/* ariel_hybrid_quant.h - LiteRT's on-the-fly quantisation of a float batch for its hybrid kernels
 * (float activations, int8 weights): symmetric (scale range / 127) and asymmetric (scale
 * (rmax - rmin) / 255 with a zero point), its all-zero test, replayed exactly (the reasoning and the
 * measurements are in arielml/ops/hybrid.py). Shared by kernels/hybrid_f32.c (CONV_2D,
 * DEPTHWISE_CONV_2D, FULLY_CONNECTED) and kernels/lstm_hybrid.c. */
#ifndef ARIEL_HYBRID_QUANT_H
#define ARIEL_HYBRID_QUANT_H

#include <stdint.h>

/* std::minmax_element over n >= 1 floats with operator<: first minimum, last maximum */
static inline void minmax_scan(const float *v, int32_t n, float *min_out, float *max_out)
{
    float lo, hi;
    int32_t i;
    if (n == 1) {
        *min_out = *max_out = v[0];
        return;
    }
    if (v[1] < v[0]) {
        lo = v[1];
        hi = v[0];
    } else {
        lo = v[0];
        hi = v[1];
    }
    for (i = 2; i + 1 < n; i += 2) {
        const float a = v[i], b = v[i + 1];
        if (b < a) {
            if (b < lo) {
                lo = b;
            }
            if (!(a < hi)) {
                hi = a;
            }
        } else {
            if (a < lo) {
                lo = a;
            }
            if (!(b < hi)) {
                hi = b;
            }
        }
    }
    if (i < n) { /* a last odd value */
        if (v[i] < lo) {
            lo = v[i];
        } else if (!(v[i] < hi)) {
            hi = v[i];
        }
    }
    *min_out = lo;
    *max_out = hi;
}

static inline float abs_f32(float v)
{
    return v < 0.0f ? -v : v; /* NaN stays NaN: only its sign could differ, and nothing reads it */
}

/* the batch's inverse scale 127 / range and scale range / 127. Range 0 returns 0: LiteRT then sets
 * every q to 0 (a NaN too, which x * inverse would not give) with scale 1. */
static inline int32_t batch_scales(const float *x, int32_t n, float *inverse, float *scale)
{
    float lo, hi, a, b, range;
    minmax_scan(x, n, &lo, &hi);
    a = abs_f32(lo);
    b = abs_f32(hi);
    range = a < b ? b : a; /* std::max: a NaN |min| wins, a NaN |max| loses */
    if (range == 0.0f) {
        *inverse = 0.0f;
        *scale = 1.0f;
        return 0;
    }
    *scale = range / 127.0f;
    *inverse = 127.0f / range;
    return 1;
}

/* q of the value at `index` of its batch; values from `tail` on are LiteRT's scalar tail */
static inline int32_t quantise(float x, float inverse, int32_t index, int32_t tail)
{
    float p = x * inverse;
    int32_t t;
    float frac;
    if (p != p) {
        return -127;
    }
    if (p >= 127.0f) { /* 126.5 .. 127 rounds to 127 below */
        return p > 3.40282347e38f && index >= tail ? -127 : 127; /* p > FLT_MAX: +inf; in the tail -127 */
    }
    if (p <= -127.0f) {
        return -127;
    }
    t = (int32_t)p; /* |p| < 127: defined, truncates toward zero */
    frac = p - (float)t; /* exact */
    if (frac >= 0.5f) {
        t++;
    } else if (frac <= -0.5f) {
        t--;
    }
    return t;
}

/* LiteRT's all-zero test of the whole input: 4 values at a time with ordered comparisons (NaN is
 * zero there), the last n % 4 with != (NaN is not) */
static inline int32_t is_zero_vector(const float *x, int32_t n)
{
    const int32_t body = n - n % 4;
    int32_t i;
    for (i = 0; i < body; i++) {
        if (x[i] < 0.0f || x[i] > 0.0f) {
            return 0;
        }
    }
    for (; i < n; i++) {
        if (x[i] != 0.0f) {
            return 0;
        }
    }
    return 1;
}

/* asymmetric (per-channel hybrid convolutions, LSTM with asymmetric_quantize_inputs): all in
 * float32, rmin = min(0, min), rmax = max(0, max), scale = (rmax - rmin) / 255, the zero point from
 * the end with the smaller error, rounded half away; NaN gives -128 */
static inline int32_t round_half_away(float v) /* |v| < 2^31 */
{
    int32_t t = (int32_t)v;
    const float frac = v - (float)t; /* exact */
    if (frac >= 0.5f) {
        t++;
    } else if (frac <= -0.5f) {
        t--;
    }
    return t;
}

static inline int32_t asymmetric_scales(const float *x, int32_t n, float *inverse, float *scale, int32_t *zero_point)
{
    float lo, hi, rmin, rmax, s, zero;
    minmax_scan(x, n, &lo, &hi);
    rmin = lo < 0.0f ? lo : 0.0f; /* std::min(0.0f, lo): NaN gives 0 */
    rmax = 0.0f < hi ? hi : 0.0f;
    if (rmin == rmax) {
        *inverse = 0.0f;
        *scale = 1.0f;
        *zero_point = 0;
        return 0;
    }
    s = (rmax - rmin) / 255.0f;
    {
        const float from_min = -128.0f - rmin / s, from_max = 127.0f - rmax / s;
        const float error_min = 128.0f + abs_f32(rmin / s), error_max = 127.0f + abs_f32(rmax / s);
        zero = error_min < error_max ? from_min : from_max;
    }
    *zero_point = zero <= -128.0f ? -128 : zero >= 127.0f ? 127 : zero != zero ? 0 : round_half_away(zero);
    *scale = s;
    *inverse = 1.0f / s;
    return 1;
}

static inline int32_t quantise_asymmetric(float x, float inverse, int32_t zero_point)
{
    const float p = (float)zero_point + x * inverse;
    if (p != p || p <= -128.0f) {
        return -128;
    }
    return p >= 127.0f ? 127 : round_half_away(p);
}

#endif /* ARIEL_HYBRID_QUANT_H */
