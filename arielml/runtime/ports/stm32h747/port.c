/* ports/stm32h747/port.c - STM32H747: Cortex-M7 (core 0) + Cortex-M4 (core 1).
 * Core id: the part number in the Cortex-M CPUID register (SCB, 0xE000ED00) - 0xC27 on the M7,
 * 0xC24 on the M4 - the way ST's own HAL tells the two cores apart.
 * Locks: the hardware semaphore block HSEM (0x58026400), 1-step lock: reading RLR[n] takes the
 * semaphore if free and returns LOCK | COREID << 8 (COREID: 3 = M7, 1 = M4); the owner frees it by
 * writing COREID << 8 to R[n]. Semaphores 24..31 are used (ST's examples use the low ones).
 * Cycles: DWT CYCCNT (turned on at first use if the start-up code did not). Waiting: WFE/SEV (each
 * core's TXEV is wired to the other core's RXEV). Trace and log: the emulator's control block when
 * ARIEL_EMULATOR is defined, else off / ariel_board_log.
 * On the chip, the M7's data cache must not hold the shared variables (the M4 has no cache and would
 * not see them): keep the ARIEL_SHARED region (.data/.bss.ariel_shared) non-cacheable with the MPU,
 * or the D-cache off. */
#include <stdint.h>

#include "ariel_port.h"
#if defined(ARIEL_EMULATOR)
#include "ariel_emu.h"
#endif

#define SCB_CPUID (*(volatile uint32_t *)0xE000ED00u)
#define HSEM_BASE 0x58026400u
#define HSEM_R(n) (*(volatile uint32_t *)(HSEM_BASE + 4u * (24u + (n))))
#define HSEM_RLR(n) (*(volatile uint32_t *)(HSEM_BASE + 0x80u + 4u * (24u + (n))))
#define HSEM_LOCK 0x80000000u
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_LAR (*(volatile uint32_t *)0xE0001FB0u)

static uint32_t hsem_core_id(void) { return ariel_port_core_id() == 0u ? 3u : 1u; }

unsigned ariel_port_core_id(void) { return ((SCB_CPUID >> 4) & 0xFFFu) == 0xC27u ? 0u : 1u; }

void ariel_port_lock(unsigned lock_id)
{
    const uint32_t mine = HSEM_LOCK | (hsem_core_id() << 8);
    while (HSEM_RLR(lock_id) != mine) {
    }
    __asm volatile("dmb" ::: "memory");
}

void ariel_port_unlock(unsigned lock_id)
{
    __asm volatile("dmb" ::: "memory");
    HSEM_R(lock_id) = hsem_core_id() << 8;
}

/* An SDK's start-up may leave the cycle counter off (ours turns it on): turn it on at first use
 * (DEMCR.TRCENA, then DWT_CTRL.CYCCNTENA); only per-op time stamps depend on it. */
uint32_t ariel_port_cycles(void)
{
    if ((DWT_CTRL & 1u) == 0u) {
        DEMCR |= 1u << 24;
        if (ariel_port_core_id() == 0u) {
            DWT_LAR = 0xC5ACCE55u; /* the M7's DWT ignores writes until its lock access register is opened */
        }
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
