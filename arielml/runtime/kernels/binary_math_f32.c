/* kernels/binary_math_f32.c - DIV, FLOOR_DIV, FLOOR_MOD, SQUARED_DIFFERENCE, PRELU on float32 with
 * broadcasting, and float32 ADD_N (arielml/ops/binary_math.py). DIV clamps to its activation range
 * ([-FLT_MAX, FLT_MAX] without one, as TFLite); FLOOR_DIV floors the double quotient as TFLite
 * does; FLOOR_MOD moves fmodf's remainder to the divisor's sign. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"
#include <float.h>
#include <math.h>

/* ariel:interface */
/* ADD_N float32: n inputs of one shape; buffers: the n inputs, then the output */
typedef struct {
    int32_t count;
    int32_t block;
    int32_t inputs;
    int32_t clamp; /* 1: LiteRT (input 0, then clamped partial sums); 0: TFLite Micro (from 0) */
} ariel_add_n_f32_params;

void ariel_add_n_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel_binary_params (count, block, rank, dims, a_strides, b_strides; DIV float_min/float_max) */
void ariel_div_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_div_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_mod_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_squared_difference_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_prelu_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

static inline float div_f32(const ariel_binary_params *p, float a, float b)
{
    const float q = a / b;
    return q < p->float_min ? p->float_min : q > p->float_max ? p->float_max : q; /* NaN passes */
}

static inline float floor_mod_f32(float a, float b)
{
    const float r = fmodf(a, b);
    return (r != 0.0f && ((b < 0.0f) != (r < 0.0f))) ? r + b : r;
}

#define DIV_F32(p, a, b) div_f32(p, a, b)
#define FLOOR_DIV_F32(p, a, b) ((float)floor((double)(a) / (double)(b)))
#define FLOOR_MOD_F32(p, a, b) floor_mod_f32(a, b)
#define SQUARED_DIFFERENCE_F32(p, a, b) (((a) - (b)) * ((a) - (b)))
#define PRELU_F32(p, x, alpha) ((x) >= 0.0f ? (x) : (x) * (alpha))
ARIEL_BINARY_KERNEL(ariel_div_f32, float, float, DIV_F32)
ARIEL_BINARY_KERNEL(ariel_floor_div_f32, float, float, FLOOR_DIV_F32)
ARIEL_BINARY_KERNEL(ariel_floor_mod_f32, float, float, FLOOR_MOD_F32)
ARIEL_BINARY_KERNEL(ariel_squared_difference_f32, float, float, SQUARED_DIFFERENCE_F32)
ARIEL_BINARY_KERNEL(ariel_prelu_f32, float, float, PRELU_F32)

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
