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

/* element i uses channel (i / inner) % channels (per-axis scales), in runs of one channel */
#define QUANTIZE_EVEN_KERNEL(NAME, OUT_T)                                                          \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_affine_params *p = (const ariel_affine_params *)params;                        \
        const float *in = (const float *)buffers[0];                                               \
        OUT_T *out = (OUT_T *)buffers[1];                                                          \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                               \
        int32_t i = begin * p->block;                                                              \
        while (i < stop) {                                                                         \
            const int32_t group = i / p->inner;                                                    \
            const int32_t channel = group % p->channels;                                           \
            const float scale = p->scales[channel];                                                \
            const int32_t zero_point = p->zero_points[channel];                                    \
            const int32_t run_end = (group + 1) * p->inner < stop ? (group + 1) * p->inner : stop; \
            for (; i < run_end; i++) {                                                             \
                out[i] = (OUT_T)quantize_even(p, in[i], scale, zero_point);                        \
            }                                                                                      \
        }                                                                                          \
    }

QUANTIZE_EVEN_KERNEL(ariel_quantize_f32_even_s8, int8_t)
QUANTIZE_EVEN_KERNEL(ariel_quantize_f32_even_u8, uint8_t)
