/* kernels/mean_f32.c - MEAN on float32 tensors: the reduced elements are summed in float32, one
 * at a time in row-major order (LiteRT's reference order, and arielml's numpy reference), then
 * divided by their count in float32. One work item = one output element. */
#include "ariel_kernels.h"

void ariel_mean_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_mean_params *p = (const ariel_mean_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    const int32_t last = p->reduced_rank - 1;
    int32_t item;

    for (item = begin; item < end; item++) {
        const float *x = input;
        int32_t index[ARIEL_MEAN_MAX_RANK];
        int32_t offset = 0;
        float sum = 0.0f;
        int32_t a, k, rest = item;
        for (a = p->kept_rank - 1; a >= 0; a--) {
            x += (rest % p->kept_dims[a]) * p->kept_strides[a];
            rest /= p->kept_dims[a];
        }
        for (a = 0; a <= last; a++) {
            index[a] = 0;
        }
        for (k = 0; k < p->count; k++) {
            sum += x[offset];
            for (a = last; a >= 0; a--) {
                offset += p->reduced_strides[a];
                if (++index[a] < p->reduced_dims[a]) {
                    break;
                }
                index[a] = 0;
                offset -= p->reduced_dims[a] * p->reduced_strides[a];
            }
        }
        output[item] = sum / (float)p->count;
    }
}
