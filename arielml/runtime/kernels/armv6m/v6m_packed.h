/* kernels/armv6m/v6m_packed.h - two products per MULS for int8 convolutions on the Cortex-M0+: the
 * weights of a channel pair packed in 16-bit lanes, W = w0 + w1 * 2^16, so that one MULS of an input
 * byte x gives x w0 + x w1 * 2^16 (or, the other way round, two pixels' inputs packed, X = x0 + x1 2^16,
 * times one weight byte).
 *
 * Exactness. Over two input bytes a and b, S = x_a W_a + x_b W_b = L + H 2^16 with L = x_a w0_a +
 * x_b w0_b and H = x_a w1_a + x_b w1_b, both in [-32512, 32768] for any int8 values (a product is
 * in [-16256, 16384]). Adding the constant C = 0x7FFF7FFF gives S + C = (L + 0x7FFF) + (H + 0x7FFF)
 * 2^16 with both lanes in [255, 65535]: no borrow between them, so the 32-bit sum is exact as an
 * unsigned number and (S + C) >> 16 (logical) is H + 0x7FFF. Per two bytes the kernel adds S + C to a
 * sum accS and (S + C) >> 16 to a sum accH (4 instructions for 4 MACs; an odd window's first byte is a
 * step of its own). After K such steps, accH = H_total + K 0x7FFF + start_H and, mod 2^32,
 * accS - accH 2^16 = L_total + K 0x7FFF + start_S - start_H 2^16. With start_H = bias1 - K 0x7FFF and
 * start_S = bias0 + bias1 2^16 - K 0x7FFF7FFF (v6m_pack_pairs), accH is channel 1's sum and
 * accS - (accH << 16) channel 0's, both with the bias added modulo 2^32 as the portable kernels'
 * ariel_wrapping_add does. tests/test_kernels_armv6m.py runs -128/127-only weights and inputs, which
 * reach both lane limits.
 *
 * Cost per two bytes of two pixels x two channels (8 MACs): LDM of two weight words (3), two LDRSH of
 * a pixel's two bytes split by SXTB / ASRS (8), four MULS (4), two ADDS pairing the bytes (2), one
 * index step, two extractions of 4 (8): 26 cycles (27 with four LDRSB for other windows), against 36
 * for v6m_mac_2x2's two steps. No MOV: each MULS destroys its input byte, the weight word survives for
 * the second pixel.
 *
 * The packed weights take twice the bytes of the int8 ones, so they are built at run time on the
 * stack (v6m_pack_pairs: ~2.4 cycles a weight), once per tile and chunk of channel pairs, and serve
 * every pixel of the tile; packed pixel pairs cost about as much per input byte and serve one block:
 * conv_s8.c chooses by the pixels a channel the tile has (conv_1x1_quads). */
#ifndef ARIEL_V6M_PACKED_H
#define ARIEL_V6M_PACKED_H

#include "v6m_asm.h"

/* what v6m_mac_packed_quad reads (offsets used by the assembly: keep the order) */
typedef struct {
    const int32_t *packed; /* 0: per channel pair {start_S, start_H, W_0 .. W_(n-1)} (v6m_pack_pairs) */
    int32_t n;             /* 4: bytes per window, >= 1 */
    int32_t pairs;         /* 8: channel pairs, >= 1 */
    int32_t *acc;          /* 12: out: per channel {pixel 0, 1, 2, 3} (v6m_requant_4px's layout) */
    const int8_t *x2;      /* 16: the second pass's windows (non-zero) */
    const int8_t *x3;      /* 20 */
} v6m_packed_job;

/* pixels x0, x1, then x2, x3 (x2 = 0: only x0, x1), over every channel pair of job->packed */
void v6m_mac_packed_quad(const int8_t *x0, const int8_t *x1, const v6m_packed_job *job);
/* the same for windows of a multiple of 4 bytes at even addresses: the loop entered at its top (no
 * computed jump), each pixel's two bytes from one LDRSH (SXTB and ASRS split them: 26 cycles per 8 MACs) */
