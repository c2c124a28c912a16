/* kernels/add_n.c - ADD_N on int32 (wrapping) and quantised int8 (arielml/ops/add_n.py; float32 in
 * add_n_f32.c): n inputs of one shape, no broadcasting. Element i of the output is written after
 * element i of every input is read, so the output may share an input's bytes. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
/* ADD_N: n inputs of one shape, no broadcasting. buffers: the n inputs, then the output.
 * Quantised int8: out = clamp(requantize(start + sum table[(uint8_t)x_k]) + output_offset). */
typedef struct {
    int32_t count; /* elements */
    int32_t block; /* elements per work item */
    int32_t inputs;
    int32_t start;        /* the scaled input offset TFLite starts the sum from */
    const int32_t *table; /* each byte's scaled value */
    const int32_t *rq; /* the output rescale's ariel_rq record */
    int32_t output_offset;
} ariel_add_n_params;

void ariel_add_n_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_add_n_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_add_n_s32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_add_n_params *p = (const ariel_add_n_params *)params;
    int32_t *out = (int32_t *)buffers[p->inputs];
    const int32_t stop = ariel_ew_stop(end, p->block, p->count);
    int32_t i, k;
    for (i = begin * p->block; i < stop; i++) {
        uint32_t sum = 0; /* wraps, as TFLite's int32 sum */
        for (k = 0; k < p->inputs; k++) {
            sum += (uint32_t)((const int32_t *)buffers[k])[i];
        }
        out[i] = (int32_t)sum; /* written after every input's element i is read: in place is fine */
    }
}

void ariel_add_n_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_add_n_params *p = (const ariel_add_n_params *)params;
    int8_t *out = (int8_t *)buffers[p->inputs];
    const int32_t stop = ariel_ew_stop(end, p->block, p->count);
    int32_t i, k;
    for (i = begin * p->block; i < stop; i++) {
        int32_t sum = p->start; /* at most 15 terms below 2^27: no overflow (checked at compile time) */
        for (k = 0; k < p->inputs; k++) {
            sum += p->table[((const uint8_t *)buffers[k])[i]];
        }
        out[i] = (int8_t)ariel_ew_clamp(
            (int64_t)ariel_rq(sum, p->rq) + p->output_offset, -128, 127);
    }
}
