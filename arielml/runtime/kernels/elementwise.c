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
 * Each input, offset by its zero point and shifted left (20 bits for 8-bit, 15 for int16), is
 * rescaled by its own multiplier; the sum is rescaled by the output's. Overflow: |x + offset| <= 510
 * for 8 bits, times 2^20 < 2^29; int16 has zero point 0: 32768 * 2^15 = 2^30. The input multipliers
 * are at most 0.5 in real terms, so |scaled a| + |scaled b| <= 2^30: the int32 sum is exact; the
 * output multiplier is < 1, so the rescaled sum plus the zero point stays far from 2^31.
 * 8-bit inputs take only 256 values: the compiler tabulates the scaled input (its numpy reference on
 * every byte), so an element costs two table loads and one 32-bit requantisation (ariel_rq). */
static inline int32_t add_sub_q16(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t sa = ariel_rq((a + p->a_offset) * (1 << p->left_shift), p->a_rq);
    const int32_t sb = ariel_rq((b + p->b_offset) * (1 << p->left_shift), p->b_rq);
    const int32_t raw = p->subtract ? sa - sb : sa + sb; /* a per-op constant: predicted every time */
    return ariel_ew_clamp(ariel_rq(raw, p->rq) + p->output_offset, p->act_min, p->act_max);
}

#define ADD_SUB_TABLE(p, a, b) \
    ariel_ew_clamp(ariel_rq((p)->a_table[(uint8_t)(a)] + (p)->b_table[(uint8_t)(b)], (p)->rq) + (p)->output_offset, \
                   (p)->act_min, (p)->act_max)

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
#define MUL_Q(p, a, b) \
    ariel_ew_clamp(ariel_wrapping_add(ariel_rq(((a) + (p)->a_offset) * ((b) + (p)->b_offset), (p)->rq), \
                                      (p)->output_offset), (p)->act_min, (p)->act_max)

/* The same arithmetic over contiguous, unbroadcast inputs (the common case), with the per-op
 * constants copied into locals first: the byte stores could alias the params, so the compiler
 * would otherwise reload them for every element. */
typedef struct {
    const int32_t *a_table, *b_table;
    int32_t multiplier, left, right, nudge16;
    int32_t a_offset, b_offset, output_offset, act_min, act_max;
} ew_constants;

static inline ew_constants ew_hoist(const ariel_binary_params *p)
{
    ew_constants k;
    k.a_table = p->a_table;
    k.b_table = p->b_table;
    k.multiplier = p->rq[0];
    k.left = p->rq[1];
    k.right = p->rq[2];
    k.nudge16 = p->rq[3];
    k.a_offset = p->a_offset;
    k.b_offset = p->b_offset;
    k.output_offset = p->output_offset;
    k.act_min = p->act_min;
    k.act_max = p->act_max;
    return k;
}

#define ADD_SUB_TABLE_FLAT(k, a, b)                                                                   \
    ariel_ew_clamp(ariel_rq_apply((k).a_table[(uint8_t)(a)] + (k).b_table[(uint8_t)(b)], (k).multiplier, \
                                  (k).left, (k).right, (k).nudge16) + (k).output_offset,               \
                   (k).act_min, (k).act_max)
#define MUL_Q_FLAT(k, a, b)                                                                            \
    ariel_ew_clamp(ariel_wrapping_add(ariel_rq_apply(((a) + (k).a_offset) * ((b) + (k).b_offset), (k).multiplier, \
                                                     (k).left, (k).right, (k).nudge16), (k).output_offset), \
                   (k).act_min, (k).act_max)

/* kernel NAME: the flat loop when neither input broadcasts, else the general broadcast loop */
#define QUANTISED_BINARY_KERNEL(NAME, T, ELEMENT, FLAT_ELEMENT)                                       \
    static ARIEL_BINARY_KERNEL(NAME##_broadcast, T, T, ELEMENT)                                         \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_binary_params *p = (const ariel_binary_params *)params;                        \
        if (p->rank == 1 && p->a_strides[0] == 1 && p->b_strides[0] == 1) {                        \
            const ew_constants k = ew_hoist(p);                                                    \
            const T *a = (const T *)buffers[0];                                                    \
            const T *b = (const T *)buffers[1];                                                    \
            T *out = (T *)buffers[2];                                                              \
            const int32_t stop = ariel_ew_stop(end, p->block, p->count);                           \
            int32_t i;                                                                             \
            for (i = begin * p->block; i < stop; i++) {                                            \
                out[i] = (T)FLAT_ELEMENT(k, a[i], b[i]);                                           \
            }                                                                                      \
        } else {                                                                                   \
            NAME##_broadcast(params, buffers, begin, end);                                         \
        }                                                                                          \
    }

/* the int32 results are already clamped to the output type's range: the stores narrow exactly */
QUANTISED_BINARY_KERNEL(ariel_add_sub_q_s8, int8_t, ADD_SUB_TABLE, ADD_SUB_TABLE_FLAT)
QUANTISED_BINARY_KERNEL(ariel_add_sub_q_u8, uint8_t, ADD_SUB_TABLE, ADD_SUB_TABLE_FLAT)
ARIEL_BINARY_KERNEL(ariel_add_sub_q_s16, int16_t, int16_t, add_sub_q16)
ARIEL_BINARY_KERNEL(ariel_add_sub_pot_s16, int16_t, int16_t, add_sub_pot)
QUANTISED_BINARY_KERNEL(ariel_mul_q_s8, int8_t, MUL_Q, MUL_Q_FLAT)
QUANTISED_BINARY_KERNEL(ariel_mul_q_u8, uint8_t, MUL_Q, MUL_Q_FLAT)
QUANTISED_BINARY_KERNEL(ariel_mul_q_s16, int16_t, MUL_Q, MUL_Q_FLAT)

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
