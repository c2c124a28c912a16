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
} ariel_cumsum_params;
void ariel_cumsum_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cumsum_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cumsum_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
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
