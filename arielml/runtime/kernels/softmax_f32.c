/* kernels/softmax_f32.c - SOFTMAX and LOG_SOFTMAX on float32 over the last axis; work item = one
 * row. Kept apart from softmax.c so that integer models carry no floating point. */
#include <math.h>

#include "ariel_kernels.h"

static float row_max_f32(const float *x, int32_t depth)
{
    float max = x[0];
    int32_t j;
    for (j = 1; j < depth; j++) {
        max = x[j] > max ? x[j] : max;
    }
    return max;
}

/* sums accumulate left to right in float32, as the reference does */
void ariel_softmax_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_softmax_f32_params *p = (const ariel_softmax_f32_params *)params;
    int32_t row;

    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const float *x = (const float *)buffers[0] + row * p->depth;
        float *y = (float *)buffers[1] + row * p->depth;
        const float max = row_max_f32(x, p->depth);
        float sum = 0.0f;
        int32_t j;
        for (j = 0; j < p->depth; j++) {
            sum += expf((x[j] - max) * p->beta);
        }
        for (j = 0; j < p->depth; j++) {
            y[j] = expf((x[j] - max) * p->beta) / sum;
        }
    }
}

/* the log of the sum in double precision, rounded to float, as the reference does (one per row) */
void ariel_log_softmax_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_softmax_f32_params *p = (const ariel_softmax_f32_params *)params;
    int32_t row;

    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const float *x = (const float *)buffers[0] + row * p->depth;
        float *y = (float *)buffers[1] + row * p->depth;
        const float max = row_max_f32(x, p->depth);
        float sum = 0.0f;
        float log_sum;
        int32_t j;
        for (j = 0; j < p->depth; j++) {
            sum += expf(x[j] - max);
        }
        log_sum = (float)log((double)sum);
        for (j = 0; j < p->depth; j++) {
            y[j] = (x[j] - max) - log_sum;
        }
    }
}
