/* ariel_round_even.h - round a float half to even in portable C, for the kernels that reproduce
 * onnxruntime (semantics "onnxruntime"): its MLAS converts with cvtps2dq under the default rounding
 * mode, half to even. lrintf would do it too, but depends on the libm and on the current rounding
 * mode of the board (newlib-nano builds, soft-float cores); this needs only a float subtraction. */
#ifndef ARIEL_ROUND_EVEN_H
#define ARIEL_ROUND_EVEN_H

#include <stdint.h>

/* v must lie within [-2^30, 2^30] (callers clamp first). t = (int32_t)v truncates toward zero and
 * v - t is exact (t and v share their sign and |t| <= |v| < |t| + 1, so the difference needs no
 * more bits than v); a fraction of exactly one half goes to the even neighbour. */
static inline int32_t ariel_round_half_even(float v)
{
    int32_t t = (int32_t)v;
    const float fraction = v - (float)t;
    if (fraction > 0.5f || (fraction == 0.5f && (t & 1))) {
        t++;
    } else if (fraction < -0.5f || (fraction == -0.5f && (t & 1))) {
        t--;
    }
    return t;
}

/* number of significant bits of x (0 for 0): a binary search, as the Cortex-M0+ has no clz */
static inline int32_t ariel_bit_length(uint32_t x)
{
    int32_t n = 0;
    if (x >= 0x10000u) { x >>= 16; n += 16; }
    if (x >= 0x100u) { x >>= 8; n += 8; }
    if (x >= 0x10u) { x >>= 4; n += 4; }
    if (x >= 0x4u) { x >>= 2; n += 2; }
    if (x >= 0x2u) { x >>= 1; n += 1; }
    return n + (int32_t)x;
}

/* x / 2^n rounded half to even, 0 < n < 32 */
static inline uint32_t ariel_shift_round_even(uint32_t x, int32_t n)
{
    const uint32_t rest = x & ((1u << n) - 1u), half = 1u << (n - 1);
    const uint32_t q = x >> n;
    return q + (rest > half || (rest == half && (q & 1u)));
}

/* round_half_even(float32(acc) * scale), clamped to +-2^30, computed with integers only: what MLAS's
 * requantisation gives (cvtdq2ps, mulps, cvtps2dq; each rounds to nearest even), at a fraction of the
 * cost of soft-float on cores without an FPU. `scale_bits` are the float's bits (finite, >= 0).
 *   float32(acc) = X * 2^k0, X < 2^24 + 1 (the 24 leading bits of |acc|, rounded half to even);
 *   scale = M * 2^k1 (M < 2^24, the hidden bit added for normal floats);
 *   X * M < 2^49 exactly; the float32 product keeps its 24 leading bits (half to even): P * 2^k;
 *   P * 2^k rounded half to even to an integer.
 * A float32 product below 2^-126 would be subnormal with fewer bits, but it is < 1/2 either way: 0. */
static inline int32_t ariel_scale_round_even(int32_t acc, int32_t scale_bits)
{
    const uint32_t sb = (uint32_t)scale_bits;
    const int32_t biased = (int32_t)((sb >> 23) & 0xFFu);
    const uint32_t m = biased ? (sb & 0x7FFFFFu) | 0x800000u : sb & 0x7FFFFFu;
    int32_t k = (biased ? biased : 1) - 150;
    uint32_t x = acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc;
    uint32_t p, q;
    int32_t n;
    if (x == 0u || m == 0u) {
        return 0;
    }
    n = ariel_bit_length(x) - 24;
    if (n > 0) { /* float32(acc) */
        x = ariel_shift_round_even(x, n); /* may reach 2^24: still exact below */
        k += n;
    }
    {
        const uint64_t product = (uint64_t)x * m; /* < 2^49 */
        const uint32_t high = (uint32_t)(product >> 24);
        n = high ? ariel_bit_length(high) : 0; /* bits beyond the 24 the float keeps */
        if (n > 0) {
            const uint32_t low = (uint32_t)product & ((1u << n) - 1u); /* n <= 25 */
            const uint32_t kept = (uint32_t)(product >> n), half = 1u << (n - 1);
            p = kept + (low > half || (low == half && (kept & 1u)));
            k += n;
        } else {
            p = (uint32_t)product;
        }
    }
    /* p <= 2^24, and p >= 2^23 whenever the scale is normal */
    if (k >= 0) {
        q = k > 6 ? (1u << 30) : (p << k) > (1u << 30) ? (1u << 30) : (p << k);
    } else if (k < -25) {
        q = 0u; /* p * 2^k <= 2^24 * 2^-26 < 1/2 */
    } else {
        q = ariel_shift_round_even(p, -k);
    }
    return acc < 0 ? -(int32_t)q : (int32_t)q;
}

#endif /* ARIEL_ROUND_EVEN_H */
