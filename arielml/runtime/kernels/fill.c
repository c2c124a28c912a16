/* kernels/fill.c - ZEROS_LIKE and FILL (arielml/ops/cast_fill.py): every output element set to
 * zero, or to the scalar value input's bytes; one kernel per element size, since a copy does not
 * care about the type. buffers: value (NULL for ZEROS_LIKE), output. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
typedef struct {
    int32_t count; /* output elements */
    int32_t block; /* output elements per work item */
} ariel_fill_params;

void ariel_zero_8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_zero_16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_zero_32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_zero_64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fill_8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fill_16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fill_32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fill_64(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define FILL_KERNELS(BITS, T)                                                              \
    void ariel_zero_##BITS(const void *params, void *const *buffers, int32_t begin, int32_t end) \
    {                                                                                       \
        const ariel_fill_params *p = (const ariel_fill_params *)params;                     \
        T *out = (T *)buffers[1];                                                           \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                        \
        int32_t i;                                                                          \
        for (i = begin * p->block; i < stop; i++) {                                         \
            out[i] = 0;                                                                     \
        }                                                                                   \
    }                                                                                       \
    void ariel_fill_##BITS(const void *params, void *const *buffers, int32_t begin, int32_t end) \
    {                                                                                       \
        const ariel_fill_params *p = (const ariel_fill_params *)params;                     \
        const T value = *(const T *)buffers[0];                                             \
        T *out = (T *)buffers[1];                                                           \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                        \
        int32_t i;                                                                          \
        for (i = begin * p->block; i < stop; i++) {                                         \
            out[i] = value;                                                                 \
        }                                                                                   \
    }
FILL_KERNELS(8, uint8_t)
FILL_KERNELS(16, uint16_t)
FILL_KERNELS(32, uint32_t)
FILL_KERNELS(64, uint64_t)
