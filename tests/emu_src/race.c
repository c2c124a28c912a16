/* Two or more cores add to shared counters: `locked` under the port's hardware lock (must always be
 * exact), `racy` without a lock and with a call between the load and the store (so that the
 * emulator's interleaving, which switches cores between basic blocks, can split the update), in a loop
 * of its own that the cores start together, then
 * meet at a barrier built on the port lock and events. Core 0 returns locked + (racy << 16). */
#include <stdint.h>

#include "ariel_port.h"

#define ROUNDS 300

ARIEL_SHARED_ZERO volatile uint32_t locked;
ARIEL_SHARED_ZERO volatile uint32_t racy;
ARIEL_SHARED_ZERO volatile uint32_t arrived;

__attribute__((noinline)) uint32_t plus_one(uint32_t value)
{
    __asm volatile("" ::: "memory");
    return value + 1u;
}

/* every core waits here until `count` arrivals in all have happened */
static void meet(uint32_t count)
{
    ariel_port_lock(2);
    arrived = arrived + 1u;
    ariel_port_unlock(2);
    ariel_port_wake();
    for (;;) {
        ariel_port_lock(2);
        uint32_t all = arrived;
        ariel_port_unlock(2);
        if (all >= count) {
            break;
        }
        ariel_port_wait();
    }
}

int ariel_main(unsigned core)
{
    for (int i = 0; i < ROUNDS; i++) {
        ariel_port_lock(2);
        locked = plus_one(locked);
        ariel_port_unlock(2);
    }
    /* a separate loop without locks, started together: the emulator orders lock acquisitions in
     * simulated time, so between two lock reads a core is only interrupted by the end of its slice */
    meet(ARIEL_CORES);
    for (int i = 0; i < ROUNDS; i++) {
        racy = plus_one(racy);
    }
    meet(2u * ARIEL_CORES);
    return core == 0u ? (int)(locked + (racy << 16)) : 0;
}
