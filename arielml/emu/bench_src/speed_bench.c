/* speed_bench.c - emulator speed benchmark: every core runs an int8 matrix-vector product (the inner
 * loop of a fully connected / 1x1 conv kernel) over its own rows, many times; core 0 then waits for
 * the others. Used by `python -m arielml.emu.speed`. */
#include <stdint.h>

#include "ariel_port.h"

#ifndef BENCH_REPEAT
#define BENCH_REPEAT 40
#endif
#define ROWS 64
#define COLS 256

static const int8_t weights[ROWS][COLS] = {{1, -2, 3}, {4, 5, -6}};
ARIEL_SHARED_ZERO int8_t input[COLS];
ARIEL_SHARED_ZERO int32_t output[ARIEL_CORES][ROWS];
ARIEL_SHARED_ZERO volatile uint32_t finished;

static int32_t dot(const int8_t *w, const int8_t *x, int n, int32_t input_offset)
{
    int32_t acc = 0;
    for (int i = 0; i < n; i++) {
        acc += (int32_t)w[i] * ((int32_t)x[i] + input_offset);
    }
    return acc;
}

int ariel_main(unsigned core)
{
    for (int i = 0; i < COLS; i++) {
        input[i] = (int8_t)(i * 7 + (int)core);
    }
    for (int r = 0; r < BENCH_REPEAT; r++) {
        for (int row = 0; row < ROWS; row++) {
            output[core][row] += dot(weights[row], input, COLS, 128);
        }
    }
    ariel_port_lock(1);
    finished = finished + 1u;
    ariel_port_unlock(1);
    ariel_port_wake();
    if (core != 0u) {
        return 0;
    }
    for (;;) {
        ariel_port_lock(1);
        uint32_t done = finished;
        ariel_port_unlock(1);
        if (done == ARIEL_CORES) {
            break;
        }
        ariel_port_wait();
    }
    return (int)(output[0][0] & 0x7FFFFFFF);
}
