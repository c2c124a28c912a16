/* ports/rp2040/port.c - RP2040 (2x Cortex-M0+): core id and hardware spinlocks from the SIO block,
 * WFE/SEV for waiting, the 1 MHz TIMER as the tick counter (the M0+ has no cycle counter), and the
 * emulator control block for trace and log (a real board would use its UART instead). */
#include <stdint.h>

#include "ariel_emu.h"
#include "ariel_port.h"

#define SIO_BASE 0xD0000000u
#define SIO_CPUID (*(volatile uint32_t *)(SIO_BASE + 0x000u))
/* spinlocks 24..31: the Pico SDK leaves these to the application */
#define SIO_SPINLOCK(n) (*(volatile uint32_t *)(SIO_BASE + 0x100u + 4u * (24u + (n))))
#define TIMER_TIMERAWL (*(volatile uint32_t *)0x40054028u)

unsigned ariel_port_core_id(void) { return SIO_CPUID; }

void ariel_port_lock(unsigned lock_id)
{
    while (SIO_SPINLOCK(lock_id) == 0u) {
    }
    __asm volatile("dmb" ::: "memory"); /* acquire: later loads see what the last owner wrote */
}

void ariel_port_unlock(unsigned lock_id)
{
    __asm volatile("dmb" ::: "memory"); /* release: our writes are visible before the lock is */
    SIO_SPINLOCK(lock_id) = 1u;
}

uint32_t ariel_port_cycles(void) { return TIMER_TIMERAWL; } /* microsecond ticks */

void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { ariel_emu_trace(event, a, b); }
void ariel_port_log(const char *message) { ariel_emu_puts(message); }
void ariel_port_wait(void) { __asm volatile("wfe" ::: "memory"); }
void ariel_port_wake(void) { __asm volatile("dsb\n\tsev" ::: "memory"); }
