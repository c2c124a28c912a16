/* kernels/softmax.c - SOFTMAX and LOG_SOFTMAX over the last axis; work item = one row.
 *
 * int8/uint8 input: the exponential of every possible difference to the row maximum (0..255 codes
 * below it) was computed at compile time with gemmlowp's exp_on_negative_values (exp_table, Q0.31,
 * 0 for differences below diff_min); the kernel sums them in Q12.19, takes gemmlowp's reciprocal
 * (softmax) or TFLite's fixed-point log (log-softmax) of the sum and scales. int16: TFLite's
 * interpolated exp and 1/(1+x) tables. (float32: softmax_f32.c, so integer models link no float code.)
 *
 * The gemmlowp helpers below mirror arielml/ops/fixed_point.py operation for operation; all int32
 * arithmetic that can wrap is done in uint32 (wrapping is what the reference does, signed overflow
 * would be undefined). Right shifts of negative values are arithmetic (gcc, clang). */
#include "ariel_kernels.h"

/* ---- gemmlowp fixed point ------------------------------------------------------------------ */

#define FX_48_OVER_17 1515870810      /* Q2.29 */
#define FX_NEG_32_OVER_17 (-1010580540) /* Q2.29 */
#define FX_LOG_2 1488522236           /* Q0.31 constants of TFLite's log approximation */
#define FX_SQRT_SQRT_HALF 1805811301
#define FX_SQRT_HALF 1518500250
#define FX_ONE_QUARTER 536870912
#define FX_ALPHA_N 117049297
#define FX_ALPHA_D 127690142
#define FX_ALPHA_I 1057819769
#define FX_ALPHA_F 638450708

static int32_t fx_wrap(int64_t v)
{
    return (int32_t)(uint32_t)(uint64_t)v;
}

static int32_t fx_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t fx_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties away from zero */
static int32_t fx_srdhm(int32_t a, int32_t b)
{
    int64_t total;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    total = (int64_t)a * b; /* |a * b| < 2^62 */
    total += total >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* truncating division by 2^31, done with shifts (no 64-bit division on small cores) */
    return (int32_t)(total >= 0 ? total >> 31 : -((-total) >> 31));
}

