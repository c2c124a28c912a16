/* ports/rp2350-arm/port.c - RP2350 with its two Cortex-M33 cores: core id and hardware spinlocks
 * 24-31 from the SIO block, WFE/SEV for waiting, the DWT cycle counter (turned on at first use if
 * the start-up code did not). Trace and log: the emulator's control block when ARIEL_EMULATOR is
 * defined, else off / ariel_board_log.
 * Erratum RP2350-E2: a write to an SIO register at offset 0x180 or above (doorbells, MTIME control,
 * ...) also releases the hardware spinlocks; the application must not write those while an
 * inference runs (the Pico SDK itself uses software spinlocks on the RP2350 for that reason). */
#include <stdint.h>

#include "ariel_port.h"
#if defined(ARIEL_EMULATOR)
#include "ariel_emu.h"
#endif

#define SIO_BASE 0xD0000000u
#define SIO_CPUID (*(volatile uint32_t *)(SIO_BASE + 0x000u))
#define SIO_SPINLOCK(n) (*(volatile uint32_t *)(SIO_BASE + 0x100u + 4u * (24u + (n))))
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)

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

/* An SDK's start-up may leave the cycle counter off (ours turns it on): turn it on at first use
 * (DEMCR.TRCENA, then DWT_CTRL.CYCCNTENA); only per-op time stamps depend on it. */
uint32_t ariel_port_cycles(void)
{
    if ((DWT_CTRL & 1u) == 0u) {
        DEMCR |= 1u << 24;
        DWT_CTRL |= 1u;
    }
    return DWT_CYCCNT;
}

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