void v6m_mac_packed_quad_whole_h(const int8_t *x0, const int8_t *x1, const v6m_packed_job *job);

/* r0/r1 = ends of the two windows, r2 = packed weights (LDM advances it), r3 = byte index (-n .. 0),
 * r4/r5 = weight words, r6/r7 = products; r8/r9 = accS/accH of pixel 0, r10/r11 of pixel 1,
 * r12 = 0x7FFF7FFF, lr = acc. Locals: [sp] = -n, [sp, #4] = entry (Thumb bit set), [sp, #8] = end of
 * the packed weights, [sp, #12/#16] = x2/x3 (x2 zeroed once its pass runs), [sp, #20] = packed,
 * [sp, #24] = acc + 8 (pixels 2 and 3's slots). */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_pk_extract\n"        /* r6/r7 = S of pixel 0/1 -> the sums */
    "    add r6, r12\n"
    "    add r8, r6\n"
    "    lsrs r6, r6, #16\n"
    "    add r9, r6\n"
    "    add r7, r12\n"
    "    add r10, r7\n"
    "    lsrs r7, r7, #16\n"
    "    add r11, r7\n"
    "    .endm\n"
    "    .macro v6m_pk_two\n"            /* two bytes; ends with the index step that sets the flags */
    "    ldm r2!, {r4, r5}\n"
    "    ldrsb r6, [r0, r3]\n"
    "    muls r6, r4, r6\n"
    "    ldrsb r7, [r1, r3]\n"
    "    muls r7, r4, r7\n"
    "    adds r3, r3, #1\n"
    "    ldrsb r4, [r0, r3]\n"
    "    muls r4, r5, r4\n"
    "    adds r6, r6, r4\n"
    "    ldrsb r4, [r1, r3]\n"
    "    muls r4, r5, r4\n"
    "    adds r7, r7, r4\n"
    "    v6m_pk_extract\n"
    "    adds r3, r3, #1\n"
    "    .endm\n"
    "    .macro v6m_pk_two_h\n"          /* the same from halfword loads (even windows and pixels) */
    "    ldm r2!, {r4, r5}\n"
    "    ldrsh r6, [r0, r3]\n"          /* x0_b 2^8 + (uint8) x0_a */
    "    sxtb r7, r6\n"
    "    asrs r6, r6, #8\n"
    "    muls r7, r4, r7\n"
    "    muls r6, r5, r6\n"
    "    adds r6, r6, r7\n"
    "    add r6, r12\n"
    "    add r8, r6\n"
    "    lsrs r6, r6, #16\n"
    "    add r9, r6\n"
    "    ldrsh r6, [r1, r3]\n"
    "    sxtb r7, r6\n"
    "    asrs r6, r6, #8\n"
    "    muls r7, r4, r7\n"
    "    muls r6, r5, r6\n"
    "    adds r6, r6, r7\n"
    "    add r6, r12\n"
    "    add r10, r6\n"
    "    lsrs r6, r6, #16\n"
    "    add r11, r6\n"
    "    adds r3, r3, #2\n"
    "    .endm\n"
    "    .macro v6m_pk_one\n"            /* an odd window's first byte */
    "    ldm r2!, {r4}\n"
    "    ldrsb r6, [r0, r3]\n"
    "    muls r6, r4, r6\n"
    "    ldrsb r7, [r1, r3]\n"
    "    muls r7, r4, r7\n"
    "    v6m_pk_extract\n"
    "    adds r3, r3, #1\n"
    "    .endm\n"
    "    .macro v6m_pk_fn name, whole\n"
    "    .section .data.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #28\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* packed, n, pairs, acc */
    "    str r3, [sp, #20]\n"
    "    mov lr, r6\n"
    "    adds r6, r6, #8\n"
    "    str r6, [sp, #24]\n"
    "    adds r0, r0, r4\n"            /* x0 end */
    "    adds r1, r1, r4\n"            /* x1 end */
    "    adds r7, r4, #2\n"
    "    muls r7, r5, r7\n"            /* pairs * (n + 2) words */
    "    lsls r7, r7, #2\n"
    "    adds r7, r7, r3\n"
    "    str r7, [sp, #8]\n"           /* end of the packed weights */
    "    ldm r2!, {r5, r6}\n"          /* x2, x3 */
    "    str r5, [sp, #12]\n"
    "    str r6, [sp, #16]\n"
    "    negs r5, r4\n"
    "    str r5, [sp, #0]\n"
    "    .if !\\whole\n"
    "    movs r6, #3\n"
    "    ands r6, r4\n"                /* n mod 4 selects the entry */
    "    lsls r6, r6, #2\n"
    "    adr r5, 6f\n"
    "    ldr r5, [r5, r6]\n"
    "    str r5, [sp, #4]\n"
    "    .endif\n"
    "    movs r7, #1\n"
    "    lsls r7, r7, #15\n"
    "    lsls r6, r7, #16\n"
    "    orrs r7, r6\n"
    "    mvns r7, r7\n"
    "    mov r12, r7\n"                /* 0x7FFF7FFF */
    "    mov r2, r3\n"
    "2:\n"                             /* per channel pair */
    "    ldm r2!, {r4, r5}\n"          /* start_S, start_H */
    "    mov r8, r4\n"
    "    mov r10, r4\n"
    "    mov r9, r5\n"
    "    mov r11, r5\n"
    "    ldr r3, [sp, #0]\n"
    "    .if !\\whole\n"                /* whole: n is a multiple of 4, the loop is entered at its top */
    "    ldr r4, [sp, #4]\n"
    "    bx r4\n"
    "    .balign 4\n"
    "6:\n"                             /* entries by n mod 4 */
    "    .word 10f + 1\n"
    "    .word 13f + 1\n"
    "    .word 11f + 1\n"
    "    .word 12f + 1\n"
    "13:\n"                            /* n = 4k + 1: one byte, then the loop's top */
    "    v6m_pk_one\n"
    "    beq 9f\n"
    "    b 10f\n"
    "12:\n"                            /* n = 4k + 3: one byte, then the loop's second half */
    "    v6m_pk_one\n"
    "    b 11f\n"
    "    .endif\n"
    "10:\n"
    "    .if \\whole\n"
    "    v6m_pk_two_h\n"
    "    v6m_pk_two_h\n"
    "    .else\n"
    "    v6m_pk_two\n"
    "11:\n"
    "    v6m_pk_two\n"
    "    .endif\n"
    "    bne 10b\n"
    "9:\n"                             /* channel 0 = accS - (accH << 16), channel 1 = accH */
    "    mov r4, r9\n"
    "    lsls r4, r4, #16\n"
    "    mov r5, r8\n"
    "    subs r5, r5, r4\n"
    "    mov r6, r11\n"
    "    lsls r6, r6, #16\n"
    "    mov r7, r10\n"
    "    subs r7, r7, r6\n"
    "    mov r4, lr\n"
    "    stm r4!, {r5, r7}\n"
    "    adds r4, r4, #8\n"
    "    mov r5, r9\n"
    "    mov r7, r11\n"
    "    stm r4!, {r5, r7}\n"
    "    adds r4, r4, #8\n"
    "    mov lr, r4\n"
    "    ldr r4, [sp, #8]\n"
    "    cmp r2, r4\n"
    "    .if \\whole\n"                 /* the body is within BNE's reach */
    "    bne 2b\n"
    "    .else\n"
    "    beq 3f\n"
    "    b 2b\n"
    "    .endif\n"
    "3:\n"                             /* after pixels 0 and 1: once more for 2 and 3 */
    "    ldr r5, [sp, #12]\n"
    "    cmp r5, #0\n"
    "    beq 4f\n"
    "    ldr r4, [sp, #0]\n"
    "    subs r0, r5, r4\n"            /* x2 end */
    "    ldr r5, [sp, #16]\n"
    "    subs r1, r5, r4\n"            /* x3 end */
    "    movs r5, #0\n"
    "    str r5, [sp, #12]\n"
    "    ldr r2, [sp, #20]\n"
    "    ldr r5, [sp, #24]\n"
    "    mov lr, r5\n"
    "    b 2b\n"
    "4:\n"
    "    add sp, #28\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_pk_fn v6m_mac_packed_quad, 0\n"
    "    v6m_pk_fn v6m_mac_packed_quad_whole_h, 1\n"
    "    .text\n");

