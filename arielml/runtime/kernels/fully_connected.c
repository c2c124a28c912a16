/* kernels/fully_connected.c - FULLY_CONNECTED: legacy uint8 (u8) and int16 activations with int8
 * weights (s16); int8 is in fully_connected_s8.c, float32 in fully_connected_f32.c. Work item = one
 * output element. The 8-bit loop is in ariel_fc_q8_portable.h. */
#include "ariel_fc_q8_portable.h"

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

void ariel_fully_connected_u8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    fully_connected_q8((const ariel_fully_connected_q8_params *)params, buffers, begin, end, 1);
}

/* LiteRT's single rounding applied to the int64 accumulator itself (what its int16 reference
 * kernel does, measured): the 64-bit product wraps like the reference's int64 arithmetic. */
static int64_t requantize_single_wide(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int32_t total_shift = 31 - shift;
    const uint64_t product = (uint64_t)acc * (uint64_t)(int64_t)multiplier;
    return (int64_t)(product + ((uint64_t)1 << (total_shift - 1))) >> total_shift;
}

/* |x * w| <= 2^15 * 2^7: the int64 dot product is exact for any depth */
void ariel_fully_connected_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_s16_params *p = (const ariel_fully_connected_s16_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const void *bias = buffers[2];
    int16_t *output = (int16_t *)buffers[3];
    int32_t row = begin / p->units;
    int32_t unit = begin - row * p->units;
    int32_t item;
    for (item = begin; item < end; item++) {
        const int16_t *x = input + row * p->depth;
        const int8_t *w = weights + unit * p->depth;
        const int32_t k = unit * p->per_channel;
        int64_t acc = 0;
        int64_t v;
        int32_t d;
        for (d = 0; d < p->depth; d++) {
            acc += x[d] * w[d];
        }
        if (bias != 0) {
            const int64_t b = p->bias_is_int64 ? ((const int64_t *)bias)[unit] : (int64_t)((const int32_t *)bias)[unit];
            acc = (int64_t)((uint64_t)acc + (uint64_t)b);
        }
        if (p->rounding == ARIEL_ROUND_DOUBLE) { /* TFLite Micro: on the int32-wrapped accumulator */
            v = ariel_mul_double((int32_t)(uint32_t)(uint64_t)acc, p->multiplier[k], p->shift[k]);
        } else {
            v = requantize_single_wide(acc, p->multiplier[k], p->shift[k]);
        }
        output[item] = (int16_t)clamp32(v + p->output_zero_point, p->act_min, p->act_max);
        if (++unit == p->units) {
            unit = 0;
            row++;
        }
    }
}
