/* kernels/nonlinear.c - LOGISTIC, TANH, HARD_SWISH (pointwise; work item = a block of elements).
 *
 * int16 LOGISTIC/TANH interpolate TFLite's sigmoid table in integer arithmetic (float32:
 * nonlinear_f32.c, so integer models link no float code).
 * (8-bit types are 256-entry tables the compiler evaluated from the reference: ariel_table8_to_8
 * in unary.c. Every TFLite path for them - LiteRT's float table, TFLite Micro's gemmlowp fixed
 * point, HARD_SWISH's int16 arithmetic - maps one input code to one output code.)
 * Each kernel reads element i before writing it: correct in place. */
#include "ariel_kernels.h"

static void block_range(int32_t count, int32_t block, int32_t begin, int32_t end, int32_t *first, int32_t *last)
{
    const int64_t lo = (int64_t)begin * block;
    const int64_t hi = (int64_t)end * block;
    *first = (int32_t)(lo < count ? lo : count);
    *last = (int32_t)(hi < count ? hi : count);
}

/* Overflow: |x| <= 32768 and multiplier <= 32767 (checked by the compiler), so |x * multiplier|
 * < 2^30 and adding the rounding term (<= 2^30) stays below 2^31. The interpolation terms are
 * below 2^26 (table entries <= 65535, fraction <= 511). */
void ariel_sigmoid_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_sigmoid_s16_params *p = (const ariel_sigmoid_s16_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    int16_t *output = (int16_t *)buffers[1];
    const int32_t rounding = p->shift > 0 ? (int32_t)1 << (p->shift - 1) : 0;
    const int32_t logistic = p->function == ARIEL_SIGMOID_LOGISTIC;
    const int32_t frac_bits = logistic ? 9 : 8;
    const int32_t saturated = logistic ? 0x7FFF << 10 : 0xFFFF << 8;
    int32_t i, last;

    block_range(p->count, p->block, begin, end, &i, &last);
    for (; i < last; i++) {
        const int32_t v = (input[i] * p->multiplier + rounding) >> p->shift;
        const int32_t magnitude = v < 0 ? -v : v;
        const int32_t segment = magnitude >> frac_bits;
        const int32_t fraction = magnitude & ((1 << frac_bits) - 1);
        int32_t result;
        if (segment >= 255) {
            result = saturated;
        } else {
            const int32_t lo = p->sigmoid[segment];
            const int32_t hi = p->sigmoid[segment + 1];
            result = (lo << frac_bits) + fraction * (hi - lo);
        }
        if (logistic) {
            result = (v >= 0 ? result + (1 << 9) : (1 << 25) - result + (1 << 9) - 1) >> 10;
        } else {
            result = (v >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1) >> 8;
        }
        /* the reference wraps to int16 (TFLite stores the int32 result into an int16) */
        output[i] = (int16_t)(uint16_t)(uint32_t)result;
    }
}
