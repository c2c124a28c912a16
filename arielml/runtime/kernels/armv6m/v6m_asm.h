/* kernels/armv6m/v6m_asm.h - the save and restore of r4-r11 that every Thumb-1 assembly function of
 * this directory starts and ends with (Armv6-M pushes only low registers: r8-r11 go through r4-r7). */
#ifndef V6M_ASM_H
#define V6M_ASM_H

#define V6M_SAVE_R4_R11 \
    "    push {r4-r7, lr}\n" \
    "    mov r4, r8\n"       \
    "    mov r5, r9\n"       \
    "    mov r6, r10\n"      \
    "    mov r7, r11\n"      \
    "    push {r4-r7}\n"

/* the head of a gas .macro that defines a global, hidden Thumb function named by its `name`
 * argument in a section of its own (each size of a kernel family is one expansion) */
#define V6M_MACRO_FUNCTION_HEAD                          \
    "    .section .text.\\name,\"ax\",%progbits\n"  \
    "    .balign 4\n"                                   \
    "    .global \\name\n"                            \
    "    .hidden \\name\n"                            \
    "    .thumb_func\n"                                 \
    "    .type \\name, %function\n"                   \
    "\\name:\n"

/* restores r4-r11 and returns */
#define V6M_RESTORE_R4_R11_RETURN \
    "    pop {r4-r7}\n"      \
    "    mov r8, r4\n"       \
    "    mov r9, r5\n"       \
    "    mov r10, r6\n"      \
    "    mov r11, r7\n"      \
    "    pop {r4-r7, pc}\n"

#endif /* V6M_ASM_H */
