/* kernels/mean.c - MEAN on int8, uint8, int16 (quantised) and int32 tensors (float32: mean_f32.c).
 *
 * One work item = one output element: its reduced elements are walked in row-major order with an
 * odometer over the reduced axes, and the kept axes give the starting offset. */
#include "ariel_kernels.h"

/* input element offset of output element `item` (kept axes, row-major) */
static int32_t kept_offset(const ariel_mean_params *p, int32_t item)
{
    int32_t offset = 0;
    int32_t a;
    for (a = p->kept_rank - 1; a >= 0; a--) {
        offset += (item % p->kept_dims[a]) * p->kept_strides[a];
        item /= p->kept_dims[a];
    }
    return offset;
}

/* Quantised: the raw values are summed in int32 (|sum| <= count * 32768 < 2^31: the compiler
 * refuses count >= 65536), the zero point is taken off in 64 bits and the difference narrowed to
 * int32 with wrap-around, as LiteRT's QuantizedMeanOrSum does; then one requantisation with 1/count
 * folded into the multiplier, rounded twice (measured: LiteRT's MEAN does, whatever the
 * semantics). */
#define DEFINE_QUANTIZED_MEAN(NAME, T)                                                                \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                  \
    {                                                                                                 \
        const ariel_mean_params *p = (const ariel_mean_params *)params;                              \
        const T *input = (const T *)buffers[0];                                                       \
        T *output = (T *)buffers[1];                                                                  \
        const int32_t last = p->reduced_rank - 1;                                                     \
        int32_t item;                                                                                 \
        for (item = begin; item < end; item++) {                                                      \
            const T *x = input + kept_offset(p, item);                                                \
            int32_t index[ARIEL_MEAN_MAX_RANK];                                                       \
            int32_t offset = 0;                                                                       \
            int32_t sum = 0;                                                                          \
            int32_t a, k, shifted;                                                                    \
            int64_t q;                                                                                \
            for (a = 0; a <= last; a++) {                                                             \
                index[a] = 0;                                                                         \
            }                                                                                         \
            for (k = 0; k < p->count; k++) {                                                          \
                sum += x[offset];                                                                     \
                for (a = last; a >= 0; a--) { /* next reduced element */                              \
                    offset += p->reduced_strides[a];                                                  \
                    if (++index[a] < p->reduced_dims[a]) {                                            \
                        break;                                                                        \
                    }                                                                                 \
                    index[a] = 0;                                                                     \
                    offset -= p->reduced_dims[a] * p->reduced_strides[a];                             \
                }                                                                                     \
            }                                                                                         \
            shifted = (int32_t)(uint32_t)(uint64_t)((int64_t)sum -                                    \
                                                    (int64_t)p->input_zero_point * p->count);         \
            q = (int64_t)ariel_mul_double(shifted, p->multiplier, p->shift) + p->output_zero_point;  \
            output[item] = (T)(q < p->act_min ? p->act_min : q > p->act_max ? p->act_max : q);       \
        }                                                                                             \
    }

DEFINE_QUANTIZED_MEAN(ariel_mean_s8, int8_t)
DEFINE_QUANTIZED_MEAN(ariel_mean_u8, uint8_t)
DEFINE_QUANTIZED_MEAN(ariel_mean_s16, int16_t)

/* int32: summed exactly in 64 bits, divided truncating toward zero (C division), as LiteRT. */
void ariel_mean_s32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_mean_params *p = (const ariel_mean_params *)params;
    const int32_t *input = (const int32_t *)buffers[0];
    int32_t *output = (int32_t *)buffers[1];
    const int32_t last = p->reduced_rank - 1;
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t *x = input + kept_offset(p, item);
        int32_t index[ARIEL_MEAN_MAX_RANK];
        int32_t offset = 0;
        int64_t sum = 0;
        int32_t a, k;
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
        output[item] = (int32_t)(sum / p->count);
    }
}
