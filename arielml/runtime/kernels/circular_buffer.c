/* kernels/circular_buffer.c - TFLite Micro's CIRCULAR_BUFFER (arielml/ops/circular_buffer.py): the
 * window of the last `slots` int8 inputs, kept as hidden state (updated in place) minus the zero
 * point (8-bit wrapping, so a reset's zero bytes are a window full of the zero point), and copied to
 * the output; a countdown of invocations (state) says whether this invocation completes (state flag).
 * One work item: the window is read whole before it is rewritten. */
#include <string.h>

#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: the input (one slot), the window state (slots * slot bytes), elapsed (int32), completes
 * (bool), the output (slots * slot bytes) */
typedef struct {
    int32_t slot;       /* bytes per slot (H * W) */
    int32_t slots;      /* slots in the window */
    int32_t cycles_max; /* >= 1: every cycles_max-th invocation completes */
    int32_t zero_point; /* the output's */
} ariel_circular_buffer_params;

void ariel_circular_buffer_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_circular_buffer_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_circular_buffer_params *p = (const ariel_circular_buffer_params *)params;
    const int8_t *x = (const int8_t *)buffers[0];
    int8_t *window = (int8_t *)buffers[1];
    int32_t *elapsed = (int32_t *)buffers[2];
    uint8_t *completes = (uint8_t *)buffers[3];
    int8_t *out = (int8_t *)buffers[4];
    const size_t kept = (size_t)(p->slots - 1) * (size_t)p->slot;
    const size_t total = kept + (size_t)p->slot;
    const uint8_t zero_point = (uint8_t)p->zero_point;
    size_t i;
    if (begin >= end) {
        return;
    }
    /* oldest slot dropped, the rest moves up one slot, the input is appended; uint8_t sums wrap
     * (mod 256), exactly the inverse of the subtraction */
    memmove(window, window + p->slot, kept);
    for (i = 0; i < (size_t)p->slot; i++) {
        window[kept + i] = (int8_t)(uint8_t)((uint8_t)x[i] - zero_point);
    }
    for (i = 0; i < total; i++) {
        out[i] = (int8_t)(uint8_t)((uint8_t)window[i] + zero_point);
    }
    /* elapsed < cycles_max always (it restarts at 0 when it reaches cycles_max) */
    *elapsed += 1;
    *completes = (uint8_t)(*elapsed == p->cycles_max);
    if (*completes) {
        *elapsed = 0;
    }
}
