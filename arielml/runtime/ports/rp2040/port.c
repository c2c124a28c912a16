/* ports/rp2040/port.c - RP2040 (2x Cortex-M0+): core id and hardware spinlocks from the SIO block,
 * WFE/SEV for waiting, the 1 MHz TIMER as the tick counter (the M0+ has no cycle counter). Trace and
 * log: the emulator's control block when ARIEL_EMULATOR is defined, else off / ariel_board_log.
 * With the Pico SDK: spinlocks 24-31 are its "claim free" range, handed out at run time by
 * spin_lock_claim_unused(); claim them first (spin_lock_claim_mask(0xFF000000u)) so nothing else does. */
#include <stdint.h>

#include "ariel_port.h"
#if defined(ARIEL_EMULATOR)
#include "ariel_emu.h"
#endif

#define SIO_BASE 0xD0000000u
#define SIO_CPUID (*(volatile uint32_t *)(SIO_BASE + 0x000u))
/* spinlocks 24..31: the Pico SDK leaves these to the application (claimed at run time) */
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

void ariel_port_wait(void) { __asm volatile("wfe" ::: "memory"); }
void ariel_port_wake(void) { __asm volatile("dsb\n\tsev" ::: "memory"); }

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