/* The RGB first layers' 3x3 windows over 3 input channels (3 rows of 9 bytes, VWW and MCUNet conv #0),
 * read in place (or from copied windows, rows 9 bytes apart), two pixels, fully unrolled: per row one
 * odd byte and four two-byte steps, so a window is 15 extractions (v6m_pack_pairs' steps = 15).
 * ~410 cycles a channel pair and pixel pair against ~526 for v6m_mac_2x2_3x9. */
typedef struct {
    const int32_t *packed; /* 0: per channel pair {start_S, start_H, W_0 .. W_26} */
    int32_t pairs;         /* 4: >= 1 */
    int32_t row_stride;    /* 8: input bytes from one window row to the next */
    int32_t *acc;          /* 12: out: per channel {pixel 0, pixel 1} */
} v6m_packed_rows_job;

#define V6M_3X9_STEPS 15

void v6m_mac_packed_3x9(const int8_t *x0, const int8_t *x1, const v6m_packed_rows_job *job);

/* registers as in v6m_mac_packed_quad (r0/r1 = ends of the current window rows); lr = acc.
 * Locals: [sp] = end of the packed weights, [sp, #4] = row_stride. */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_pk_row\n"             /* nine bytes: r3 from -9 to 0 */
    "    v6m_pk_one\n"
    "    .rept 4\n"
    "    v6m_pk_two\n"
    "    .endr\n"
    "    .endm\n"
    "    .section .text.v6m_mac_packed_3x9,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_mac_packed_3x9\n"
    "    .hidden v6m_mac_packed_3x9\n"
    "    .thumb_func\n"
    "    .type v6m_mac_packed_3x9, %function\n"
    "v6m_mac_packed_3x9:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #8\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* packed, pairs, row_stride, acc */
    "    mov lr, r6\n"
    "    str r5, [sp, #4]\n"
    "    movs r7, #116\n"              /* 29 words a pair */
    "    muls r7, r4, r7\n"
    "    adds r7, r7, r3\n"
    "    str r7, [sp, #0]\n"
    "    adds r0, r0, #9\n"
    "    adds r1, r1, #9\n"
    "    movs r7, #1\n"
    "    lsls r7, r7, #15\n"
    "    lsls r6, r7, #16\n"
    "    orrs r7, r6\n"
    "    mvns r7, r7\n"
    "    mov r12, r7\n"                /* 0x7FFF7FFF */
    "    mov r2, r3\n"
    "2:\n"
    "    ldm r2!, {r4, r5}\n"
    "    mov r8, r4\n"
    "    mov r10, r4\n"
    "    mov r9, r5\n"
    "    mov r11, r5\n"
    "    movs r3, #9\n"
    "    negs r3, r3\n"
    "    v6m_pk_row\n"
    "    ldr r4, [sp, #4]\n"
    "    adds r0, r0, r4\n"
    "    adds r1, r1, r4\n"
    "    subs r3, r3, #9\n"
    "    v6m_pk_row\n"
    "    ldr r4, [sp, #4]\n"
    "    adds r0, r0, r4\n"
    "    adds r1, r1, r4\n"
    "    subs r3, r3, #9\n"
    "    v6m_pk_row\n"
    "    ldr r4, [sp, #4]\n"
    "    lsls r4, r4, #1\n"
    "    subs r0, r0, r4\n"            /* back to the windows' first rows */
    "    subs r1, r1, r4\n"
    "    mov r4, r9\n"
    "    lsls r4, r4, #16\n"
    "    mov r5, r8\n"
    "    subs r5, r5, r4\n"
    "    mov r6, r11\n"
    "    lsls r6, r6, #16\n"
    "    mov r7, r10\n"
    "    subs r7, r7, r6\n"
    "    mov r3, lr\n"
    "    stm r3!, {r5, r7}\n"          /* channel 0: pixels 0, 1 */
    "    mov r5, r9\n"
    "    mov r7, r11\n"
    "    stm r3!, {r5, r7}\n"          /* channel 1 */
    "    mov lr, r3\n"
    "    ldr r4, [sp, #0]\n"
    "    cmp r2, r4\n"
    "    beq 3f\n"                     /* the unrolled body is beyond BNE's reach */
    "    b 2b\n"
    "3:\n"
    "    add sp, #8\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size v6m_mac_packed_3x9, .-v6m_mac_packed_3x9\n"
    "    .text\n");

