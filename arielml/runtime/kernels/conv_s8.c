/* kernels/conv_s8.c - int8 CONV_2D and DEPTHWISE_CONV_2D, portable C (the fallback of every core
 * type, and the oracle of the ISA-specific kernels/<variant>/conv_s8.c files). The loops and the
 * arithmetic (input offset folded into the bias, overflow bounds) are in ariel_conv_q8_portable.h. */
#include "ariel_conv_q8_portable.h"

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    conv_q8((const ariel_conv_params *)params, buffers, begin, end, 0);
}


void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    if (p->packed_weights != 0) { /* the compiler packs them for depth multiplier 1, <= DW_MAX_TAPS taps */
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_q8(p, buffers, begin, end, 0);
    }
}

