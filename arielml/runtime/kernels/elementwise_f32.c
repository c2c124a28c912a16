/* kernels/elementwise_f32.c - ADD, SUB, MUL, MAXIMUM, MINIMUM on float32, with broadcasting: the
 * operation in single precision, then the activation clamp ([-FLT_MAX, FLT_MAX] without
 * activation, so an infinity becomes FLT_MAX as in TFLite; NaN passes through the clamp). */
#include "ariel_elementwise_loops.h"

static inline float clamp_f32(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

#define ADD_F32(p, a, b) clamp_f32((a) + (b), (p)->float_min, (p)->float_max)
#define SUB_F32(p, a, b) clamp_f32((a) - (b), (p)->float_min, (p)->float_max)
#define MUL_F32(p, a, b) clamp_f32((a) * (b), (p)->float_min, (p)->float_max)
#define MAX_OF(p, a, b) ((a) > (b) ? (a) : (b))
#define MIN_OF(p, a, b) ((a) < (b) ? (a) : (b))
ARIEL_BINARY_KERNEL(ariel_add_f32, float, float, ADD_F32)
ARIEL_BINARY_KERNEL(ariel_sub_f32, float, float, SUB_F32)
ARIEL_BINARY_KERNEL(ariel_mul_f32, float, float, MUL_F32)
ARIEL_BINARY_KERNEL(ariel_maximum_f32, float, float, MAX_OF)
ARIEL_BINARY_KERNEL(ariel_minimum_f32, float, float, MIN_OF)