/* out[j] = w0[j] + w1[j] 2^16 for j < n (w1 = NULL: w0[j]), two words a step (an odd n: one first) */
void v6m_pack_rows(const int8_t *w0, const int8_t *w1, int32_t n, int32_t *out);

/* r0/r1 = ends of the rows, r2 = out (STM advances it), r3 = index (-n .. 0). ~9.5 cycles a word. */
__asm__(
    "    .section .text.v6m_pack_rows,\"ax\",%progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_pack_rows\n"
    "    .hidden v6m_pack_rows\n"
    "    .thumb_func\n"
    "    .type v6m_pack_rows, %function\n"
    "v6m_pack_rows:\n"
    "    push {r4-r7, lr}\n"
    "    mov lr, r3\n"                 /* out */
    "    adds r0, r0, r2\n"
    "    negs r3, r2\n"
    "    cmp r1, #0\n"
    "    bne 1f\n"
    "    mov r1, r0\n"                 /* no partner: w1 reads w0, shifted out (LSLS by 32 gives 0) */
    "    movs r7, #32\n"
    "    b 2f\n"
    "1:\n"
    "    adds r1, r1, r2\n"
    "    movs r7, #16\n"
    "2:\n"
    "    mov r2, lr\n"
    "    movs r6, #1\n"
    "    tst r3, r6\n"
    "    beq 3f\n"                     /* odd n: one word first */
    "    ldrsb r4, [r0, r3]\n"
    "    ldrsb r5, [r1, r3]\n"
    "    lsls r5, r7\n"
    "    adds r4, r4, r5\n"
    "    stm r2!, {r4}\n"
    "    adds r3, r3, #1\n"
    "    beq 4f\n"
    "3:\n"
    "    ldrsb r4, [r0, r3]\n"
    "    ldrsb r5, [r1, r3]\n"
    "    lsls r5, r7\n"
    "    adds r4, r4, r5\n"
    "    adds r3, r3, #1\n"
    "    ldrsb r5, [r0, r3]\n"
    "    ldrsb r6, [r1, r3]\n"
    "    lsls r6, r7\n"
    "    adds r5, r5, r6\n"
    "    stm r2!, {r4, r5}\n"
    "    adds r3, r3, #1\n"
    "    bne 3b\n"
    "4:\n"
    "    pop {r4-r7, pc}\n"
    "    .size v6m_pack_rows, .-v6m_pack_rows\n"
    "    .text\n");

