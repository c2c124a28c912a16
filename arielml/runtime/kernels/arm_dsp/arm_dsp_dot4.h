/* kernels/arm_dsp/arm_dsp_dot4.h - word helpers (load_word, widen_odd) and the inner loop shared by conv_s8.c's one pixel x four channels
 * block and fully_connected_s8.c's four-unit dot product (an assembly string for their naked
 * functions). Registers on entry: r0 the input (advances a word a step), r1 row 0's weights
 * (advances), r2 the bytes between rows, r3 the input's end, r4-r7 the four sums; r8-r12 and lr
 * are scratch. Per 16 multiply-accumulates 5 loads, 10 SXTB16, 8 SMLAD: each SMLAD follows an
 * instruction the M7 may issue beside it (dual issue: 17 cycles a step, not 21), and the two
 * row loads that share a step stay back to back (pipelined on the M4). */
#ifndef ARIEL_ARM_DSP_DOT4_H
#define ARIEL_ARM_DSP_DOT4_H

#include <stdint.h>

/* A hot function's own section among the initialised data: start-up copies it to SRAM with the data
 * (like the Pico SDK's time-critical code; the assembler warns that the section is executable). From
 * flash the 1x1 path (2x2 block, two-word block, row driver, requantisation; ~1.9 KB) shares the
 * RP2350's 2-way 16 KB XIP cache with the drivers, and wherever the linker put the rest, one layer's
 * code could thrash another's sets: adding conv_row_pairs made vww's first convolution 1.66 M ->
 * 2.17 M cycles from flash (17.04 M -> 17.28 M for the model), 16.77 M with these four in SRAM; all
 * of conv_s8.c's hot code (13.5 KB) gave 16.70 M. nrf52840 and stm32h747 run equally fast either way
 * (measured): the SRAM is the only cost there. Calls between SRAM and flash go through the linker's
 * long-branch veneers. Since the requantisation moved into the 2x2 loops (mac_pairs_rq), the SRAM
 * holds the two-word block, mac_pairs_rq, pair_rq, mac_plan_rq, pair_plan and conv_row_pairs
 * (~2.6 KB per image); the separate block and requantisation loop went back to flash (vww and kws on
 * one M33 within 0.4% either way, 1.4 KB of SRAM less). */
#define ARIEL_DSP_IN_SRAM(name) __attribute__((section(".data.arm_dsp_" #name)))

/* four bytes from any address (the cores load words unaligned; LDRD/LDM would fault, and
 * __builtin_memcpy keeps the compiler from pairing these loads into them) */
static inline uint32_t load_word(const int8_t *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}

/* bytes 1 and 3 of v, sign-extended to two int16 lanes (SXTB16 with its rotation; GCC's arm_acle.h
 * has no __ror to fold) */
static inline uint32_t widen_odd(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

#define ARIEL_DSP_DOT4_LOOP                                                                                     \
    "1:\n\t"                                                                                                    \
    "ldr    r8, [r0], #4\n\t"             /* input word */                                                      \
    "ldr    r10, [r1]\n\t"                /* row 0 */                                                           \
    "ldr    r11, [r1, r2]\n\t"            /* row 1 */                                                           \
    "add    r12, r1, r2, lsl #1\n\t"                                                                            \
    "sxtb16 r9, r8, ror #8\n\t"                                                                                 \
    "sxtb16 r8, r8\n\t"                                                                                         \
    "sxtb16 lr, r10\n\t"                                                                                        \
    "smlad  r4, r8, lr, r4\n\t"                                                                                 \
    "sxtb16 r10, r10, ror #8\n\t"                                                                               \
    "smlad  r4, r9, r10, r4\n\t"                                                                                \
    "sxtb16 lr, r11\n\t"                                                                                        \
    "smlad  r5, r8, lr, r5\n\t"                                                                                 \
    "sxtb16 r11, r11, ror #8\n\t"                                                                               \
    "smlad  r5, r9, r11, r5\n\t"                                                                                \
    "ldr    r10, [r12]\n\t"               /* row 2 */                                                           \
    "ldr    r11, [r12, r2]\n\t"           /* row 3 */                                                           \
    "add    r1, r1, #4\n\t"                                                                                     \
    "sxtb16 lr, r10\n\t"                                                                                        \
    "smlad  r6, r8, lr, r6\n\t"                                                                                 \
    "sxtb16 r10, r10, ror #8\n\t"                                                                               \
    "smlad  r6, r9, r10, r6\n\t"                                                                                \
    "sxtb16 lr, r11\n\t"                                                                                        \
    "smlad  r7, r8, lr, r7\n\t"                                                                                 \
    "sxtb16 r11, r11, ror #8\n\t"                                                                               \
    "smlad  r7, r9, r11, r7\n\t"                                                                                \
    "cmp    r0, r3\n\t"                                                                                         \
    "bne    1b\n\t"

#endif
