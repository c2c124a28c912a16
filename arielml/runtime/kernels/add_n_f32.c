/* kernels/add_n_f32.c - ADD_N on float32 (arielml/ops/add_n.py): LiteRT's order (input 0, then one
 * add per further input, each partial sum clamped to [-FLT_MAX, FLT_MAX]; NaN passes) or TFLite
 * Micro's (from 0, no clamp), as the compiler chose. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"
#include <float.h>

/* ariel:interface */
/* ADD_N float32: n inputs of one shape; buffers: the n inputs, then the output */
typedef struct {
    int32_t count;
    int32_t block;
    int32_t inputs;
    int32_t clamp; /* 1: LiteRT (input 0, then clamped partial sums); 0: TFLite Micro (from 0) */
} ariel_add_n_f32_params;

void ariel_add_n_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_add_n_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_add_n_f32_params *p = (const ariel_add_n_f32_params *)params;
    float *out = (float *)buffers[p->inputs];
    const int32_t stop = ariel_ew_stop(end, p->block, p->count);
    int32_t i, k;
    for (i = begin * p->block; i < stop; i++) {
        float sum = p->clamp ? ((const float *)buffers[0])[i] : 0.0f;
        for (k = p->clamp ? 1 : 0; k < p->inputs; k++) {
            sum += ((const float *)buffers[k])[i];
            if (p->clamp) { /* [-FLT_MAX, FLT_MAX]; NaN passes */
                sum = sum < -FLT_MAX ? -FLT_MAX : sum > FLT_MAX ? FLT_MAX : sum;
            }
        }
        out[i] = sum; /* written after every input's element i is read */
    }
}