/* The other way round, for 1x1 blocks with too few pixels in a tile to pay for packing the weights
 * (MCUNet's 2x2 layers on two cores: one row of two pixels per core): the two pixels' inputs packed,
 * X_j = x0_j + x1_j 2^16 (n words, once per pixel pair and block), times the int8 weights read in
 * place. Same exactness argument with the lanes being pixels: per channel accS / accH, pixel 0 =
 * accS - (accH << 16), pixel 1 = accH. Per two bytes and two channels 26 cycles: a channel's two
 * weight bytes from one LDRSH (SXTB and ASRS split them), each MULS destroys its weight, the X words
 * survive for the second channel. Even windows and weights at an even address only (n/2 extractions). */
typedef struct {
    const int32_t *x;     /* 0: n packed words */
    int32_t n;            /* 4: window bytes, even, >= 2 */
    const int8_t *w;      /* 8: the first channel's weights (OHWI row of n bytes) */
    int32_t w_step;       /* 12: bytes from one channel's weights to the next (0: a channel paired with itself) */
    int32_t pairs;        /* 16: >= 1 */
    const int32_t *bias;  /* 20: 2 * pairs values (w_step 0: one, read twice) */
    int32_t *acc;         /* 24: out: per channel {pixel 0, pixel 1} */
    uint32_t start_h;     /* 28: (n / 2) 0x7FFF, taken from each bias for accH */
    uint32_t start_s;     /* 32: (n / 2) 0x7FFF7FFF, taken from bias (1 + 2^16) for accS */
} v6m_xpacked_job;

