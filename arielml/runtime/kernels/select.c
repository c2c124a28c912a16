/* kernels/select.c - SELECT_V2 (arielml/ops/compare.py): out = condition ? x : y, the three
 * broadcast against each other. The element type does not matter to a copy, so one kernel per
 * element size. bool condition: one byte, 0 or 1. */
#include "ariel_kernels.h"

/* ariel:interface */
/* dims / strides outermost first, in elements, 0 where an input broadcasts (merged like
 * ariel_binary_params' by the compiler). buffers: condition, x, y, output. */
typedef struct {
    int32_t count; /* output elements */
    int32_t block; /* output elements per work item */
    int32_t rank;  /* 1..ARIEL_MAX_BROADCAST_RANK */
    const int32_t *dims;
    const int32_t *condition_strides;
    const int32_t *x_strides;
    const int32_t *y_strides;
} ariel_select_params;

void ariel_select_8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_select_16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_select_32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_select_64(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* The two-input cursor of ariel_elementwise_loops.h with a third offset: an odometer over the
 * outer dimensions, each input's offset moved by its stride; divisions only at the range start. */
typedef struct {
    int32_t coord[ARIEL_MAX_BROADCAST_RANK];
    int32_t offset[3]; /* condition, x, y */
} select_cursor;

static void select_seek(const ariel_select_params *p, int32_t index, select_cursor *c)
{
    const int32_t *strides[3] = {p->condition_strides, p->x_strides, p->y_strides};
    int32_t d, k;
    c->offset[0] = c->offset[1] = c->offset[2] = 0;
    for (d = p->rank - 1; d >= 0; d--) {
        c->coord[d] = index % p->dims[d];
        index /= p->dims[d];
        for (k = 0; k < 3; k++) {
            c->offset[k] += c->coord[d] * strides[k][d];
        }
    }
}

static void select_advance(const ariel_select_params *p, select_cursor *c, int32_t run)
{
    const int32_t *strides[3] = {p->condition_strides, p->x_strides, p->y_strides};
    int32_t d = p->rank - 1, k;
    c->coord[d] += run;
    for (k = 0; k < 3; k++) {
        c->offset[k] += run * strides[k][d];
    }
    while (d > 0 && c->coord[d] == p->dims[d]) {
        for (k = 0; k < 3; k++) {
            c->offset[k] += strides[k][d - 1] - p->dims[d] * strides[k][d];
        }
        c->coord[d] = 0;
        d--;
        c->coord[d]++;
    }
}

#define SELECT_KERNEL(NAME, T)                                                                       \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_select_params *p = (const ariel_select_params *)params;                        \
        const uint8_t *condition = (const uint8_t *)buffers[0];                                    \
        const T *x = (const T *)buffers[1];                                                        \
        const T *y = (const T *)buffers[2];                                                        \
        T *out = (T *)buffers[3];                                                                  \
        const int32_t last = p->dims[p->rank - 1];                                                 \
        const int32_t inner_c = p->condition_strides[p->rank - 1];                                 \
        const int32_t inner_x = p->x_strides[p->rank - 1];                                         \
        const int32_t inner_y = p->y_strides[p->rank - 1];                                         \
        const int32_t stop = end * p->block < p->count ? end * p->block : p->count;                \
        int32_t i = begin * p->block;                                                              \
        select_cursor c;                                                                           \
        if (i >= stop) {                                                                           \
            return;                                                                                \
        }                                                                                          \
        select_seek(p, i, &c);                                                                     \
        while (i < stop) {                                                                         \
            const int32_t left = last - c.coord[p->rank - 1];                                      \
            const int32_t run = left < stop - i ? left : stop - i;                                 \
            const uint8_t *pc = condition + c.offset[0];                                           \
            const T *px = x + c.offset[1];                                                         \
            const T *py = y + c.offset[2];                                                         \
            int32_t k;                                                                             \
            for (k = 0; k < run; k++) {                                                            \
                out[i + k] = pc[k * inner_c] ? px[k * inner_x] : py[k * inner_y];                  \
            }                                                                                      \
            i += run;                                                                              \
            select_advance(p, &c, run);                                                            \
        }                                                                                          \
    }

SELECT_KERNEL(ariel_select_8, uint8_t)
SELECT_KERNEL(ariel_select_16, uint16_t)
SELECT_KERNEL(ariel_select_32, uint32_t)
SELECT_KERNEL(ariel_select_64, uint64_t)
