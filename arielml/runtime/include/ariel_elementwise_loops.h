/* ariel_elementwise_loops.h - the loops the elementwise kernels share (kernels/elementwise*.c,
 * kernels/unary*.c): a broadcast cursor over merged output dimensions, and macros that stamp out
 * one kernel per element type from a per-element function. Integer and float kernels live in
 * separate files so an integer model's library contains no floating point. */
#ifndef ARIEL_ELEMENTWISE_LOOPS_H
#define ARIEL_ELEMENTWISE_LOOPS_H

#include "ariel_kernels.h"

static inline int32_t ariel_ew_clamp(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* end of the element range of items [begin, end): the last block may be short */
static inline int32_t ariel_ew_stop(int32_t end, int32_t block, int32_t count)
{
    return end * block < count ? end * block : count;
}

/* ---- broadcasting ------------------------------------------------------------------------------
 * The compiler gives each input one stride per (merged) output dimension, 0 where the input is
 * broadcast, so a kernel walks its range of output elements row by row: within the innermost
 * dimension both inputs advance by a constant stride (0 or 1), and an odometer over the outer
 * dimensions moves to the next row. Only the start of the range costs divisions. */
typedef struct {
    int32_t coord[ARIEL_MAX_BROADCAST_RANK];
    int32_t a; /* element offset into a */
    int32_t b;
} ariel_ew_cursor;

static inline void ariel_ew_seek(const ariel_binary_params *p, int32_t index, ariel_ew_cursor *c)
{
    int32_t d;
    c->a = 0;
    c->b = 0;
    for (d = p->rank - 1; d >= 0; d--) {
        c->coord[d] = index % p->dims[d];
        index /= p->dims[d];
        c->a += c->coord[d] * p->a_strides[d];
        c->b += c->coord[d] * p->b_strides[d];
    }
}

/* consume `run` elements of the current innermost row; carry into the outer dimensions */
static inline void ariel_ew_advance(const ariel_binary_params *p, ariel_ew_cursor *c, int32_t run)
{
    int32_t d = p->rank - 1;
    c->coord[d] += run;
    c->a += run * p->a_strides[d];
    c->b += run * p->b_strides[d];
    while (d > 0 && c->coord[d] == p->dims[d]) {
        c->a -= p->dims[d] * p->a_strides[d];
        c->b -= p->dims[d] * p->b_strides[d];
        c->coord[d] = 0;
        d--;
        c->coord[d]++;
        c->a += p->a_strides[d];
        c->b += p->b_strides[d];
    }
}

/* A binary kernel: out[i] = ELEMENT(p, a[.], b[.]) for the output elements of items [begin, end).
 * Element i is written after both of its inputs are read, so a may share the output's bytes (in
 * place, when a is not broadcast). */
#define ARIEL_BINARY_KERNEL(NAME, IN_T, OUT_T, ELEMENT)                                              \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_binary_params *p = (const ariel_binary_params *)params;                        \
        const IN_T *a = (const IN_T *)buffers[0];                                                  \
        const IN_T *b = (const IN_T *)buffers[1];                                                  \
        OUT_T *out = (OUT_T *)buffers[2];                                                          \
        const int32_t inner_a = p->a_strides[p->rank - 1];                                         \
        const int32_t inner_b = p->b_strides[p->rank - 1];                                         \
        const int32_t last = p->dims[p->rank - 1];                                                 \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                               \
        int32_t i = begin * p->block;                                                              \
        ariel_ew_cursor c;                                                                         \
        if (i >= stop) {                                                                           \
            return;                                                                                \
        }                                                                                          \
        ariel_ew_seek(p, i, &c);                                                                   \
        while (i < stop) {                                                                         \
            const int32_t left = last - c.coord[p->rank - 1];                                      \
            const int32_t run = left < stop - i ? left : stop - i;                                 \
            const IN_T *pa = a + c.a;                                                              \
            const IN_T *pb = b + c.b;                                                              \
            int32_t k;                                                                             \
            for (k = 0; k < run; k++) {                                                            \
                out[i + k] = ELEMENT(p, pa[k * inner_a], pb[k * inner_b]);                         \
            }                                                                                      \
            i += run;                                                                              \
            ariel_ew_advance(p, &c, run);                                                          \
        }                                                                                          \
    }

/* A unary kernel: out[i] = ELEMENT(p, in[i]) for the elements of items [begin, end); in[i] is
 * read before out[i] is written, so it is correct in place. */
#define ARIEL_UNARY_KERNEL(NAME, PARAMS_T, IN_T, OUT_T, ELEMENT)                                     \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const PARAMS_T *p = (const PARAMS_T *)params;                                              \
        const IN_T *in = (const IN_T *)buffers[0];                                                 \
        OUT_T *out = (OUT_T *)buffers[1];                                                          \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                               \
        int32_t i;                                                                                 \
        for (i = begin * p->block; i < stop; i++) {                                                \
            out[i] = ELEMENT(p, in[i]);                                                            \
        }                                                                                          \
    }

/* per-axis affine kernels (QUANTIZE from float, DEQUANTIZE to float: kernels/unary_f32.c,
 * kernels/quantize_f32_even.c; ariel_affine_params is declared in ariel_kernels_elementwise.h):
 * element i uses channel (i / inner) % channels, walked in runs of one channel */
#define ARIEL_AFFINE_KERNEL(NAME, IN_T, OUT_T, ELEMENT)                                              \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)               \
    {                                                                                              \
        const ariel_affine_params *p = (const ariel_affine_params *)params;                        \
        const IN_T *in = (const IN_T *)buffers[0];                                                 \
        OUT_T *out = (OUT_T *)buffers[1];                                                          \
        const int32_t stop = ariel_ew_stop(end, p->block, p->count);                               \
        int32_t i = begin * p->block;                                                              \
        while (i < stop) {                                                                         \
            const int32_t group = i / p->inner;                                                    \
            const int32_t channel = group % p->channels;                                           \
            const float scale = p->scales[channel];                                                \
            const int32_t zero_point = p->zero_points[channel];                                    \
            const int32_t run_end = (group + 1) * p->inner < stop ? (group + 1) * p->inner : stop; \
            for (; i < run_end; i++) {                                                             \
                out[i] = ELEMENT(p, in[i], scale, zero_point);                                     \
            }                                                                                      \
        }                                                                                          \
    }

#endif /* ARIEL_ELEMENTWISE_LOOPS_H */
