/* kernels/hard_swish_f32_onnxruntime.c - float32 HARD_SWISH as onnxruntime computes it (semantics
 * "onnxruntime", ONNX models): x * HardSigmoid(x), HardSigmoid's kernel being
 * min(max(alpha * x + beta, ...)) with alpha = float32(1/6) and beta = 0.5, each operation rounded to
 * float32 (no fused multiply-add), where TFLite computes x * relu6(x + 3) / 6 (kernels/nonlinear_f32.c).
 * The two differ in the last bits of some outputs. */
#include "ariel_elementwise_loops.h"

/* ariel:interface */
void ariel_hard_swish_f32_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_hard_swish_f32_ort(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pointwise_f32_params *p = (const ariel_pointwise_f32_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    const int32_t stop = ariel_ew_stop(end, p->block, p->count);
    int32_t i;
    for (i = begin * p->block; i < stop; i++) { /* built with -ffp-contract=off: two roundings */
        const float x = input[i];
        float gate = (1.0f / 6.0f) * x + 0.5f;
        gate = gate < 1.0f ? gate : 1.0f;
        gate = gate > 0.0f ? gate : 0.0f;
        output[i] = x * gate;
    }
}
