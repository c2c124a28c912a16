/* kernels/cumsum.c - CUMSUM along one axis: float32 (f32), int32 (s32), int64 (s64).
 *
 * The tensor is viewed as [outer][size][inner]; one work item = one line (outer, inner) along the
 * axis, summed one element at a time from 0 in the direction asked (LiteRT's order: float32 sums
 * round as its do). Integer sums wrap around (done unsigned to stay defined). */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t size;      /* length of the summed axis */
    int32_t inner;     /* elements after it (its stride) */
    int32_t exclusive; /* 1: output i sums the elements before i only */
    int32_t reverse;   /* 1: summed from the end */
    /* int8 (TFLite Micro's quantised CUMSUM) */
    int32_t input_offset, output_zero_point;
    const int32_t *rq; /* two requantisation records: each value, each running sum */
} ariel_cumsum_params;
void ariel_cumsum_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cumsum_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cumsum_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cumsum_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define DEFINE_CUMSUM(NAME, T, ACC_T)                                                               \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                \
    {                                                                                               \
        const ariel_cumsum_params *p = (const ariel_cumsum_params *)params;                        \
        const T *input = (const T *)buffers[0];                                                     \
        T *output = (T *)buffers[1];                                                                \
        const int64_t step = p->reverse ? -(int64_t)p->inner : p->inner;                           \
        int32_t item;                                                                               \
        for (item = begin; item < end; item++) {                                                    \
            int64_t at = (int64_t)(item / p->inner) * p->size * p->inner + item % p->inner +        \
                         (p->reverse ? (int64_t)(p->size - 1) * p->inner : 0);                      \
            ACC_T total = 0;                                                                        \
            int32_t i;                                                                              \
            for (i = 0; i < p->size; i++, at += step) {                                             \
                if (p->exclusive) {                                                                 \
                    output[at] = (T)total;                                                          \
                    total += (ACC_T)input[at];                                                      \
                } else {                                                                            \
                    total += (ACC_T)input[at];                                                      \
                    output[at] = (T)total;                                                          \
                }                                                                                   \
            }                                                                                       \
        }                                                                                           \
    }

DEFINE_CUMSUM(ariel_cumsum_f32, float, float)
DEFINE_CUMSUM(ariel_cumsum_s32, int32_t, uint32_t)
DEFINE_CUMSUM(ariel_cumsum_s64, int64_t, uint64_t)

/* int8 as TFLite Micro: (x - zp) * 2^20 requantised by 1/2 (|.| < 2^27), summed in int32 with
 * wrap-around (its C++ wraps in practice), each running sum requantised to the output; the sum
 * starts at the requantised input offset, not 0 (its code does; see ops/cumsum.py). */
void ariel_cumsum_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_cumsum_params *p = (const ariel_cumsum_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    int8_t *output = (int8_t *)buffers[1];
    const int32_t step = p->reverse ? -p->inner : p->inner;
    const int32_t start = ariel_rq(p->input_offset * (1 << 20), p->rq);
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t at = (item / p->inner) * p->size * p->inner + item % p->inner +
                     (p->reverse ? (p->size - 1) * p->inner : 0);
        uint32_t total = (uint32_t)start;
        int32_t i;
        for (i = 0; i < p->size; i++, at += step) {
            const uint32_t scaled = (uint32_t)ariel_rq((input[at] + p->input_offset) * (1 << 20), p->rq);
            int32_t v;
            if (p->exclusive) {
                v = (int32_t)total;
                total += scaled;
            } else {
                total += scaled;
                v = (int32_t)total;
            }
            v = ariel_rq(v, p->rq + ARIEL_RQ_WORDS) + p->output_zero_point;
            output[at] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
        }
    }
}
