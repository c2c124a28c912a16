/* kernels/elementwise.c - ADD, SUB, MUL, MAXIMUM, MINIMUM on integers, with broadcasting
 * (float32: elementwise_f32.c; single-input kernels: unary.c). The loop over the output and the
 * broadcast cursor are in ariel_elementwise_loops.h. */
#include "ariel_elementwise_loops.h"

/* gemmlowp's RoundingDivideByPOT: x / 2^exponent rounded half away from zero, 0 <= exponent <= 31 */
static inline int32_t rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* ---- quantised ADD / SUB, TFLite's general path ------------------------------------------------
 * Overflow: |x + offset| <= 510 for 8 bits, times 2^20 < 2^29; int16 has zero point 0: 32768 * 2^15
 * = 2^30. The input multipliers are at most 0.5 in real terms, so |scaled a| + |scaled b| <= 2^30:
 * the int32 sum is exact; the output multiplier is < 1, so the rescaled sum plus the zero point
 * stays far from 2^31. */
static inline int32_t add_sub_q(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t sa = (int32_t)ariel_requantize((a + p->a_offset) * (1 << p->left_shift), p->a_multiplier,
                                                 p->a_shift, p->rounding);
    const int32_t sb = (int32_t)ariel_requantize((b + p->b_offset) * (1 << p->left_shift), p->b_multiplier,
                                                 p->b_shift, p->rounding);
    const int32_t raw = p->subtract ? sa - sb : sa + sb;
    const int64_t scaled = ariel_requantize(raw, p->output_multiplier, p->output_shift, p->rounding);
    return ariel_ew_clamp(scaled + p->output_offset, p->act_min, p->act_max);
}

/* int16 with power-of-two scales: one input is divided by a power of two, then a saturating add */
static inline int32_t add_sub_pot(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t sa = rounding_divide_by_pot(a, p->a_right_shift);
    const int32_t sb = rounding_divide_by_pot(b, p->b_right_shift);
    const int32_t raw = ariel_ew_clamp(p->subtract ? sa - sb : sa + sb, -32768, 32767);
    return ariel_ew_clamp(raw, p->act_min, p->act_max);
}

/* quantised MUL. Overflow: |(a + a_offset) * (b + b_offset)| <= 2^30 (8-bit: 510^2; int16 has
 * zero point 0: 32768^2); the rescaled product and the zero point add with int32 wrap-around, as
 * TFLite's int32 arithmetic does. */
static inline int32_t mul_q(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t product = (a + p->a_offset) * (b + p->b_offset);
    const int32_t scaled = (int32_t)ariel_requantize(product, p->output_multiplier, p->output_shift, p->rounding);
    return ariel_ew_clamp(ariel_wrapping_add(scaled, p->output_offset), p->act_min, p->act_max);
}

/* the int32 results are already clamped to the output type's range: the stores narrow exactly */
ARIEL_BINARY_KERNEL(ariel_add_sub_q_s8, int8_t, int8_t, add_sub_q)
ARIEL_BINARY_KERNEL(ariel_add_sub_q_u8, uint8_t, uint8_t, add_sub_q)
ARIEL_BINARY_KERNEL(ariel_add_sub_q_s16, int16_t, int16_t, add_sub_q)
ARIEL_BINARY_KERNEL(ariel_add_sub_pot_s16, int16_t, int16_t, add_sub_pot)
ARIEL_BINARY_KERNEL(ariel_mul_q_s8, int8_t, int8_t, mul_q)
ARIEL_BINARY_KERNEL(ariel_mul_q_u8, uint8_t, uint8_t, mul_q)
ARIEL_BINARY_KERNEL(ariel_mul_q_s16, int16_t, int16_t, mul_q)

/* ---- int32: two's-complement wrap-around (done unsigned, so it is defined C), then the clamp ---- */
#define ADD_S32(p, a, b) ariel_ew_clamp((int32_t)((uint32_t)(a) + (uint32_t)(b)), (p)->act_min, (p)->act_max)
#define SUB_S32(p, a, b) ariel_ew_clamp((int32_t)((uint32_t)(a) - (uint32_t)(b)), (p)->act_min, (p)->act_max)
#define MUL_S32(p, a, b) ariel_ew_clamp((int32_t)((uint32_t)(a) * (uint32_t)(b)), (p)->act_min, (p)->act_max)
ARIEL_BINARY_KERNEL(ariel_add_s32, int32_t, int32_t, ADD_S32)
ARIEL_BINARY_KERNEL(ariel_sub_s32, int32_t, int32_t, SUB_S32)
ARIEL_BINARY_KERNEL(ariel_mul_s32, int32_t, int32_t, MUL_S32)

/* ---- MAXIMUM / MINIMUM: TFLite's a > b ? a : b (and a < b ? a : b) on the stored values --------- */
#define MAX_OF(p, a, b) ((a) > (b) ? (a) : (b))
#define MIN_OF(p, a, b) ((a) < (b) ? (a) : (b))
ARIEL_BINARY_KERNEL(ariel_maximum_s8, int8_t, int8_t, MAX_OF)
ARIEL_BINARY_KERNEL(ariel_maximum_u8, uint8_t, uint8_t, MAX_OF)
ARIEL_BINARY_KERNEL(ariel_maximum_s16, int16_t, int16_t, MAX_OF)
ARIEL_BINARY_KERNEL(ariel_maximum_s32, int32_t, int32_t, MAX_OF)
ARIEL_BINARY_KERNEL(ariel_minimum_s8, int8_t, int8_t, MIN_OF)
ARIEL_BINARY_KERNEL(ariel_minimum_u8, uint8_t, uint8_t, MIN_OF)
ARIEL_BINARY_KERNEL(ariel_minimum_s16, int16_t, int16_t, MIN_OF)
ARIEL_BINARY_KERNEL(ariel_minimum_s32, int32_t, int32_t, MIN_OF)
