/* Cycle microbenchmark for Hazard3. Hand counts: tests/test_emu_cycles.py. */
    .text
    .global _start
_start:
    li a0, 100
    li a1, 0
loop:
    add a1, a1, a0
    addi a0, a0, -1
    bnez a0, loop
    la a2, table
    lw a3, 0(a2)                /* load ... */
    add a1, a1, a3              /* ... used at once: one stall cycle */
    lui a2, 0xF0000
    sw a1, 0(a2)                /* control block EXIT <- 5050 + 7 */
    j .
    .section .rodata
    .align 2
table:
    .word 7
