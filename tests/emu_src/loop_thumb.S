/* Cycle microbenchmark for any Cortex-M (Thumb-1 only). Hand counts: tests/test_emu_cycles.py. */
    .syntax unified
    .thumb
    .text
    .word 0x20001000            /* initial SP */
    .word reset + 1             /* reset vector */
    .global reset
    .thumb_func
reset:
    movs r0, #100
    movs r1, #0
loop:
    adds r1, r1, r0
    subs r0, r0, #1
    bne loop
    ldr r2, exit_register       /* literal load (from flash) */
    str r1, [r2]                /* control block EXIT <- 5050 */
    b .
    .align 2
exit_register:
    .word 0xF0000000