void v6m_mac_xpacked_2px(const v6m_xpacked_job *job);

/* r0/r1 = ends of the two channels' weight rows, r2 = X (LDM), r3 = index (-n .. 0), r4/r5 = X
 * words, r6/r7 = products; r8/r9 = accS/accH of channel 0, r10/r11 of channel 1, r12 = 0x7FFF7FFF,
 * lr = acc. Locals: [sp] = -n, [sp, #4] = x, [sp, #8] = 2 * w_step, [sp, #12] = end of acc,
 * [sp, #16] = bias, [sp, #20] = entry, [sp, #24] = w_step, [sp, #28] = start_h, [sp, #32] = start_s. */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_xp_extract s, acc_s, acc_h\n"
    "    add \\s, r12\n"
    "    add \\acc_s, \\s\n"
    "    lsrs \\s, \\s, #16\n"
    "    add \\acc_h, \\s\n"
    "    .endm\n"
    "    .macro v6m_xp_two_h\n"          /* two bytes of two channels, each channel's pair from one LDRSH */
    "    ldm r2!, {r4, r5}\n"
    "    ldrsh r6, [r0, r3]\n"
    "    sxtb r7, r6\n"
    "    asrs r6, r6, #8\n"
    "    muls r7, r4, r7\n"
    "    muls r6, r5, r6\n"
    "    adds r6, r6, r7\n"
    "    v6m_xp_extract r6, r8, r9\n"
    "    ldrsh r6, [r1, r3]\n"
    "    sxtb r7, r6\n"
    "    asrs r6, r6, #8\n"
    "    muls r7, r4, r7\n"
    "    muls r6, r5, r6\n"
    "    adds r6, r6, r7\n"
    "    v6m_xp_extract r6, r10, r11\n"
    "    adds r3, r3, #2\n"
    "    .endm\n"
    "    .macro v6m_xp_fn name\n"
    "    .section .data.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #36\n"
    "    ldm r0!, {r1, r2, r3, r4, r5, r6, r7}\n" /* x, n, w, w_step, pairs, bias, acc */
    "    str r1, [sp, #4]\n"
    "    str r4, [sp, #24]\n"
    "    str r6, [sp, #16]\n"
    "    mov lr, r7\n"
    "    lsls r5, r5, #4\n"           /* 16 bytes of acc a pair */
    "    adds r5, r5, r7\n"
    "    str r5, [sp, #12]\n"
    "    negs r5, r2\n"
    "    str r5, [sp, #0]\n"
    "    adds r1, r3, r2\n"           /* w0 end */
    "    adds r3, r1, r4\n"           /* w1 end */
    "    lsls r4, r4, #1\n"
    "    str r4, [sp, #8]\n"
    "    ldm r0!, {r4, r5}\n"         /* start_h, start_s */
    "    str r4, [sp, #28]\n"
    "    str r5, [sp, #32]\n"
    "    movs r5, #2\n"
    "    ands r5, r2\n"
    "    lsls r5, r5, #1\n"           /* n mod 4 = 2: enter at the loop's second half */
    "    adr r4, 7f\n"
    "    ldr r4, [r4, r5]\n"
    "    str r4, [sp, #20]\n"
    "    mov r0, r1\n"
    "    mov r1, r3\n"
    "    movs r7, #1\n"
    "    lsls r7, r7, #15\n"
    "    lsls r6, r7, #16\n"
    "    orrs r7, r6\n"
    "    mvns r7, r7\n"
    "    mov r12, r7\n"               /* 0x7FFF7FFF */
    "2:\n"                            /* per channel pair: the sums start at the biases */
    "    ldr r2, [sp, #16]\n"
    "    ldm r2!, {r4}\n"
    "    ldr r6, [sp, #24]\n"
    "    cmp r6, #0\n"
    "    beq 5f\n"
    "    ldm r2!, {r6}\n"             /* a real partner: its own bias */
    "    b 6f\n"
    "5:\n"
    "    mov r6, r4\n"
    "6:\n"
    "    str r2, [sp, #16]\n"
    "    ldr r7, [sp, #28]\n"
    "    subs r5, r4, r7\n"
    "    mov r9, r5\n"                /* accH 0 = b0 - start_h */
    "    subs r5, r6, r7\n"
    "    mov r11, r5\n"
    "    ldr r7, [sp, #32]\n"
    "    lsls r5, r4, #16\n"
    "    adds r5, r5, r4\n"
    "    subs r5, r5, r7\n"
    "    mov r8, r5\n"                /* accS 0 = b0 (1 + 2^16) - start_s */
    "    lsls r5, r6, #16\n"
    "    adds r5, r5, r6\n"
    "    subs r5, r5, r7\n"
    "    mov r10, r5\n"
    "    ldr r2, [sp, #4]\n"
    "    ldr r3, [sp, #0]\n"
    "    ldr r4, [sp, #20]\n"
    "    bx r4\n"
    "    .balign 4\n"
    "7:\n"
    "    .word 10f + 1\n"
    "    .word 11f + 1\n"
    "10:\n"
    "    v6m_xp_two_h\n"
    "11:\n"
    "    v6m_xp_two_h\n"
    "    bne 10b\n"
    "    mov r4, r9\n"                /* channel 0: pixel 0 = accS - (accH << 16), pixel 1 = accH */
    "    lsls r4, r4, #16\n"
    "    mov r5, r8\n"
    "    subs r4, r5, r4\n"
    "    mov r5, r9\n"
    "    mov r6, r11\n"
    "    lsls r6, r6, #16\n"
    "    mov r7, r10\n"
    "    subs r6, r7, r6\n"
    "    mov r7, r11\n"
    "    mov r3, lr\n"
    "    stm r3!, {r4, r5, r6, r7}\n"
    "    mov lr, r3\n"
    "    ldr r4, [sp, #8]\n"
    "    adds r0, r0, r4\n"
    "    adds r1, r1, r4\n"
    "    ldr r4, [sp, #12]\n"
    "    cmp r3, r4\n"
    "    beq 3f\n"
    "    b 2b\n"
    "3:\n"
    "    add sp, #36\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_xp_fn v6m_mac_xpacked_2px\n"
    "    .text\n");

