/* crt0_riscv.S - reset entry for RV32 cores (Hazard3 and the generic rv32-smp cluster). All cores of
 * an image start at _start; each moves to its own stack, sets the thread pointer (picolibc's errno
 * is thread-local) and calls ariel_crt_main (crt_main.c). Symbols come from the linker script. */
    .section .text.ariel_reset, "ax"
    .global _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la t1, __ariel_first_core
    la t0, __ariel_cores_in_image
    li t2, 1
    beq t0, t2, 1f
    la t3, __ariel_cpuid_reg
    lw t1, 0(t3)                 /* global core id from the SIO CPUID register */
1:  la t2, __ariel_first_core
    sub t3, t1, t2
    la t2, __ariel_stack_size
    mul t3, t3, t2
    la sp, __ariel_stack_top
    sub sp, sp, t3
    la tp, __ariel_tls_start
    .option pop
    mv a0, t1
    call ariel_crt_main
2:  j 2b
    .size _start, . - _start
