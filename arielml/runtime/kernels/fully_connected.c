/* kernels/fully_connected.c - FULLY_CONNECTED. */
#include "ariel_kernels.h"

/* Overflow: |(x + input_offset) * (w + weight_offset)| <= 255 * 255, so the int32 dot product
 * cannot overflow while depth <= 33025 (the compiler rejects deeper layers); the bias is added
 * with int32 wrap-around, as TFLite's int32 accumulator does. */
void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_s8_params *p = (const ariel_fully_connected_s8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const int32_t *bias = (const int32_t *)buffers[2];
    int8_t *output = (int8_t *)buffers[3];
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t row = item / p->units;
        const int32_t unit = item % p->units;
        const int8_t *x = input + row * p->depth;
        const int8_t *w = weights + unit * p->depth;
        int32_t acc = 0;
        int32_t d;
        for (d = 0; d < p->depth; d++) {
            acc += (x[d] + p->input_offset) * (w[d] + p->weight_offset);
        }
        if (bias != 0) {
            acc = ariel_wrapping_add(acc, bias[unit]);
        }
        output[item] = ariel_clamp_s8(
            ariel_requantize(acc, p->multiplier, p->shift, p->rounding) + p->output_zero_point, p->act_min, p->act_max);
    }
}
