/* ports/rp2350-arm/port.c - RP2350 with its two Cortex-M33 cores: core id and hardware spinlocks
 * from the SIO block, WFE/SEV for waiting, the DWT cycle counter (enabled by the start-up code),
 * and the emulator control block for trace and log. */
#include <stdint.h>

#include "ariel_emu.h"
#include "ariel_port.h"

#define SIO_BASE 0xD0000000u
#define SIO_CPUID (*(volatile uint32_t *)(SIO_BASE + 0x000u))
#define SIO_SPINLOCK(n) (*(volatile uint32_t *)(SIO_BASE + 0x100u + 4u * (24u + (n))))
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

unsigned ariel_port_core_id(void) { return SIO_CPUID; }

void ariel_port_lock(unsigned lock_id)
{
    while (SIO_SPINLOCK(lock_id) == 0u) {
    }
    __asm volatile("dmb" ::: "memory");
}

void ariel_port_unlock(unsigned lock_id)
{
    __asm volatile("dmb" ::: "memory");
    SIO_SPINLOCK(lock_id) = 1u;
}

uint32_t ariel_port_cycles(void) { return DWT_CYCCNT; }

void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { ariel_emu_trace(event, a, b); }
void ariel_port_log(const char *message) { ariel_emu_puts(message); }
void ariel_port_wait(void) { __asm volatile("wfe" ::: "memory"); }
void ariel_port_wake(void) { __asm volatile("dsb\n\tsev" ::: "memory"); }
