/* kernels/mean_s8_float_requant.c - int8 MEAN with onnxruntime's requantisation (semantics
 * "onnxruntime"; what onnxruntime runs for DQ -> GlobalAveragePool -> Q: QLinearGlobalAveragePool):
 * the raw values summed in int32, less zero_point * count, times the float32 scale
 * x_scale / (y_scale * count), rounded half to even (MlasRequantizeOutput; emulated with integers by
 * ariel_scale_round_even), plus the output zero point.
 * The walk over the reduced elements is kernels/mean.c's (one work item = one output element). */
#include "ariel_kernels.h"
#include "ariel_round_even.h"

/* ariel:interface */
typedef struct {
    int32_t kept_rank, reduced_rank, count;
    const int32_t *kept_dims, *kept_strides;
    const int32_t *reduced_dims, *reduced_strides;
    int32_t input_zero_point, output_zero_point;
    float scale;
    int32_t act_min, act_max;
} ariel_mean_fq_params;
void ariel_mean_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_mean_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_mean_fq_params *p = (const ariel_mean_fq_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    int8_t *output = (int8_t *)buffers[1];
    const int32_t last = p->reduced_rank - 1;
    union {
        float value;
        int32_t bits;
    } scale;
    int32_t item;
    scale.value = p->scale;
    for (item = begin; item < end; item++) {
        int32_t index[ARIEL_MEAN_MAX_RANK];
        int32_t offset = 0, rest = item, sum = 0;
        int32_t a, k, v;
        for (a = p->kept_rank - 1; a >= 0; a--) { /* the output's first input element */
            offset += (rest % p->kept_dims[a]) * p->kept_strides[a];
            rest /= p->kept_dims[a];
        }
        for (a = 0; a <= last; a++) {
            index[a] = 0;
        }
        for (k = 0; k < p->count; k++) { /* |sum| <= count * 128: the compiler keeps count < 65536 */
            sum += input[offset];
            for (a = last; a >= 0; a--) {
                offset += p->reduced_strides[a];
                if (++index[a] < p->reduced_dims[a]) {
                    break;
                }
                index[a] = 0;
                offset -= p->reduced_dims[a] * p->reduced_strides[a];
            }
        }
        /* MLAS clamps to the output range before rounding, the same as clamping after */
        v = ariel_scale_round_even(sum - p->input_zero_point * p->count, scale.bits) + p->output_zero_point;
        output[item] = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
    }
}
