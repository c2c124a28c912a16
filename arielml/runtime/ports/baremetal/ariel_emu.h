/* ariel_emu.h - the emulator control block (not on real boards; see docs/emulator.md).
 * Emulated ports use it only for exit, console and trace, and only when ARIEL_EMULATOR is defined
 * (the emulator's firmware builder defines it; a build for a chip must not: a store to 0xF0000000
 * faults there). Cycles and locks come from the boards' own registers. Every register is 32 bits; writes from different cores never interfere (the
 * trace argument latches are per core). */
#ifndef ARIEL_EMU_H
#define ARIEL_EMU_H

#include <stdint.h>

#define ARIEL_EMU_BASE 0xF0000000u
#define ARIEL_EMU_REG(offset) (*(volatile uint32_t *)(ARIEL_EMU_BASE + (offset)))
#define ARIEL_EMU_EXIT ARIEL_EMU_REG(0x00u)        /* W: stop the machine, value = exit status */
#define ARIEL_EMU_PUTC ARIEL_EMU_REG(0x04u)        /* W: one console character */
#define ARIEL_EMU_TRACE_A ARIEL_EMU_REG(0x08u)     /* W: latch argument a (per core) */
#define ARIEL_EMU_TRACE_B ARIEL_EMU_REG(0x0Cu)     /* W: latch argument b (per core) */
#define ARIEL_EMU_TRACE_EVENT ARIEL_EMU_REG(0x10u) /* W: record (event, a, b) with this core's cycle stamp */
#define ARIEL_EMU_CYCLES_LO ARIEL_EMU_REG(0x14u)   /* R: this core's cycle count, low word */
#define ARIEL_EMU_CORE ARIEL_EMU_REG(0x18u)        /* R: index of the calling core */
#define ARIEL_EMU_HALT ARIEL_EMU_REG(0x1Cu)        /* W: this core stops; the others go on */
#define ARIEL_EMU_PUTS ARIEL_EMU_REG(0x20u)        /* W: address of a NUL-terminated string to print */
#define ARIEL_EMU_CYCLES_HI ARIEL_EMU_REG(0x24u)   /* R: high word of the count latched by the last CYCLES_LO read */
#define ARIEL_EMU_STEP ARIEL_EMU_REG(0x28u)        /* W: inference `value` is done; the host reads its outputs now */

static inline void ariel_emu_trace(uint32_t event, uint32_t a, uint32_t b)
{
    ARIEL_EMU_TRACE_A = a;
    ARIEL_EMU_TRACE_B = b;
    ARIEL_EMU_TRACE_EVENT = event;
}

static inline void ariel_emu_puts(const char *message) { ARIEL_EMU_PUTS = (uint32_t)(uintptr_t)message; }

#endif /* ARIEL_EMU_H */
