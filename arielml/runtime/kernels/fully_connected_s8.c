/* kernels/fully_connected_s8.c - int8 FULLY_CONNECTED, portable C (the fallback of every core type,
 * and the oracle of the ISA-specific kernels/<variant>/fully_connected_s8.c files). Work item = one
 * output element; the loop and its arithmetic are in ariel_fc_q8_portable.h. */
#include "ariel_fc_q8_portable.h"

void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    fully_connected_q8((const ariel_fully_connected_q8_params *)params, buffers, begin, end, 0);
}

