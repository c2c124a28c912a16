/* kernels/conv_s8_float_requant.c - int8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with
 * onnxruntime's requantisation (semantics "onnxruntime"): MLAS's MlasRequantizeOutput multiplies the
 * int32 accumulator (bias included) by a float32 scale, clamps and rounds half to even. The loops are
 * the portable ones (ariel_conv_q8_portable.h, ariel_fc_q8_portable.h); only the requantisation of
 * one accumulator differs, so this file points their ariel_rq at ariel_rq_float before including
 * them. The compiler's records then carry the channel's float32 scale (its bits) in word 0.
 *
 * A file of its own, with names of its own: the ISA-specific kernels/<dir>/conv_s8.c files are
 * fixed-point only and are never picked for it. On a core without an FPU (Cortex-M0+) each output
 * costs the integer emulation of that float multiply (docs/semantics.md measures it). */
#include "ariel_kernels.h"
#include "ariel_round_even.h"

/* ariel:interface */
void ariel_conv_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_depthwise_conv_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_fully_connected_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* MLAS's round_half_even(float32(acc) * scale), done with integers (ariel_round_even.h); the
 * caller's clamp to the output type comes after: MLAS clamps to the same integer bounds before
 * rounding, which gives the same value */
static inline int32_t ariel_rq_float(int32_t acc, const int32_t *record)
{
    return ariel_scale_round_even(acc, record[0]);
}

#define ariel_rq ariel_rq_float
#include "ariel_conv_q8_portable.h"
#include "ariel_fc_q8_portable.h"
#undef ariel_rq

void ariel_conv_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    conv_q8((const ariel_conv_params *)params, buffers, begin, end, 0);
}

void ariel_depthwise_conv_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    if (p->packed_weights != 0) {
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_q8(p, buffers, begin, end, 0);
    }
}

void ariel_fully_connected_s8_fq(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    fully_connected_q8((const ariel_fully_connected_q8_params *)params, buffers, begin, end, 0);
}
