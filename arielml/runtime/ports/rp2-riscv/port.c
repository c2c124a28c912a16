/* ports/rp2-riscv/port.c - RV32 cores on an RP2350-style SIO block: the RP2350's Hazard3 cores, the
 * RISC-V half of rp2350-mixed, and the generic rv32-smp cluster (which reuses the same SIO model).
 * Core id and hardware spinlocks from SIO; the SIO RISC-V platform timer (MTIME, run at full system
 * speed) as the cycle counter; Hazard3's h3.block / h3.unblock hints (slt x0,x0,x0 / slt x0,x0,x1,
 * no-ops on other RV32 cores) for waiting. Trace and log: the emulator's control block when
 * ARIEL_EMULATOR is defined, else off / ariel_board_log. Spinlocks 24-31 are used; erratum
 * RP2350-E2: SIO writes at offset 0x180 or above also release them (see ports/rp2350-arm). */
#include <stdint.h>

#include "ariel_port.h"
#if defined(ARIEL_EMULATOR)
#include "ariel_emu.h"
#endif

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

void ariel_port_wait(void) { __asm volatile("slt x0, x0, x0" ::: "memory"); }
void ariel_port_wake(void) { __asm volatile("fence rw, rw\n\tslt x0, x0, x1" ::: "memory"); }

#if defined(ARIEL_EMULATOR)
/* emulator builds (build_firmware defines ARIEL_EMULATOR): the control block of ariel_emu.h records
 * the trace for the profiler and prints the log */
void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { ariel_emu_trace(event, a, b); }
void ariel_port_log(const char *message) { ariel_emu_puts(message); }
#else
/* a real chip has no control block (a store to 0xF0000000 would fault): trace marks cost nothing,
 * and the log goes to ariel_board_log, a weak no-op - define ariel_board_log(const char *) in the
 * application to send it to a UART, RTT or printf */
void ariel_port_trace(uint32_t event, uint32_t a, uint32_t b) { (void)event; (void)a; (void)b; }
void ariel_board_log(const char *message) __attribute__((weak));
void ariel_board_log(const char *message) { (void)message; }
void ariel_port_log(const char *message) { ariel_board_log(message); }
#endif
