/* ariel_kernels.h - params structs and entry points of the portable C kernels, plus the shared
 * fixed-point helpers. Every kernel has the ABI of ariel_kernel_fn (ariel_runtime.h): it computes
 * work items [begin, end) of its op and nothing else. All compile-time work (multipliers, shifts,
 * clamp ranges, paddings) was done by the compiler; int8 kernels use no floating point.
 *
 * Adding a kernel: write kernels/<op>.c declaring its params struct and function in its own
 * interface block (arielml/codegen/kernel_interface.py), and give the op a `lower` in Python that
 * fills the struct (docs/runtime.md, "how to add a kernel"). The families below predate that. */
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

/* ---- requantisation in 32-bit arithmetic ------------------------------------------------------
 * The helpers above multiply in 64 bits, which a Cortex-M0+ (no SMULL) does through libgcc calls
 * (~240 cycles per output). ariel_rq_apply gives the same results with 32-bit operations only, and
 * takes the rounding mode as data: the compiler turns (multiplier, shift, rounding) into a record
 * {multiplier, left, right, nudge16} (arielml/ops/kernel_support.py, requant_records), so a kernel
 * never branches on the mode.
 *
 * Why it is exact. Let x = acc * 2^left (wrapped to int32, as the C reference wraps), u = |x|
 * (<= 2^31), m = multiplier in [0, 2^31), P = u * m < 2^62, neg = 1 if x < 0, and right >= 0.
 *  - double rounding, x >= 0: high = floor((P + 2^30) / 2^31); x < 0: high = -floor((P + 2^30 - 1)
 *    / 2^31) (gemmlowp's nudge, then truncation toward zero). The rounding divide by 2^right rounds
 *    half away from zero, i.e. |result| = floor((|high| + h) / 2^right), h = 2^(right-1) (0 when
 *    right = 0). So |result| = floor((floor((P + c - neg) / 2^31) + h) / 2^right), c = 2^30.
 *  - single rounding: result = floor((x * m + 2^(30+right)) / 2^(31+right)) (arithmetic shift),
 *    so |result| = floor((P + 2^(30+right) - neg) / 2^(31+right)). For right = 0 that is the double
 *    formula with c = 2^30. For right >= 1, 2^(30+right) = 2^31 * h, and floor(floor(a)/n) =
 *    floor(a/n) gives |result| = floor((floor((P - neg) / 2^31) + h) / 2^right)
 *    = floor((floor((P + 2^31 - neg) / 2^31) + h - 1) / 2^right): c = 2^31, and 1 less added.
 *    With left > 0 (TFLite shifts by 31 - left) the identity floor((A 2^left + B) / 2^31) =
 *    floor((A + floor(B / 2^left)) / 2^(31-left)) shows that x = acc * 2^left with c = 2^30 is the
 *    same rounding, provided acc * 2^left does not wrap: callers with single rounding and left > 0
 *    first clamp acc to [-2^(31-left), 2^(31-left)) (a larger |acc| gives |result| >= 2^29 when
 *    m >= 2^30, which the output clamp saturates either way).
 * The 62-bit P is never formed: with u = uh 2^16 + ul (uh <= 2^15) and m = mh 2^15 + ml (mh < 2^16,
 * ml < 2^15), P = uh mh 2^31 + uh ml 2^16 + b 2^15 + ul ml, b = ul mh < 2^32, so
 * floor((P + k) / 2^31) = uh mh + floor(t / 2^15) with t = floor((P + k - uh mh 2^31) / 2^16) =
 * uh ml + floor(b / 2) + floor(((b mod 2) 2^15 + ul ml - neg) / 2^16) + c / 2^16 (c is a multiple
 * of 2^16): uh ml < 2^30, b / 2 < 2^31, the carry term is in [-1, 2^16), c / 2^16 >= 2^14, so
 * 0 <= t < 2^32 (modular sums give its exact value), and uh mh + t / 2^15 <= 2^31. The record
 * stores nudge16 = c / 2^16: 2^14 (double rounding, or right = 0) or 2^15 (single, right >= 1;
 * its bit 15 is the 1 to take off).
 * Checked against arielml.ops.quant_math on millions of random triples (tests/test_requant_c.py). */
#define ARIEL_RQ_WORDS 4 /* int32 words per record: multiplier, left, right, nudge16 = c / 2^16 */

static inline int32_t ariel_rq_apply(int32_t acc, int32_t multiplier, int32_t left, int32_t right, int32_t nudge16)
{
    const uint32_t x = (uint32_t)acc << left;
    const int32_t sign = (int32_t)x >> 31;                   /* -neg */
    const uint32_t u = (x ^ (uint32_t)sign) - (uint32_t)sign; /* |x|; 2^31 for INT32_MIN */
    const uint32_t m = (uint32_t)multiplier;
    const uint32_t uh = u >> 16, ul = u & 0xFFFFu;
    const uint32_t mh = m >> 15, ml = m & 0x7FFFu;
    const uint32_t b = ul * mh;
    const int32_t carry = ((int32_t)((b & 1u) << 15) + (int32_t)(ul * ml) + sign) >> 16;
    const uint32_t t = uh * ml + (b >> 1) + (uint32_t)carry + (uint32_t)nudge16;
    const uint32_t high = uh * mh + (t >> 15);
    const uint32_t magnitude = (high + ((1u << right) >> 1) - ((uint32_t)nudge16 >> 15)) >> right;
    return (int32_t)((magnitude ^ (uint32_t)sign) - (uint32_t)sign);
}

/* a record of ARIEL_RQ_WORDS words (as emitted by the compiler) */
static inline int32_t ariel_rq(int32_t acc, const int32_t *record)
{
    return ariel_rq_apply(acc, record[0], record[1], record[2], record[3]);
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