/* out[j] = x0[j] + x1[j] 2^16 for j < n (n even): the packed inputs of v6m_mac_xpacked_2px */
static void v6m_pack_pixels(const int8_t *x0, const int8_t *x1, int32_t n, int32_t *out)
{
    v6m_pack_rows(x0, x1, n, out);
}

/* the words v6m_mac_packed_quad reads for `count` channels (OHWI rows of n bytes from w, their
 * biases), for a kernel that makes `steps` extractions a window ((n + 1) / 2 for v6m_mac_packed_quad):
 * per pair {start_S, start_H, W_0 .. W_(n-1)}; an odd last channel pairs with zero weights
 * (its partner's sums are computed and not used). out holds ((count + 1) / 2) * (n + 2) words. */
static void v6m_pack_pairs(const int8_t *w, const int32_t *bias, int32_t n, int32_t count, uint32_t steps,
                           int32_t *out)
{
    int32_t c;
    for (c = 0; c < count; c += 2, w += 2 * n, out += n + 2) {
        const int has_partner = c + 1 < count;
        const uint32_t b0 = (uint32_t)bias[c], b1 = has_partner ? (uint32_t)bias[c + 1] : 0u;
        out[0] = (int32_t)(b0 + (b1 << 16) - steps * 0x7FFF7FFFu);
        out[1] = (int32_t)(b1 - steps * 0x7FFFu);
        v6m_pack_rows(w, has_partner ? w + n : 0, n, out + 2);
    }
}

#endif
