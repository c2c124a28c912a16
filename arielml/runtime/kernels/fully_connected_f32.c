/* kernels/fully_connected_f32.c - FULLY_CONNECTED, float32 (and hybrid models, whose int8 weights
 * the compiler dequantised into params.weights). Kept apart so that integer models contain no
 * floating point. Work item = one output element. */
#include "ariel_kernels.h"

/* float32: sums in index order, then adds the bias (0 without one), as LiteRT's reference kernel
 * and the numpy reference (ops/float_order.py): bit-exact */
void ariel_fully_connected_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_f32_params *p = (const ariel_fully_connected_f32_params *)params;
    const float *input = (const float *)buffers[0];
    const float *weights = p->weights != 0 ? p->weights : (const float *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    int32_t row = begin / p->units;
    int32_t unit = begin - row * p->units;
    int32_t item;
    for (item = begin; item < end; item++) {
        const float *x = input + row * p->depth;
        const float *w = weights + unit * p->depth;
        float acc = 0.0f;
        int32_t d;
        for (d = 0; d < p->depth; d++) {
            acc += x[d] * w[d];
        }
        acc += bias != 0 ? bias[unit] : 0.0f; /* as LiteRT: total + 0 without a bias (-0 becomes +0) */
        output[item] = acc < p->act_min ? p->act_min : acc > p->act_max ? p->act_max : acc;
        if (++unit == p->units) {
            unit = 0;
            row++;
        }
    }
}
