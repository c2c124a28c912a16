/* ports/nrf52840/port.c - nRF52840, one Cortex-M4F: the single-core baseline. There is no other
 * core to exclude, and the runtime takes no locks in interrupt handlers, so a lock is a compiler
 * barrier; waiting never happens with one core. Cycles: DWT CYCCNT. Trace/log: the emulator control block. */
#include <stdint.h>

#include "ariel_emu.h"
#include "ariel_port.h"

#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

unsigned ariel_port_core_id(void) { return 0u; }
void ariel_port_lock(unsigned lock_id) { (void)lock_id; __asm volatile("" ::: "memory"); }
void ariel_port_unlock(unsigned lock_id) { (void)lock_id; __asm volatile("" ::: "memory"); }
uint32_t ariel_port_cycles(void) { return DWT_CYCCNT; }
void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { ariel_emu_trace(event, a, b); }
void ariel_port_log(const char *message) { ariel_emu_puts(message); }
void ariel_port_wait(void) {}
void ariel_port_wake(void) {}
