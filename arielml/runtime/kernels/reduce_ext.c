/* kernels/reduce_ext.c - SUM, REDUCE_MAX, REDUCE_MIN and REDUCE_ALL (MEAN is in mean.c).
 *
 * One work item = one output element. Its reduced elements are walked in row-major order of the
 * reduced axes (an odometer over them; the kept axes give the starting offset): the order in which
 * LiteRT's reference folds them, so float32 sums round as the reference's do. */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t kept_rank;    /* 1..8 */
    int32_t reduced_rank; /* 1..8 */
    int32_t count;        /* reduced elements per output */
    const int32_t *kept_dims, *kept_strides;
    const int32_t *reduced_dims, *reduced_strides;
    /* quantised SUM (rescale_*) only */
    int32_t input_zero_point, output_zero_point, multiplier, shift, act_min, act_max;
} ariel_reduce_params;
void ariel_reduce_sum_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_sum_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_sum_rescale_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_sum_rescale_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_max_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_max_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_max_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_max_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_max_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_min_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_min_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_min_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_min_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_min_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_reduce_all_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define REDUCE_MAX_RANK 8

/* input element offset of output element `item` (kept axes, row-major) */
static int32_t kept_offset(const ariel_reduce_params *p, int32_t item)
{
    int32_t offset = 0;
    int32_t a;
    for (a = p->kept_rank - 1; a >= 0; a--) {
        offset += (item % p->kept_dims[a]) * p->kept_strides[a];
        item /= p->kept_dims[a];
    }
    return offset;
}

/* The walk shared by every reduction: for each output item, ACC starts at INIT and every reduced
 * element v (of type T, at x[offset]) is folded in by STEP; FINISH stores the result. */
#define DEFINE_REDUCTION(NAME, T, OUT_T, ACC_T, INIT, STEP, FINISH)                                  \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                 \
    {                                                                                                \
        const ariel_reduce_params *p = (const ariel_reduce_params *)params;                         \
        const T *input = (const T *)buffers[0];                                                      \
        OUT_T *output = (OUT_T *)buffers[1];                                                         \
        const int32_t last = p->reduced_rank - 1;                                                    \
        int32_t item;                                                                                \
        (void)output;                                                                                \
        for (item = begin; item < end; item++) {                                                     \
            const T *x = input + kept_offset(p, item);                                               \
            int32_t index[REDUCE_MAX_RANK];                                                          \
            int32_t offset = 0;                                                                      \
            ACC_T acc = INIT;                                                                        \
            int32_t a, k;                                                                            \
            for (a = 0; a <= last; a++) {                                                            \
                index[a] = 0;                                                                        \
            }                                                                                        \
            for (k = 0; k < p->count; k++) {                                                         \
                const T v = x[offset];                                                               \
                STEP;                                                                                \
                for (a = last; a >= 0; a--) { /* next reduced element */                             \
                    offset += p->reduced_strides[a];                                                 \
                    if (++index[a] < p->reduced_dims[a]) {                                           \
                        break;                                                                       \
                    }                                                                                \
                    index[a] = 0;                                                                    \
                    offset -= p->reduced_dims[a] * p->reduced_strides[a];                            \
                }                                                                                    \
            }                                                                                        \
            FINISH;                                                                                  \
        }                                                                                            \
    }

/* float32: one addition at a time from 0.0f, in the reference's order */
DEFINE_REDUCTION(ariel_reduce_sum_f32, float, float, float, 0.0f, acc += v, output[item] = acc)
/* int32: wraps around (summed unsigned to stay defined) */
DEFINE_REDUCTION(ariel_reduce_sum_s32, int32_t, int32_t, uint32_t, 0u, acc += (uint32_t)v,
                 output[item] = (int32_t)acc)

/* Quantised SUM: the raw values summed in int32 (|sum| <= count * 32768 < 2^31: the compiler
 * refuses count >= 65536), the zero point taken off in 64 bits and the difference narrowed to int32
 * with wrap-around, then input_scale / output_scale applied with double rounding (measured). */
#define RESCALED_SUM_FINISH(T)                                                                        \
    {                                                                                                \
        const int32_t shifted = (int32_t)(uint32_t)(uint64_t)((int64_t)acc -                          \
                                                               (int64_t)p->input_zero_point * p->count); \
        const int64_t q = (int64_t)ariel_mul_double(shifted, p->multiplier, p->shift) + p->output_zero_point; \
        output[item] = (T)(q < p->act_min ? p->act_min : q > p->act_max ? p->act_max : q);          \
    }
DEFINE_REDUCTION(ariel_reduce_sum_rescale_s8, int8_t, int8_t, int32_t, 0, acc += v, RESCALED_SUM_FINISH(int8_t))
DEFINE_REDUCTION(ariel_reduce_sum_rescale_s16, int16_t, int16_t, int32_t, 0, acc += v, RESCALED_SUM_FINISH(int16_t))

/* MAX / MIN: from lowest() / max(), replaced only by a strictly greater / smaller value (float NaN
 * never is), as the reference's reducers */
#define FLOAT_LOWEST (-3.40282347e38f)
#define FLOAT_HIGHEST 3.40282347e38f
DEFINE_REDUCTION(ariel_reduce_max_f32, float, float, float, FLOAT_LOWEST, if (v > acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_min_f32, float, float, float, FLOAT_HIGHEST, if (v < acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_max_s8, int8_t, int8_t, int8_t, INT8_MIN, if (v > acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_min_s8, int8_t, int8_t, int8_t, INT8_MAX, if (v < acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_max_u8, uint8_t, uint8_t, uint8_t, 0u, if (v > acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_min_u8, uint8_t, uint8_t, uint8_t, 255u, if (v < acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_max_s16, int16_t, int16_t, int16_t, INT16_MIN, if (v > acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_min_s16, int16_t, int16_t, int16_t, INT16_MAX, if (v < acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_max_s32, int32_t, int32_t, int32_t, INT32_MIN, if (v > acc) acc = v, output[item] = acc)
DEFINE_REDUCTION(ariel_reduce_min_s32, int32_t, int32_t, int32_t, INT32_MAX, if (v < acc) acc = v, output[item] = acc)

/* REDUCE_ALL on bool (one byte, 0 or 1) */
DEFINE_REDUCTION(ariel_reduce_all_b, uint8_t, uint8_t, uint8_t, 1u, acc = (uint8_t)(acc & (v != 0)),
                 output[item] = acc)
