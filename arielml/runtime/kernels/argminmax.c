/* kernels/argminmax.c - ARG_MAX and ARG_MIN along one axis; int32 or int64 indices.
 *
 * The input is viewed as [outer][size][inner]; one work item = one output element (outer, inner).
 * The walk starts at index 0 and moves only to a strictly greater (ARG_MAX) / smaller (ARG_MIN)
 * value: ties keep the first index and a float NaN never wins (nor is a leading NaN replaced), as in
 * TFLite Micro's reference. */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t size;        /* length of the reduced axis */
    int32_t inner;       /* elements after it (its stride) */
    int32_t find_max;    /* 1: ARG_MAX, 0: ARG_MIN */
    int32_t wide_output; /* 1: int64 indices, 0: int32 */
} ariel_arg_params;
void ariel_arg_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_arg_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_arg_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_arg_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define DEFINE_ARG(NAME, T)                                                                        \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_arg_params *p = (const ariel_arg_params *)params;                             \
        const T *input = (const T *)buffers[0];                                                    \
        int32_t item;                                                                              \
        for (item = begin; item < end; item++) {                                                   \
            const T *x = input + (int64_t)(item / p->inner) * p->size * p->inner + item % p->inner; \
            T best = x[0];                                                                         \
            int32_t best_index = 0, i;                                                             \
            for (i = 1; i < p->size; i++) {                                                        \
                const T v = x[(int64_t)i * p->inner];                                              \
                if (p->find_max ? v > best : v < best) {                                           \
                    best = v;                                                                      \
                    best_index = i;                                                                \
                }                                                                                  \
            }                                                                                      \
            if (p->wide_output) {                                                                  \
                ((int64_t *)buffers[1])[item] = best_index;                                        \
            } else {                                                                               \
                ((int32_t *)buffers[1])[item] = best_index;                                        \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_ARG(ariel_arg_f32, float)
DEFINE_ARG(ariel_arg_s8, int8_t)
DEFINE_ARG(ariel_arg_u8, uint8_t)
DEFINE_ARG(ariel_arg_s32, int32_t)
