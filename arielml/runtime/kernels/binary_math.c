/* kernels/binary_math.c - DIV, FLOOR_DIV, FLOOR_MOD, SQUARED_DIFFERENCE, PRELU on integers with
 * broadcasting (arielml/ops/binary_math.py; float32 in binary_math_f32.c). Stored-value arithmetic wraps in two's complement (done unsigned or in int64
 * to stay defined); a zero divisor gives 0 (TFLite stops with an error there). Broadcasting: the
 * cursor of ariel_elementwise_loops.h over ariel_binary_params. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
/* ariel_binary_params (count, block, rank, dims, a_strides, b_strides; act_min/act_max
 * for DIV's activation and the quantised output range; the quantised kernels their offsets and
 * ariel_rq records: SQUARED_DIFFERENCE rq (output) and, int16, a_rq / b_rq (inputs), 8-bit
 * a_table / b_table (scaled inputs); PRELU a_rq (x >= 0) and b_rq (x < 0); DIV as below).
 * buffers: a, b, out */
void ariel_div_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* quantised DIV: a_table[(uint8_t)a] = leading sign bits of (a - zp) | those of -(a - zp) << 8;
 * b_table[(uint8_t)b] = Q0.31 reciprocal of |b - zp| (0: zero divisor), b_table[256 + (uint8_t)b] =
 * its shift | (b - zp < 0) << 8 */
void ariel_div_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_div_q_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_div_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_div_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_div_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_mod_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_mod_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_mod_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_mod_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_squared_difference_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_squared_difference_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_squared_difference_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_prelu_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_prelu_q_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_prelu_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end); /* int8 alpha */
/* ariel:end-interface */

/* ---- stored-value arithmetic ------------------------------------------------------------------- */

/* truncating division; INT32_MIN / -1 wraps (int64 quotient) */
static inline int32_t div_s32(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t q = b == 0 ? 0 : (int32_t)(uint32_t)(uint64_t)((int64_t)a / b);
    return ariel_ew_clamp(q, p->act_min, p->act_max);
}

/* towards minus infinity, in int64: no overflow for 32-bit operands; the caller's cast wraps */
static inline int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q;
    if (b == 0) {
        return 0;
    }
    q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* remainder with the divisor's sign; b == -1 is 0 (and avoids INT64_MIN % -1) */
static inline int64_t floor_mod(int64_t a, int64_t b)
{
    int64_t r;
    if (b == 0 || b == -1) {
        return 0;
    }
    r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

#define DIV_S32(p, a, b) div_s32(p, a, b)
#define FLOOR_DIV_S8(p, a, b) ((int8_t)(uint8_t)floor_div(a, b))
#define FLOOR_DIV_S16(p, a, b) ((int16_t)(uint16_t)floor_div(a, b))
#define FLOOR_DIV_S32(p, a, b) ((int32_t)(uint32_t)floor_div(a, b))
#define FLOOR_MOD_ANY(p, a, b) floor_mod(a, b)
/* (a - b)^2 wrapping, as TFLite's int32 arithmetic */
#define SQUARED_DIFFERENCE_S32(p, a, b) \
    ((int32_t)(((uint32_t)(a) - (uint32_t)(b)) * ((uint32_t)(a) - (uint32_t)(b))))
ARIEL_BINARY_KERNEL(ariel_div_s32, int32_t, int32_t, DIV_S32)
ARIEL_BINARY_KERNEL(ariel_floor_div_s8, int8_t, int8_t, FLOOR_DIV_S8)
ARIEL_BINARY_KERNEL(ariel_floor_div_s16, int16_t, int16_t, FLOOR_DIV_S16)
ARIEL_BINARY_KERNEL(ariel_floor_div_s32, int32_t, int32_t, FLOOR_DIV_S32)
ARIEL_BINARY_KERNEL(ariel_floor_mod_s8, int8_t, int8_t, FLOOR_MOD_ANY)
ARIEL_BINARY_KERNEL(ariel_floor_mod_s16, int16_t, int16_t, FLOOR_MOD_ANY)
ARIEL_BINARY_KERNEL(ariel_floor_mod_s32, int32_t, int32_t, FLOOR_MOD_ANY)
ARIEL_BINARY_KERNEL(ariel_floor_mod_s64, int64_t, int64_t, FLOOR_MOD_ANY)
ARIEL_BINARY_KERNEL(ariel_squared_difference_s32, int32_t, int32_t, SQUARED_DIFFERENCE_S32)

/* ---- quantised DIV: TFLite's DivElementwise with the divisor's reciprocal and both headrooms
 * tabulated per byte (|dividend| <= 255 fits its headroom shift). The last step is a rounding right
 * shift by -total, which exceeds 31 for small dividends: undefined in C, and LiteRT's x86 build then
 * uses a mask of (1 << (e mod 64)) - 1 truncated to 32 bits and shifts by e mod 32 (see
 * ops/binary_math.py); done explicitly here, so every core gives LiteRT's bytes. ---------------- */
#define ARIEL_RQ_NUDGE (1 << 14) /* ariel_rq_apply's nudge16 for a rounding doubling high multiply */

static inline int32_t rounding_shift_x86(int32_t x, int32_t e)
{
    const int32_t k = e & 63; /* (1 << k) - 1 in 64 bits, truncated to 32: all ones from k = 32 */
    const int32_t mask = k >= 32 ? -1 : (int32_t)((1u << k) - 1u);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> (e & 31)) + ((x & mask) > threshold ? 1 : 0);
}

