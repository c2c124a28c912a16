/* ariel_kernels.h - params structs and entry points of the portable C kernels, plus the shared
 * fixed-point helpers. Every kernel has the ABI of ariel_kernel_fn (ariel_runtime.h): it computes
 * work items [begin, end) of its op and nothing else. All compile-time work (multipliers, shifts,
 * clamp ranges, paddings) was done by the compiler; int8 kernels use no floating point.
 *
 * Adding a kernel: declare its params struct and function here, write kernels/<family>.c, and
 * give the op a `lower` in Python that fills the struct (docs/runtime.md, "how to add a kernel"). */
#ifndef ARIEL_KERNELS_H
#define ARIEL_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- requantisation ------------------------------------------------------------------------ */

enum { ARIEL_ROUND_SINGLE = 0, ARIEL_ROUND_DOUBLE = 1 };

/* LiteRT (single rounding): one 64-bit product, rounded once. |acc * multiplier| < 2^62. Right
 * shifts of negative values are arithmetic on every compiler we target (implementation-defined
 * in C99; gcc and clang document it). */
static inline int64_t ariel_mul_single(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t total_shift = 31 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return ((int64_t)acc * multiplier + round) >> total_shift;
}

/* TFLite Micro (gemmlowp double rounding): rounding doubling high multiply, then a rounding
 * divide by a power of two. */
static inline int32_t ariel_mul_double(int32_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    /* x * 2^left wraps like the int32 C code it mirrors; done unsigned to stay defined */
    const int32_t x = (int32_t)((uint32_t)acc << left);
    int64_t high;
    int64_t mask;
    int64_t remainder;
    int64_t threshold;
    if (x == INT32_MIN && multiplier == INT32_MIN) {
        high = INT32_MAX;
    } else {
        const int64_t ab = (int64_t)x * multiplier; /* |ab| <= 2^62 */
        const int64_t nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
        high = (ab + nudge) / ((int64_t)1 << 31); /* C division truncates toward zero, as gemmlowp */
    }
    mask = ((int64_t)1 << right) - 1;
    remainder = high & mask;
    threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return (int32_t)((high >> right) + (remainder > threshold ? 1 : 0));
}

static inline int64_t ariel_requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t rounding)
{
    return rounding == ARIEL_ROUND_DOUBLE ? (int64_t)ariel_mul_double(acc, multiplier, shift)
                                          : ariel_mul_single(acc, multiplier, shift);
}

static inline int8_t ariel_clamp_s8(int64_t value, int32_t lo, int32_t hi)
{
    return (int8_t)(value < lo ? lo : value > hi ? hi : value);
}

/* int32 addition that wraps (as the int32 accumulators of TFLite's kernels do) without the
 * undefined behaviour of signed overflow */
static inline int32_t ariel_wrapping_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* families declared in their own headers */
#include "ariel_kernels_conv.h"
#include "ariel_kernels_data.h"
#include "ariel_kernels_elementwise.h"
#include "ariel_kernels_nonlinear.h"

#ifdef __cplusplus
}
#endif

#endif /* ARIEL_KERNELS_H */
