/* ariel_fc_q8_portable.h - the portable 8-bit FULLY_CONNECTED loop, as static functions:
 * kernels/fully_connected_s8.c (int8) and kernels/fully_connected.c (uint8) wrap it; the ISA-specific
 * kernels/<variant>/fully_connected_s8.c files are tested against it.
 *
 * 8-bit: the input offset is folded into the bias at compile time (params.bias = bias +
 * input_offset * sum_d (w + weight_offset)), so the dot product multiplies raw inputs.
 * Overflow: |x * (w + weight_offset)| <= 255 * 255, so the int32 dot product is exact while
 * depth <= 33025 (the compiler rejects deeper layers); the bias is added with int32 wrap-around,
 * as TFLite's int32 accumulator does. */
#ifndef ARIEL_FC_Q8_PORTABLE_H
#define ARIEL_FC_Q8_PORTABLE_H

#include "ariel_kernels.h"

static inline int32_t fc_dot_s8(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    for (; n >= 4; n -= 4, x += 4, w += 4) {
        acc += x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + x[3] * w[3];
    }
    for (; n > 0; n--) {
        acc += *x++ * *w++;
    }
    return acc;
}

static inline int32_t fc_dot_s8_offset(const int8_t *x, const int8_t *w, int32_t n, int32_t weight_offset)
{
    int32_t acc = 0;
    for (; n > 0; n--) {
        acc += *x++ * (*w++ + weight_offset);
    }
    return acc;
}

static inline int32_t fc_dot_u8(const uint8_t *x, const uint8_t *w, int32_t n, int32_t weight_offset)
{
    int32_t acc = 0;
    for (; n > 0; n--) {
        acc += *x++ * (*w++ + weight_offset);
    }
    return acc;
}

static inline void fully_connected_q8(const ariel_fully_connected_q8_params *p, void *const *buffers, int32_t begin,
                               int32_t end, int is_u8)
{
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    void *output = buffers[3];
    int32_t row = begin / p->units;
    int32_t unit = begin - row * p->units;
    int32_t item;
    for (item = begin; item < end; item++) {
        const int8_t *x = input + row * p->depth;
        const int8_t *w = weights + unit * p->depth;
        const int32_t k = unit * p->per_channel;
        int32_t dot, v;
        if (is_u8) {
            dot = fc_dot_u8((const uint8_t *)x, (const uint8_t *)w, p->depth, p->weight_offset);
        } else if (p->weight_offset != 0) {
            dot = fc_dot_s8_offset(x, w, p->depth, p->weight_offset);
        } else {
            dot = fc_dot_s8(x, w, p->depth);
        }
        {
            /* 32-bit requantisation (ariel_rq); the clamp keeps single rounding with a left shift exact */
            int32_t acc = ariel_wrapping_add(dot, p->bias[unit]);
            acc = acc > p->acc_limit ? p->acc_limit : acc < ~p->acc_limit ? ~p->acc_limit : acc; /* ~l = -l - 1 */
            v = ariel_rq(acc, p->rq + k * ARIEL_RQ_WORDS) + p->output_zero_point;
            v = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
        }
        if (is_u8) {
            ((uint8_t *)output)[item] = (uint8_t)v;
        } else {
            ((int8_t *)output)[item] = (int8_t)v;
        }
        if (++unit == p->units) {
            unit = 0;
            row++;
        }
    }
}

#endif /* ARIEL_FC_Q8_PORTABLE_H */
