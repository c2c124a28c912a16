/* kernels/binary_math_f32.c - DIV, FLOOR_DIV, FLOOR_MOD, SQUARED_DIFFERENCE, PRELU on float32 with
 * broadcasting (arielml/ops/binary_math.py). DIV clamps to its activation range
 * ([-FLT_MAX, FLT_MAX] without one, as TFLite); FLOOR_DIV floors the double quotient as TFLite
 * does; FLOOR_MOD moves fmodf's remainder to the divisor's sign. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"
#include <math.h>

/* ariel:interface */
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