static inline int32_t div_q(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t inverse = p->b_table[(uint8_t)b];
    const int32_t terms = p->b_table[256 + (uint8_t)b];
    const int32_t negate = terms >> 8;
    const int32_t headroom = (p->a_table[(uint8_t)a] >> (negate ? 8 : 0)) & 0xFF;
    const int32_t x = negate ? -(a + p->a_offset) : a + p->a_offset;
    int32_t unscaled, high;
    if (inverse == 0) {
        return ariel_ew_clamp(p->output_offset, p->act_min, p->act_max); /* zero divisor: undefined in TFLite */
    }
    /* both are rounding doubling high multiplies (no right shift, where the two roundings agree),
     * in 32-bit operations (a Cortex-M0+ has no 64-bit product) */
    unscaled = ariel_rq_apply(x, inverse, headroom, 0, ARIEL_RQ_NUDGE);
    high = ariel_rq_apply(unscaled, p->output_multiplier, 0, 0, ARIEL_RQ_NUDGE);
    return ariel_ew_clamp((int64_t)rounding_shift_x86(high, (terms & 0xFF) + headroom - p->output_shift) +
                              p->output_offset, p->act_min, p->act_max);
}

ARIEL_BINARY_KERNEL(ariel_div_q_s8, int8_t, int8_t, div_q)
ARIEL_BINARY_KERNEL(ariel_div_q_u8, uint8_t, uint8_t, div_q)

/* ---- quantised SQUARED_DIFFERENCE ---------------------------------------------------------------
 * int8: both scaled values from the tables (|.| < 2^14 with left shift 7, so the square < 2^30);
 * int16 (left shift 0): scaled here, |difference| < 2^16 and its square wraps like TFLite's int32 */
static inline int32_t squared_difference_out(const ariel_binary_params *p, int32_t sa, int32_t sb)
{
    const int32_t square = (int32_t)(((uint32_t)sa - (uint32_t)sb) * ((uint32_t)sa - (uint32_t)sb));
    return ariel_ew_clamp((int64_t)ariel_rq(square, p->rq) + p->output_offset, p->act_min, p->act_max);
}

static inline int32_t squared_difference_s16(const ariel_binary_params *p, int32_t a, int32_t b)
{
    const int32_t sa = ariel_rq((a + p->a_offset) * (1 << p->left_shift), p->a_rq);
    const int32_t sb = ariel_rq((b + p->b_offset) * (1 << p->left_shift), p->b_rq);
    return squared_difference_out(p, sa, sb);
}

#define SQUARED_DIFFERENCE_Q8(p, a, b) squared_difference_out(p, (p)->a_table[(uint8_t)(a)], (p)->b_table[(uint8_t)(b)])
ARIEL_BINARY_KERNEL(ariel_squared_difference_q_s8, int8_t, int8_t, SQUARED_DIFFERENCE_Q8)
ARIEL_BINARY_KERNEL(ariel_squared_difference_q_s16, int16_t, int16_t, squared_difference_s16)

/* ---- quantised PRELU: b is alpha. (x - zp) * (alpha - alpha zp) < 2^24 (int16 x int8) ------------------------------------------------------------- */
static inline int32_t prelu_q(const ariel_binary_params *p, int32_t x, int32_t alpha)
{
    const int32_t centred = x + p->a_offset;
    int64_t out;
    if (centred >= 0) {
        out = ariel_rq(centred, p->a_rq);
    } else {
        const int32_t product = (int32_t)((uint32_t)centred * (uint32_t)(alpha + p->b_offset));
        out = ariel_rq(product, p->b_rq);
    }
    return ariel_ew_clamp(out + p->output_offset, p->act_min, p->act_max);
}

ARIEL_BINARY_KERNEL(ariel_prelu_q_s8, int8_t, int8_t, prelu_q)
ARIEL_BINARY_KERNEL(ariel_prelu_q_u8, uint8_t, uint8_t, prelu_q)

/* int16 input with an int8 alpha: ARIEL_BINARY_KERNEL's loop with two element types */
void ariel_prelu_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_binary_params *p = (const ariel_binary_params *)params;
    const int16_t *x = (const int16_t *)buffers[0];
    const int8_t *alpha = (const int8_t *)buffers[1];
    int16_t *out = (int16_t *)buffers[2];
    const int32_t inner_x = p->a_strides[p->rank - 1];
    const int32_t inner_alpha = p->b_strides[p->rank - 1];
    const int32_t last = p->dims[p->rank - 1];
    const int32_t stop = ariel_ew_stop(end, p->block, p->count);
    int32_t i = begin * p->block;
    ariel_ew_cursor c;
    if (i >= stop) {
        return;
    }
    ariel_ew_seek(p, i, &c);
    while (i < stop) {
        const int32_t left = last - c.coord[p->rank - 1];
        const int32_t run = left < stop - i ? left : stop - i;
        int32_t k;
        for (k = 0; k < run; k++) {
            out[i + k] = (int16_t)prelu_q(p, x[c.a + k * inner_x], alpha[c.b + k * inner_alpha]);
        }
        i += run;
        ariel_ew_advance(p, &c, run);
    }
}