/* RoundingDivideByPOT, exponent 0..31 */
static int32_t fx_rdbp(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((uint32_t)1 << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* SaturatingRoundingMultiplyByPOT for an exponent 0..31: x * 2^exponent saturated (gemmlowp's
 * threshold test, not a clamp of the product) */
static int32_t fx_shl_sat(int32_t x, int32_t exponent)
{
    int32_t threshold;
    if (exponent == 0) {
        return x;
    }
    threshold = ((int32_t)1 << (31 - exponent)) - 1;
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

static int32_t fx_sat64(int64_t v)
{
    return (int32_t)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
}

/* (a + b) / 2 rounded half away from zero */
static int32_t fx_rounding_half_sum(int32_t a, int32_t b)
{
    int64_t total = (int64_t)a + b;
    total += total >= 0 ? 1 : -1;
    return (int32_t)(total >= 0 ? total / 2 : -((-total) / 2));
}

/* leading zero bits of x as uint32 (32 for 0) */
static int32_t fx_clz(uint32_t x)
{
    int32_t n = 0;
    if (x == 0u) {
        return 32;
    }
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        n++;
    }
    return n;
}

/* 1 / (1 + a) for a in [0, 1) in Q0.31: three Newton-Raphson steps on 1 / ((1 + a) / 2) in Q2.29 */
static int32_t fx_one_over_one_plus_x(int32_t a)
{
    const int32_t half_denominator = fx_rounding_half_sum(a, INT32_MAX);
    int32_t x = fx_add(FX_48_OVER_17, fx_srdhm(half_denominator, FX_NEG_32_OVER_17));
    int k;
    for (k = 0; k < 3; k++) {
        const int32_t one_minus = fx_sub((int32_t)1 << 29, fx_srdhm(half_denominator, x));
        x = fx_add(x, fx_shl_sat(fx_srdhm(x, one_minus), 2));
    }
    return fx_shl_sat(x, 1);
}

/* log(x) for x >= 1 given in Q12.19, as Q5.26 (TFLite's log_x_for_x_greater_than_or_equal_to_1
 * with 12 input and 5 output integer bits; accumulation in Q6.25) */
static int32_t fx_log_q12_to_q5(int32_t z_a)
{
    enum { INPUT_BITS = 12, ACCUM_BITS = 6 };
    const int32_t shifted_quarter = fx_rdbp(FX_ONE_QUARTER, ACCUM_BITS);
    const int32_t z_a_headroom_plus_1 = fx_clz((uint32_t)z_a);
    const int32_t r_a_tmp = fx_shl_sat(z_a, z_a_headroom_plus_1 - 1);
    const int32_t r_a = fx_shl_sat(fx_srdhm(r_a_tmp, FX_SQRT_HALF), 1);
    const int32_t z_a_pow_2_adj = fx_sat64(
        (int64_t)fx_shl_sat(INPUT_BITS - z_a_headroom_plus_1, 31 - ACCUM_BITS) + shifted_quarter);
    const int32_t z_b = fx_srdhm(z_a, FX_SQRT_HALF);
    const int32_t z_b_headroom = fx_clz((uint32_t)z_b) - 1;
    const int32_t r_b = fx_shl_sat(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = fx_sat64(
        (int64_t)fx_shl_sat(INPUT_BITS - z_b_headroom, 31 - ACCUM_BITS) - shifted_quarter);
    const int32_t r = r_a < r_b ? r_a : r_b;
    const int32_t z_pow_2_adj = z_a_pow_2_adj > z_b_pow_2_adj ? z_a_pow_2_adj : z_b_pow_2_adj;
    const int32_t p = fx_rounding_half_sum(r, FX_SQRT_SQRT_HALF);
    const int32_t q_half = fx_sub(r, FX_SQRT_SQRT_HALF);
    const int32_t q = fx_add(q_half, q_half);
    const int32_t common_sq = fx_srdhm(q, q);
    const int32_t num = fx_add(fx_srdhm(q, r), fx_srdhm(fx_srdhm(q, common_sq), FX_ALPHA_N));
    const int32_t denom_minus_one = fx_add(
        fx_srdhm(p, fx_add(fx_add(FX_ALPHA_I, q), fx_srdhm(FX_ALPHA_D, common_sq))), fx_srdhm(FX_ALPHA_F, q));
    const int32_t recip_denom = fx_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = fx_rdbp(num, ACCUM_BITS);
    const int32_t total = fx_add(fx_srdhm(z_pow_2_adj, FX_LOG_2), fx_srdhm(num_scaled, recip_denom));
    return fx_shl_sat(total, ACCUM_BITS - 5);
}

/* ---- int8 / uint8 input ---------------------------------------------------------------------- */

enum { OUT_S8 = 0, OUT_U8 = 1, OUT_S16 = 2 };

static int32_t load_q8(const void *data, int32_t index, int is_signed)
{
    return is_signed ? ((const int8_t *)data)[index] : ((const uint8_t *)data)[index];
}

static int32_t row_max_q8(const void *input, int32_t base, int32_t depth, int is_signed)
{
    int32_t max = load_q8(input, base, is_signed);
    int32_t j;
    for (j = 1; j < depth; j++) {
        const int32_t x = load_q8(input, base + j, is_signed);
        max = x > max ? x : max;
    }
    return max;
}

/* Sum of the exponentials in Q12.19. Each term is rdbp(exp, 12) <= 2^19, so with depth <= 4095
 * the sum stays below 2^31 (the compiler rejects longer rows); the row maximum alone gives 2^19. */
static int32_t row_exp_sum_q8(const void *input, int32_t base, int32_t depth, int32_t max, int is_signed,
                              const int32_t *exp_table)
{
    int32_t sum = 0;
    int32_t j;
    for (j = 0; j < depth; j++) {
        sum += fx_rdbp(exp_table[max - load_q8(input, base + j, is_signed)], 12);
    }
    return sum;
}

/* One body for the four type pairs: the per-element type tests cost little next to the 64-bit
 * multiplies, and keep the code small on flash-limited parts. */
static void softmax_q8_rows(const ariel_softmax_q8_params *p, void *const *buffers, int32_t begin, int32_t end,
                            int in_signed, int out_kind)
{
    const void *input = buffers[0];
    const int32_t out_min = out_kind == OUT_S8 ? -128 : out_kind == OUT_U8 ? 0 : -32768;
    const int32_t out_max = out_kind == OUT_S8 ? 127 : out_kind == OUT_U8 ? 255 : 32767;
    const int32_t out_bits = out_kind == OUT_S16 ? 16 : 8;
    int32_t row;

    end = end < p->rows ? end : p->rows; /* an empty tensor still has one (empty) work item */
    for (row = begin; row < end; row++) {
        const int32_t base = row * p->depth;
        const int32_t max = row_max_q8(input, base, p->depth, in_signed);
        const int32_t sum = row_exp_sum_q8(input, base, p->depth, max, in_signed, p->exp_table);
        /* GetReciprocal: sum >= 2^19 (1.0), so headroom_plus_one is 1..12 and the shift is defined */
        const int32_t headroom_plus_one = fx_clz((uint32_t)sum);
        const int32_t shifted_minus_one = (int32_t)(((uint32_t)sum << headroom_plus_one) - 0x80000000u);
        const int32_t reciprocal = fx_one_over_one_plus_x(shifted_minus_one);
        /* 23..34 for 8-bit outputs, 15..26 for int16. Above 31 (a sum of 512 or more, possible
         * only for rows of 512 or more) LiteRT aborts; the reference computes in int64 and gets 0
         * from every term (0 <= srdhm(...) < 2^31 <= the rounding threshold), as done here. */
        const int32_t exponent = (12 - headroom_plus_one) + 31 - out_bits;
        int32_t j;
        for (j = 0; j < p->depth; j++) {
            const int32_t e = p->exp_table[max - load_q8(input, base + j, in_signed)];
            const int32_t scaled = exponent > 31 ? 0 : fx_rdbp(fx_srdhm(reciprocal, e), exponent);
            int32_t v = scaled + out_min; /* 0 <= scaled <= 2^(31 - exponent) <= 2^16 */
            v = v > out_max ? out_max : v;
            if (out_kind == OUT_S8) {
                ((int8_t *)buffers[1])[base + j] = (int8_t)v;
            } else if (out_kind == OUT_U8) {
                ((uint8_t *)buffers[1])[base + j] = (uint8_t)v;
            } else {
                ((int16_t *)buffers[1])[base + j] = (int16_t)v;
            }
        }
    }
}

void ariel_softmax_s8_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    softmax_q8_rows((const ariel_softmax_q8_params *)params, buffers, begin, end, 1, OUT_S8);
}

void ariel_softmax_u8_u8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    softmax_q8_rows((const ariel_softmax_q8_params *)params, buffers, begin, end, 0, OUT_U8);
}

void ariel_softmax_s8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    softmax_q8_rows((const ariel_softmax_q8_params *)params, buffers, begin, end, 1, OUT_S16);
}

