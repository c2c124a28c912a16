/* kernels/quantize_f32_even.c - QUANTIZE from float32 to int8/uint8 as onnxruntime's QuantizeLinear
 * computes it (semantics "onnxruntime"): q = x / scale in float32, clamped to [min - zero point,
 * max - zero point] (a NaN quotient becomes the lower bound, as MLAS's maxps-then-minps gives),
 * rounded half to even, plus the zero point. TFLite's QUANTIZE (kernels/unary_f32.c) rounds half away
 * from zero: the two differ on exact ties only. */
#include "ariel_elementwise_loops.h"
#include "ariel_round_even.h"

/* ariel:interface */
void ariel_quantize_f32_even_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_quantize_f32_even_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

static inline int32_t quantize_even(const ariel_affine_params *p, float x, float scale, int32_t zero_point)
{
    const float lo = (float)(p->out_min - zero_point);
    const float hi = (float)(p->out_max - zero_point);
    float q = x / scale;
    q = q >= lo ? q : lo; /* false for NaN: the lower bound */
    q = q <= hi ? q : hi;
    return ariel_round_half_even(q) + zero_point;
}

ARIEL_AFFINE_KERNEL(ariel_quantize_f32_even_s8, float, int8_t, quantize_even)
ARIEL_AFFINE_KERNEL(ariel_quantize_f32_even_u8, float, uint8_t, quantize_even)
