/* A fake two-operator "model" for the profiler: op 0 has 4 tiles, op 1 has 2; tiles are pulled from a
 * shared counter under the lock; every op ends with a barrier; trace marks as the runtime makes them.
 * With TRACE_BAD_ACCESS the program faults inside op 1 (for the fault report test). */
#include <stdint.h>

#include "ariel_port.h"

ARIEL_SHARED_ZERO volatile uint32_t next_tile[2];
ARIEL_SHARED_ZERO volatile uint32_t arrived[3];
ARIEL_SHARED_ZERO volatile uint32_t sink;

static const uint32_t tiles_of[2] = {4, 2};

static void work(uint32_t amount)
{
    uint32_t acc = 0;
    for (uint32_t i = 0; i < amount; i++) {
        acc += i * 3u;
    }
    sink = acc;
}

static void barrier(uint32_t index)
{
    ariel_port_trace(ARIEL_TRACE_BARRIER_BEGIN, index, 0);
    ariel_port_lock(0);
    arrived[index % 3u] = arrived[index % 3u] + 1u;
    ariel_port_unlock(0);
    ariel_port_wake();
    for (;;) {
        ariel_port_lock(0);
        uint32_t all = arrived[index % 3u];
        ariel_port_unlock(0);
        if (all == ARIEL_CORES) {
            break;
        }
        ariel_port_wait();
    }
    ariel_port_trace(ARIEL_TRACE_BARRIER_END, index, 0);
}

int ariel_main(unsigned core)
{
    ariel_port_trace(ARIEL_TRACE_RUN_BEGIN, core, 0);
    for (uint32_t op = 0; op < 2u; op++) {
        ariel_port_trace(ARIEL_TRACE_OP_BEGIN, op, 0);
#ifdef TRACE_BAD_ACCESS
        if (op == 1u) {
            *(volatile uint32_t *)0x40000000u = 1u;
        }
#endif
        for (;;) {
            ariel_port_lock(0);
            uint32_t tile = next_tile[op];
            next_tile[op] = tile + 1u;
            ariel_port_unlock(0);
            if (tile >= tiles_of[op]) {
                break;
            }
            ariel_port_trace(ARIEL_TRACE_TILE_BEGIN, op, tile);
            work(2000u + 500u * tile);
            ariel_port_trace(ARIEL_TRACE_TILE_END, op, tile);
        }
        ariel_port_trace(ARIEL_TRACE_OP_END, op, 0);
        barrier(op);
    }
    ariel_port_trace(ARIEL_TRACE_RUN_END, core, 0);
    return 42;
}
