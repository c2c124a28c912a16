/* kernels/nonlinear_f32.c - LOGISTIC, TANH, HARD_SWISH on float32 (work item = a block of
 * elements; element i read before written, so correct in place). */
#include <math.h>

#include "ariel_kernels.h"

static void block_range(int32_t count, int32_t block, int32_t begin, int32_t end, int32_t *first, int32_t *last)
{
    const int64_t lo = (int64_t)begin * block;
    const int64_t hi = (int64_t)end * block;
    *first = (int32_t)(lo < count ? lo : count);
    *last = (int32_t)(hi < count ? hi : count);
}

/* TFLite's reference logistic: 1 above 16.619..., exp(x) below -9 (1 + exp(-x) is then exp(-x)
 * to float precision), the formula between. */
void ariel_logistic_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pointwise_f32_params *p = (const ariel_pointwise_f32_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    int32_t i, last;

    block_range(p->count, p->block, begin, end, &i, &last);
    for (; i < last; i++) {
        const float x = input[i];
        if (x > 16.619047164916992188f) {
            output[i] = 1.0f;
        } else if (x < -9.0f) {
            output[i] = expf(x);
        } else {
            output[i] = 1.0f / (1.0f + expf(-x));
        }
    }
}

void ariel_tanh_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pointwise_f32_params *p = (const ariel_pointwise_f32_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    int32_t i, last;

    block_range(p->count, p->block, begin, end, &i, &last);
    for (; i < last; i++) {
        output[i] = tanhf(input[i]);
    }
}

/* x * relu6(x + 3) / 6, evaluated in this order in float32 as the reference does */
void ariel_hard_swish_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pointwise_f32_params *p = (const ariel_pointwise_f32_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    int32_t i, last;

    block_range(p->count, p->block, begin, end, &i, &last);
    for (; i < last; i++) {
        const float x = input[i];
        float r = x + 3.0f;
        r = r < 0.0f ? 0.0f : (r > 6.0f ? 6.0f : r); /* NaN passes through, as np.clip */
        output[i] = x * r / 6.0f;
    }
}
