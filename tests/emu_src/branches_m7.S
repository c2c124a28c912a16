/* Cortex-M7 branch prediction microbenchmarks: tests/test_cycle_model_m7.py.
 * counted_loop: a backward loop branch, taken 99 times then not taken once.
 * alternating: a forward branch taken every other iteration (a 2-bit counter mispredicts it);
 * steady: the same loop with the forward branch always taken. */
    .syntax unified
    .thumb
    .text
    .word 0x24001000
    .word counted_loop + 1

    .global counted_loop
    .thumb_func
counted_loop:
    movs r0, #100
1:  subs r0, r0, #1
    bne 1b
    b done

    .global alternating
    .thumb_func
alternating:
    movs r3, #1
    b pattern
    .global steady
    .thumb_func
steady:
    movs r3, #0
pattern:
    movs r0, #100
    movs r1, #0
    movs r2, #0
1:  eors r1, r1, r3
    cmp r1, #0
    beq 2f
    adds r2, r2, #1
2:  subs r0, r0, #1
    bne 1b
done:
    ldr r0, =0xF0000000
    movs r1, #0
    str r1, [r0]
    b .
    .ltorg
