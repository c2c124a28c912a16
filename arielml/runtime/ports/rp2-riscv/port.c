/* ports/rp2-riscv/port.c - RV32 cores on an RP2350-style SIO block: the RP2350's Hazard3 cores, the
 * RISC-V half of rp2350-mixed, and the generic rv32-smp cluster (which reuses the same SIO model).
 * Core id and hardware spinlocks from SIO; the SIO RISC-V platform timer (MTIME, run at full system
 * speed) as the cycle counter; Hazard3's h3.block / h3.unblock hints (slt x0,x0,x0 / slt x0,x0,x1,
 * no-ops on other RV32 cores) for waiting; the emulator control block for trace and log. */
#include <stdint.h>

#include "ariel_emu.h"
#include "ariel_port.h"

#define SIO_BASE 0xD0000000u
#define SIO_CPUID (*(volatile uint32_t *)(SIO_BASE + 0x000u))
#define SIO_SPINLOCK(n) (*(volatile uint32_t *)(SIO_BASE + 0x100u + 4u * (24u + (n))))
#define SIO_MTIME (*(volatile uint32_t *)(SIO_BASE + 0x1B0u))

unsigned ariel_port_core_id(void) { return SIO_CPUID; }

void ariel_port_lock(unsigned lock_id)
{
    while (SIO_SPINLOCK(lock_id) == 0u) {
    }
    __asm volatile("fence rw, rw" ::: "memory");
}

void ariel_port_unlock(unsigned lock_id)
{
    __asm volatile("fence rw, rw" ::: "memory");
    SIO_SPINLOCK(lock_id) = 1u;
}

uint32_t ariel_port_cycles(void) { return SIO_MTIME; }

void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { ariel_emu_trace(event, a, b); }
void ariel_port_log(const char *message) { ariel_emu_puts(message); }
void ariel_port_wait(void) { __asm volatile("slt x0, x0, x0" ::: "memory"); }
void ariel_port_wake(void) { __asm volatile("fence rw, rw\n\tslt x0, x0, x1" ::: "memory"); }
