/* Cortex-M4 pipeline refill P = 1-3 (TRM 3.3.1): tests/test_cycle_model_m4.py.
 * aligned: a loop whose branch target is a 32-bit instruction on a word boundary (P = 1);
 * misaligned: the same loop with its target at an address = 2 mod 4 (P = 2: two fetches);
 * returns: a loop that calls a function returning through BX LR (indirect: P = 2). */
    .syntax unified
    .thumb
    .text
    .word 0x20001000
    .word aligned + 1

    .global aligned
    .thumb_func
aligned:
    movs r0, #100
    .balign 4
1:  add.w r1, r1, r0            /* 32-bit, word-aligned branch target */
    subs r0, r0, #1
    bne 1b
    b done

    .global misaligned
    .thumb_func
misaligned:
    movs r0, #100
    .balign 4
    nop
1:  add.w r1, r1, r0            /* 32-bit, at an address = 2 mod 4 */
    subs r0, r0, #1
    bne 1b
    b done

    .global returns
    .thumb_func
returns:
    movs r0, #100
1:  bl leaf
    subs r0, r0, #1
    bne 1b
    b done
    .thumb_func
leaf:
    adds r1, r1, #1
    bx lr

done:
    ldr r0, =0xF0000000
    movs r1, #0
    str r1, [r0]
    b .
    .ltorg