void ariel_softmax_u8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    softmax_q8_rows((const ariel_softmax_q8_params *)params, buffers, begin, end, 0, OUT_S16);
}

/* LOG_SOFTMAX: (difference in Q5.26) - log(sum) in Q5.26, to the output scale 16/256 with the
 * zero point at the top of the range; differences too far below the maximum give the minimum. */
static void log_softmax_q8_rows(const ariel_log_softmax_q8_params *p, void *const *buffers, int32_t begin,
                                int32_t end, int is_signed)
{
    const void *input = buffers[0];
    const int32_t out_min = is_signed ? -128 : 0;
    const int32_t out_max = is_signed ? 127 : 255;
    int32_t row;

    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const int32_t base = row * p->depth;
        const int32_t max = row_max_q8(input, base, p->depth, is_signed);
        const int32_t sum = row_exp_sum_q8(input, base, p->depth, max, is_signed, p->exp_table);
        const int32_t log_sum = fx_log_q12_to_q5(sum);
        /* the smallest difference whose result is still representable after the subtraction */
        const int64_t lowest = ariel_requantize(fx_add(log_sum, INT32_MIN), p->reverse_multiplier,
                                                p->reverse_shift, p->rounding);
        const int64_t adjusted_diff_min = lowest > p->diff_min - 1 ? lowest : p->diff_min - 1;
        int32_t j;
        for (j = 0; j < p->depth; j++) {
            const int32_t diff = load_q8(input, base + j, is_signed) - max; /* -255..0 */
            int32_t v = out_min;
            if (diff > adjusted_diff_min) {
                const int32_t scaled = fx_wrap(ariel_requantize(diff, p->multiplier, p->shift, p->rounding));
                v = fx_rdbp(fx_sub(scaled, log_sum), 31 - 5 - 4) + out_max;
                v = v < out_min ? out_min : v > out_max ? out_max : v;
            }
            if (is_signed) {
                ((int8_t *)buffers[1])[base + j] = (int8_t)v;
            } else {
                ((uint8_t *)buffers[1])[base + j] = (uint8_t)v;
            }
        }
    }
}

