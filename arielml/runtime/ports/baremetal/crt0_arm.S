/* crt0_arm.S - vector table and reset entry for every Cortex-M core (Thumb-1 only, so it also runs
 * on the Cortex-M0+). All cores of an image enter here at reset with the vector table's SP; each core
 * first moves to its own stack, then ariel_crt_main (crt_main.c) does the rest in C.
 * Linker-script symbols (see arielml/emu/linker.py): __ariel_first_core, __ariel_cores_in_image,
 * __ariel_stack_top, __ariel_stack_size, __ariel_cpuid_reg (SIO CPUID, read only on multi-core images). */
    .syntax unified
    .thumb

    .section .vectors, "a"
    .align 2
    .global __ariel_vectors
__ariel_vectors:
    .word __ariel_stack_top
    .word ariel_reset
    .rept 14
    .word ariel_fault
    .endr

    .section .text.ariel_reset, "ax"
    .align 1
    .thumb_func
    .global ariel_reset
    .type ariel_reset, %function
ariel_reset:
    ldr r1, =__ariel_first_core
    ldr r0, =__ariel_cores_in_image
    cmp r0, #1
    beq 1f
    ldr r2, =__ariel_cpuid_reg
    ldr r1, [r2]                 /* global core id from the board's CPUID register */
1:  ldr r2, =__ariel_first_core
    subs r3, r1, r2              /* index of this core inside the image */
    ldr r2, =__ariel_stack_size
    muls r3, r2, r3
    ldr r2, =__ariel_stack_top
    subs r2, r2, r3
    mov sp, r2
#if defined(__ARM_FP)
    /* enable the FPU (CPACR: full access to CP10/CP11) before any floating-point instruction */
    ldr r2, =0xE000ED88
    ldr r3, [r2]
    ldr r0, =0x00F00000
    orrs r3, r3, r0
    str r3, [r2]
    dsb
    isb
#endif
    mov r0, r1
    bl ariel_crt_main
2:  b 2b
    .size ariel_reset, . - ariel_reset

    .thumb_func
    .global ariel_fault
    .weak ariel_fault
ariel_fault:
    b ariel_fault

    /* picolibc's thread pointer (errno is thread-local): one TLS block per image, see linker.py */
    .section .text.__aeabi_read_tp, "ax"
    .thumb_func
    .global __aeabi_read_tp
__aeabi_read_tp:
    ldr r0, =__ariel_arm_tp
    bx lr
    .ltorg
