/* kernels/rv32/fully_connected_s8.c - int8 FULLY_CONNECTED for RV32IM cores (Hazard3), in place of
 * kernels/fully_connected_s8.c. Work item = one output element (row, unit), as in the portable kernel.
 *
 * Four units of one row at a time: each input byte is loaded once for four weight rows, and the
 * depth loop is unrolled by 4 (one pointer update and one branch per 16 MACs). Byte loads (LB)
 * throughout: RV32IM has no SIMD multiply, and extracting signed bytes from a word costs more than
 * loading them (see rv32/conv_s8.c). The requantisation is the portable one (ariel_rq with the
 * accumulator clamp of single rounding): one per `depth` MACs, it is not where the time goes.
 * Overflow: as in ariel_fc_q8_portable.h (the int32 dot product is exact for the depths the compiler
 * accepts; the bias is added with int32 wrap-around). weight_offset != 0 takes the portable loop. */
#include "ariel_fc_q8_portable.h"

#if defined(__GNUC__)
/* keep the unrolled sums in source order: reassociating them makes GCC hold all loads of a group at
 * once (and spill), and pre-allocation scheduling does the same (see rv32/conv_s8.c) */
#pragma GCC optimize("no-schedule-insns", "no-tree-reassoc")
#endif

/* acc[u] = sum_{k < n} x[k] * w_u[k] for the four weight rows w, w + n, w + 2n, w + 3n */
static void fc_dot4_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t *acc)
{
    const int8_t *w0 = w, *w1 = w + n, *w2 = w + 2 * n, *w3 = w + 3 * n;
    const int8_t *x_end = x + (n & ~3);
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* exact: |dot| < 2^31 for the depths the compiler accepts */
/* one tap: the input byte times the four rows' weights */
#define FC_TAP(k)                                                                                                      \
    do {                                                                                                               \
        const int32_t t = x[k];                                                                                        \
        a0 += (uint32_t)(t * w0[k]);                                                                                   \
        a1 += (uint32_t)(t * w1[k]);                                                                                   \
        a2 += (uint32_t)(t * w2[k]);                                                                                   \
        a3 += (uint32_t)(t * w3[k]);                                                                                   \
    } while (0)
    while (x != x_end) {
        FC_TAP(0);
        FC_TAP(1);
        FC_TAP(2);
        FC_TAP(3);
        x += 4; w0 += 4; w1 += 4; w2 += 4; w3 += 4;
    }
    for (n &= 3; n > 0; n--) {
        FC_TAP(0);
        x++; w0++; w1++; w2++; w3++;
    }
#undef FC_TAP
    acc[0] = (int32_t)a0;
    acc[1] = (int32_t)a1;
    acc[2] = (int32_t)a2;
    acc[3] = (int32_t)a3;
}

/* the portable requantisation of one output (ariel_fc_q8_portable.h) */
static inline int8_t fc_output(const ariel_fully_connected_q8_params *p, int32_t dot, int32_t unit)
{
    int32_t acc = ariel_wrapping_add(dot, p->bias[unit]);
    int32_t v;
    acc = acc > p->acc_limit ? p->acc_limit : acc < ~p->acc_limit ? ~p->acc_limit : acc; /* ~l = -l - 1 */
    v = ariel_rq(acc, p->rq + unit * p->per_channel * ARIEL_RQ_WORDS) + p->output_zero_point;
    v = v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
    return (int8_t)v;
}

void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_q8_params *p = (const ariel_fully_connected_q8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[3];
    const int32_t depth = p->depth;
    int32_t row, unit, item = begin;
    if (p->weight_offset != 0) {
        fully_connected_q8(p, buffers, begin, end, 0);
        return;
    }
    row = begin / p->units;
    unit = begin - row * p->units;
    while (item < end) {
        /* the units of this row within [item, end) */
        const int32_t stop = item + (p->units - unit < end - item ? p->units - unit : end - item);
        const int8_t *x = input + row * depth;
        for (; item + 4 <= stop; item += 4, unit += 4) {
            int32_t acc[4];
            fc_dot4_s8(x, weights + unit * depth, depth, acc);
            output[item] = fc_output(p, acc[0], unit);
            output[item + 1] = fc_output(p, acc[1], unit + 1);
            output[item + 2] = fc_output(p, acc[2], unit + 2);
            output[item + 3] = fc_output(p, acc[3], unit + 3);
        }
        for (; item < stop; item++, unit++) {
            output[item] = fc_output(p, fc_dot_s8(x, weights + unit * depth, depth), unit);
        }
        row++;
        unit = 0;
    }
}
