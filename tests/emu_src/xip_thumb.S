/* XIP cache microbenchmarks (Thumb-1, any Cortex-M): tests/test_cycle_model_xip.py.
 * Entries choose what to stream through the flash cache and how many passes:
 *   data_<size>_<passes>: sum a table in flash (8 KiB or 32 KiB) word by word;
 *   code_<size>_<passes>: run a straight-line block of code (2 KiB or 18 KiB) in a loop.
 * Far targets are reached with ldr/bx (Thumb-1 branches are short). */
    .syntax unified
    .thumb
    .text
    .word 0x20001000
    .word data_small_1 + 1

    .macro entry name, bytes, passes, body
    .global \name
    .thumb_func
\name:
    ldr r4, =\bytes
    movs r5, #\passes
    ldr r0, =\body + 1
    bx r0
    .ltorg
    .endm

    .macro jump target
    ldr r0, =\target + 1
    bx r0
    .ltorg
    .endm

    entry data_small_1, 8192, 1, data_loop
    entry data_small_4, 8192, 4, data_loop
    entry data_large_1, 32768, 1, data_loop
    entry data_large_4, 32768, 4, data_loop
    entry code_small_1, 0, 1, code_small
    entry code_small_4, 0, 4, code_small
    entry code_large_1, 0, 1, code_large
    entry code_large_4, 0, 4, code_large

    .thumb_func
data_loop:
    ldr r0, =table
    movs r1, #0
1:  ldr r3, [r0, r1]            /* a flash data read */
    adds r2, r2, r3
    adds r1, r1, #4
    cmp r1, r4
    bne 1b
    subs r5, r5, #1
    bne data_loop
    jump done

    .thumb_func
code_small:
    .rept 1024                  /* 2 KiB of code */
    adds r2, r2, #1
    .endr
    subs r5, r5, #1
    beq 2f
    jump code_small
2:  jump done

    .thumb_func
code_large:
    .rept 9216                  /* 18 KiB of code: more than the 16 KiB cache */
    adds r2, r2, #1
    .endr
    subs r5, r5, #1
    beq 2f
    jump code_large
2:  jump done

    .thumb_func
done:
    ldr r0, =0xF0000000
    movs r1, #0
    str r1, [r0]                /* control block EXIT <- 0 */
    b .
    .ltorg

    /* on a page of its own, as linker.py lays out .rodata: the emulator charges data reads from flash
     * pages that hold no code (default mode) */
    .section .rodata
    .align 12
table:
    .space 32768, 1