void ariel_log_softmax_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    log_softmax_q8_rows((const ariel_log_softmax_q8_params *)params, buffers, begin, end, 1);
}

void ariel_log_softmax_u8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    log_softmax_q8_rows((const ariel_log_softmax_q8_params *)params, buffers, begin, end, 0);
}

/* ---- int16 ------------------------------------------------------------------------------------ */

/* TFLite's LUTLookup for int16: the top 9 bits pick the segment, the low 7 interpolate */
static int32_t lookup_s16(int32_t x, const int16_t *table)
{
    const int32_t index = 256 + (x >> 7);
    const int32_t offset = x & 0x7F;
    const int32_t base = table[index];
    const int32_t slope = (int16_t)(uint16_t)(uint32_t)(table[index + 1] - base);
    return (int16_t)(uint16_t)(uint32_t)(base + ((slope * offset + 64) >> 7));
}

static int32_t exp_s16(const ariel_softmax_s16_params *p, int32_t diff)
{
    const int64_t scaled = (int64_t)fx_wrap(ariel_requantize(diff, p->multiplier, p->shift, p->rounding)) + 32767;
    return lookup_s16((int32_t)(scaled < -32768 ? -32768 : scaled > 32767 ? 32767 : scaled), p->exp_table);
}

/* The compiler checked that both tables are >= 0 and that exp of a zero difference is >= 2^14:
 * then the sum of exponentials is in [2^14, 2^31) for depth <= 65536, headroom_plus_one is 1..17,
 * and exp * reciprocal + rounding < 2^30 + 2^29. */
void ariel_softmax_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_softmax_s16_params *p = (const ariel_softmax_s16_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    int16_t *output = (int16_t *)buffers[1];
    int32_t row;

    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const int16_t *x = input + row * p->depth;
        int16_t *y = output + row * p->depth;
        int32_t max = x[0];
        int32_t sum = 0;
        int32_t headroom_plus_one, normalised, reciprocal, right_shift, j;
        for (j = 1; j < p->depth; j++) {
            max = x[j] > max ? x[j] : max;
        }
        for (j = 0; j < p->depth; j++) {
            sum += exp_s16(p, x[j] - max);
        }
        headroom_plus_one = fx_clz((uint32_t)sum);
        /* the sum normalised to [2^30, 2^31), then to Q1.15 of [1, 2): at most 2^17 */
        normalised = (int32_t)((((uint32_t)sum << (headroom_plus_one - 1)) + (1u << 13)) >> 14);
        normalised -= (1 << 15) + (1 << 16); /* 1/(1+x) on x in [0, 1] mapped to [-32768, 32767] */
        reciprocal = lookup_s16(normalised < -32768 ? -32768 : normalised > 32767 ? 32767 : normalised,
                                p->reciprocal_table);
        right_shift = 31 - headroom_plus_one;
        for (j = 0; j < p->depth; j++) {
            const int32_t v = (exp_s16(p, x[j] - max) * reciprocal + ((int32_t)1 << (right_shift - 1))) >> right_shift;
            y[j] = (int16_t)(v < 0 ? 0 : v > 32767 ? 32767 : v);
        }
    }
}
