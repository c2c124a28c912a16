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

#endif /* ARIEL_ROUND_EVEN_H */
