/* Fault programs: the entry point selects which fault (see tests/test_emu_faults.py). */
    .syntax unified
    .thumb
    .text
    .word 0x20001000
    .word bad_store + 1
    .global bad_store, thumb2_on_m0, budget_loop, spin_forever, store_to_flash_code, store_to_flash_data
    .thumb_func
bad_store:
    ldr r0, bad_address
    movs r1, #1
    str r1, [r0]                /* unmapped on every board */
    b .
    .thumb_func
thumb2_on_m0:
    movs r0, #1
    movw r0, #0x1234            /* Thumb-2: not in ARMv6-M */
    ldr r2, exit_register
    str r0, [r2]
    b .
    .thumb_func
budget_loop:
1:  adds r0, r0, #1             /* never ends, never repeats a state */
    b 1b
    .thumb_func
spin_forever:
    b .
    .thumb_func
store_to_flash_code:
    ldr r0, flash_code_address
    movs r1, #1
    str r1, [r0]                /* flash is read-only: a page of code (RAM-mapped in the emulator) */
    b .
    .thumb_func
store_to_flash_data:
    ldr r0, flash_data_address
    movs r1, #1
    str r1, [r0]                /* a page of constants (read through the emulator's MMIO callback) */
    b .
    .align 2
bad_address:
    .word 0x40000000
exit_register:
    .word 0xF0000000
flash_code_address:
    .word bad_store
flash_data_address:
    .word flash_constant

    .section .rodata
    .align 12
flash_constant:
    .word 0
