/* kernels/armv6m/v6m_requant.h - requantisation of int8 convolution outputs in Thumb-1 (Cortex-M0+),
 * two pixels per channel: the fast one-MULS routine with an exact fallback, the exact-only routine,
 * their ReLU forms (lower clamp at the zero point), the C fallback, and the per-block set-up.
 * Included once, by conv_s8.c, after ariel_conv_q8_portable.h: the top-level assembly defines global
 * (hidden) symbols, so a second including file would clash at link time. */
#ifndef ARIEL_V6M_REQUANT_H
#define ARIEL_V6M_REQUANT_H

#include "v6m_asm.h"

#define FAST_RIGHT_MAX 21 /* the one-MULS requantisation's limit (see block_requant_init) */

/* ---- requantisation of pixel pairs ----------------------------------------------------------------
 * ariel_rq (ariel_kernels.h) in Thumb-1 for double rounding (every 8-bit convolution: the compiler
 * refuses the others), with the record's left shift applied by the caller (it is 0 in nearly every
 * layer) and the output clamp done on the magnitude: with act_min <= zero point <= act_max, a
 * positive result only needs the upper bound (max_up = act_max - zp) and a negative one only the
 * lower (max_down = zp - act_min).
 *
 * Fast path. With u = |x|, neg = (x < 0), multiplier m and right shift r, ariel_rq's magnitude is
 * floor((floor((u m + 2^30 - neg) / 2^31) + h) / 2^r), h = 2^(r-1) (0 for r = 0), and nested floors
 * of integers merge: |R| = floor((u m + K) / 2^(31+r)), K = 2^30 - neg + 2^31 h. Split
 * m = mf 2^t + ml, t = 9 + r (so mf < 2^(22-r)); then u m + K = Q 2^t + E with Q = u mf, E = u ml + K,
 * and |R| = floor((Q + E / 2^t) / 2^22). For r <= 21, A = floor(K / 2^t) = 2^(21-r) + 2^21 [r >= 1]
 * - neg exactly, and K / 2^t <= E / 2^t < K / 2^t + u, so A <= floor(E / 2^t) <= A + u (floor(K / 2^t)
 * = A and K / 2^t < A + 1) and |R| lies between R1 = floor((Q + A) / 2^22) and
 * R2 = floor((Q + A + u) / 2^22). When R1 == R2 (all but a few percent of outputs: the bracket
 * is u wide against a step of 2^22), that is |R|, from one MULS. u < 2^(9+r) keeps every sum
 * below 2^32 (Q < 2^31). A larger u saturates when m >= 2^30 (TFLite's multipliers are normalised
 * to [2^30, 2^31)): u m >= 2^(39+r) gives |R| >= 256, beyond both clamp bounds (<= 255). Larger u
 * with a smaller m, r > 21 and R1 != R2 take the exact path, ariel_rq's 4-MULS split (the 2^14
 * nudge folded into the carry term as 2^30 before the logical shift by 16: that sum stays in
 * [2^30 - 1, 2^31 + 2^30), no wrap). About 20 cycles an output on the fast path plus the channel's
 * constants (v6m_requant_4px loads them once per four outputs); the C loop takes ~70. The clamps
 * and the saturated / exact cases branch out of line (v6m_rq_slow), so the usual output falls
 * through. */
typedef struct {
    const int32_t *consts; /* 0: per channel V6M_RQ_CONSTS words (block_requant_init) */
    int32_t n;           /* 4: channels, >= 1 */
    int32_t out1_delta;  /* 8: out1 - out0 (pixel 1's outputs) */
    int32_t zero_point;  /* 12 */
    int32_t max_up;      /* 16: act_max - zero point, >= 0 */
    int32_t max_down;    /* 20: zero point - act_min, >= 0 */
} v6m_rq_job;

/* per channel: {m >> (9 + r), 2^(21-r) + 2^21 [r >= 1], 2^(9+r), its ariel_rq record} for r <= 21
 * and m >= 2^30; {0, 1, min(2^(r-1) - 1, 2^22 - 2), record} for r > 21 and {0, 1, 2^22 - 2, record}
 * for m = 0 (zero tests); {0, 1, 0, record} for 0 < m < 2^30 (every output exact). A first word of 0
 * tells the slow path "exact", any other "saturated" (block_requant_init) */
#define V6M_RQ_CONSTS 4

/* acc: per channel {pixel 0, pixel 1}; out0: pixel 0's first output */
void v6m_requant_2px(const int32_t *acc, int8_t *out0, const v6m_rq_job *job);
/* the same for max_down = 0 (ReLU / ReLU6 whose lower bound is the zero point: ~half the
 * accumulators are <= 0 and store the zero point after one compare) */
void v6m_requant_2px_relu(const int32_t *acc, int8_t *out0, const v6m_rq_job *job);

/* r0 = acc (ldm), r7 = out0. r8 = m >> (9 + r), r9 = A + neg, r10 = u bound, r11 = max_down (the
 * ReLU forms, whose max_down is 0, keep the end of out0 there), r12 = zero point, lr = max_up.
 * Locals: [sp] = next channel's constants, [sp, #4] = out0 end, [sp, #4 + 4k] = pixel k's output
 * delta (k >= 1). The slow paths sit out of line (.subsection 1), so the fast path falls through and
 * the 2-pixel channel loop stays within BNE's reach. */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_rq_fast pixel, relu, tag\n" /* one output: acc at r0 (advanced), stored; uses r1-r6 */
    "    ldm r0!, {r6}\n"
    "    .if \\relu\n"                /* max_down = 0: x <= 0 gives the zero point (|R| >= 0) */
    "    cmp r6, #0\n"
    "    ble .Lrq_zero\\tag\n"
    "    .else\n"
    "    asrs r2, r6, #31\n"           /* sign = -neg */
    "    eors r6, r2\n"
    "    subs r6, r6, r2\n"            /* u = |x| */
    "    .endif\n"
    "    cmp r6, r10\n"
    "    bhs .Lrq_big\\tag\n"
    "    mov r3, r8\n"
    "    muls r3, r6, r3\n"            /* Q = u mf */
    "    add r3, r9\n"
    "    .if !\\relu\n"
    "    adds r3, r3, r2\n"            /* Q + A */
    "    .endif\n"
    "    adds r4, r3, r6\n"            /* Q + A + u */
    "    lsrs r6, r3, #22\n"           /* R1 */
    "    lsrs r4, r4, #22\n"           /* R2 */
    "    cmp r6, r4\n"
    "    bne .Lrq_exact\\tag\n"
    ".Lrq_mag\\tag:\n"                   /* r6 = magnitude, r2 = sign */
    "    .if \\relu\n"                /* positive x only */
    "    cmp r6, lr\n"
    "    bhi .Lrq_clamp_up\\tag\n"      /* rare: out of line, so the usual case falls through */
    ".Lrq_up_ok\\tag:\n"
    "    add r6, r12\n"
    ".Lrq_store\\tag:\n"
    "    .if \\pixel\n"
    "    ldr r1, [sp, #(4 + 4 * \\pixel)]\n"  /* pixel k's output delta */
    "    strb r6, [r7, r1]\n"
    "    .else\n"
    "    strb r6, [r7]\n"
    "    .endif\n"
    "    .else\n"
    "    cmp r2, #0\n"
    "    bne .Lrq_down\\tag\n"
    "    cmp r6, lr\n"
    "    bhi .Lrq_clamp_up\\tag\n"
    ".Lrq_up_ok\\tag:\n"
    "    add r6, r12\n"
    "    .if \\pixel\n"
    "    ldr r1, [sp, #(4 + 4 * \\pixel)]\n"  /* pixel k's output delta */
    "    strb r6, [r7, r1]\n"
    "    .else\n"
    "    strb r6, [r7]\n"
    "    .endif\n"
    "    b .Lrq_done\\tag\n"
    ".Lrq_down\\tag:\n"
    "    cmp r6, r11\n"
    "    bhi .Lrq_clamp_down\\tag\n"
    ".Lrq_down_ok\\tag:\n"
    "    mov r1, r12\n"
    "    subs r6, r1, r6\n"
    "    .if \\pixel\n"
    "    ldr r1, [sp, #(4 + 4 * \\pixel)]\n"  /* pixel k's output delta */
    "    strb r6, [r7, r1]\n"
    "    .else\n"
    "    strb r6, [r7]\n"
    "    .endif\n"
    "    .endif\n"
    ".Lrq_done\\tag:\n"
    "    .endm\n"
    "    .macro v6m_rq_slow relu, tag\n" /* v6m_rq_fast's out-of-line paths (same tag) */
    ".Lrq_clamp_up\\tag:\n"           /* magnitude above max_up */
    "    mov r6, lr\n"
    "    b .Lrq_up_ok\\tag\n"
    "    .if !\\relu\n"
    ".Lrq_clamp_down\\tag:\n"         /* magnitude above max_down */
    "    mov r6, r11\n"
    "    b .Lrq_down_ok\\tag\n"
    "    .endif\n"
    "    .if \\relu\n"
    ".Lrq_zero\\tag:\n"
    "    mov r6, r12\n"
    "    b .Lrq_store\\tag\n"
    "    .endif\n"
    ".Lrq_big\\tag:\n"                   /* u >= the channel's bound (block_requant_init): */
    "    mov r3, r8\n"                /* mf != 0 only for r <= 21 and m >= 2^30, where u >= 2^(9+r) */
    "    cmp r3, #0\n"                /* saturates; mf = 0 (r > 21, m < 2^30): the exact path */
    "    beq .Lrq_exact\\tag\n"
    "    movs r6, #255\n"              /* |R| >= 256: any magnitude >= both clamp bounds */
    "    b .Lrq_mag\\tag\n"
    ".Lrq_exact\\tag:\n"                 /* ariel_rq's 4-MULS split; r0 and r7 lent */
    "    subs r0, r0, #4\n"
    "    ldm r0!, {r6}\n"
    "    asrs r2, r6, #31\n"
    "    eors r6, r2\n"
    "    subs r6, r6, r2\n"            /* u again */
    "    push {r0, r7}\n"
    "    ldr r1, [sp, #8]\n"           /* next channel's constants */
    "    subs r1, r1, #4\n"
    "    ldr r1, [r1]\n"               /* this channel's ariel_rq record */
    "    ldr r0, [r1, #0]\n"           /* m */
    "    ldr r1, [r1, #8]\n"           /* r */
    "    push {r1}\n"
    "    lsls r7, r0, #17\n"
    "    lsrs r7, r7, #17\n"           /* ml = m & 0x7fff */
    "    lsrs r0, r0, #15\n"           /* mh = m >> 15 */
    "    uxth r1, r6\n"                /* ul */
    "    lsrs r6, r6, #16\n"           /* uh */
    "    mov r4, r0\n"
    "    muls r4, r1, r4\n"            /* b = ul mh */
    "    mov r3, r0\n"
    "    muls r3, r6, r3\n"            /* uh mh */
    "    muls r1, r7, r1\n"            /* ul ml */
    "    muls r6, r7, r6\n"            /* uh ml */
    "    lsls r5, r4, #31\n"
    "    lsrs r5, r5, #16\n"           /* (b & 1) << 15 */
    "    adds r1, r1, r5\n"
    "    adds r1, r1, r2\n"            /* - neg */
    "    movs r5, #1\n"
    "    lsls r5, r5, #30\n"
    "    adds r1, r1, r5\n"            /* + 2^30 */
    "    lsrs r1, r1, #16\n"           /* carry + nudge (2^14) */
    "    lsrs r4, r4, #1\n"
    "    adds r6, r6, r4\n"
    "    adds r6, r6, r1\n"            /* t */
    "    lsrs r6, r6, #15\n"
    "    adds r6, r6, r3\n"            /* high */
    "    pop {r1}\n"                   /* r */
    "    movs r3, #1\n"
    "    lsls r3, r1\n"
    "    lsrs r3, r3, #1\n"            /* (1 << r) >> 1 */
    "    adds r6, r6, r3\n"
    "    lsrs r6, r1\n"                /* magnitude */
    "    pop {r0, r7}\n"
    "    b .Lrq_mag\\tag\n"
    "    .endm\n"
    "    .macro v6m_rq_one pixel, relu, tag\n" /* the fast path, its slow paths in .subsection 1 */
    "    v6m_rq_fast \\pixel, \\relu, \\tag\n"
    "    .subsection 1\n"
    "    v6m_rq_slow \\relu, \\tag\n"
    "    .subsection 0\n"
    "    .endm\n"
    );

__asm__(
    "    .syntax unified\n"
    "    .macro v6m_rq_fn name, relu\n"
    "    .section .data.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #12\n"
    "    mov r7, r1\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* consts, n, delta, zero point */
    "    str r3, [sp, #0]\n"
    "    adds r4, r4, r1\n"
    "    str r4, [sp, #4]\n"
    "    str r5, [sp, #8]\n"
    "    mov r12, r6\n"
    "    ldm r2!, {r3, r4}\n"          /* max_up, max_down */
    "    mov lr, r3\n"
    "    mov r11, r4\n"
    "    .if \\relu\n"                /* max_down = 0 is not read: r11 holds the end instead */
    "    ldr r4, [sp, #4]\n"
    "    mov r11, r4\n"
    "    .endif\n"
    "3:\n"                             /* per channel: its constants */
    "    ldr r1, [sp, #0]\n"
    "    ldm r1!, {r2, r3, r4, r5}\n"  /* fast constants, record (read by the exact path) */
    "    str r1, [sp, #0]\n"
    "    mov r8, r2\n"
    "    mov r9, r3\n"
    "    mov r10, r4\n"
    "    v6m_rq_one 0, \\relu, 2p0_\\relu\n"
    "    v6m_rq_one 1, \\relu, 2p1_\\relu\n"
    "    adds r7, r7, #1\n"
    "    .if \\relu\n"
    "    cmp r7, r11\n"
    "    .else\n"
    "    ldr r1, [sp, #4]\n"
    "    cmp r7, r1\n"
    "    .endif\n"
    "    bne 3b\n"
    "    add sp, #12\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_rq_fn v6m_requant_2px, 0\n"
    "    v6m_rq_fn v6m_requant_2px_relu, 1\n"
    "    .text\n");

/* Four pixels per channel: acc holds per channel {pixel 0, 1, 2, 3}; a channel's constants are loaded
 * once for its four outputs (the 2-pixel routine pays that load and the loop test, ~18 cycles, every
 * two outputs). Pixel k's outputs start at out0 + delta_k (v6m_rq4_job). */
typedef struct {
    v6m_rq_job job;     /* 0-23: as for v6m_requant_2px (out1_delta is pixel 1's) */
    int32_t out2_delta; /* 24 */
    int32_t out3_delta; /* 28 */
} v6m_rq4_job;

void v6m_requant_4px(const int32_t *acc, int8_t *out0, const v6m_rq4_job *job);
void v6m_requant_4px_relu(const int32_t *acc, int8_t *out0, const v6m_rq4_job *job); /* max_down = 0 */

/* registers as in v6m_requant_2px; locals [sp] = constants, [sp, #4] = out0 end, [sp, #8/#12/#16] =
 * pixel 1/2/3 deltas. The channel loop's body is beyond BNE's reach: BEQ out, B back. */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_rq4_fn name, relu\n"
    "    .section .data.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #20\n"
    "    mov r7, r1\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* consts, n, delta 1, zero point */
    "    str r3, [sp, #0]\n"
    "    adds r4, r4, r1\n"
    "    str r4, [sp, #4]\n"
    "    str r5, [sp, #8]\n"
    "    mov r12, r6\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* max_up, max_down, delta 2, delta 3 */
    "    mov lr, r3\n"
    "    mov r11, r4\n"
    "    str r5, [sp, #12]\n"
    "    str r6, [sp, #16]\n"
    "    .if \\relu\n"                /* max_down = 0 is not read: r11 holds the end instead */
    "    ldr r4, [sp, #4]\n"
    "    mov r11, r4\n"
    "    .endif\n"
    "3:\n"
    "    ldr r1, [sp, #0]\n"
    "    ldm r1!, {r2, r3, r4, r5}\n"
    "    str r1, [sp, #0]\n"
    "    mov r8, r2\n"
    "    mov r9, r3\n"
    "    mov r10, r4\n"
    "    v6m_rq_fast 0, \\relu, 4p0_\\relu\n"
    "    v6m_rq_fast 1, \\relu, 4p1_\\relu\n"
    "    b 5f\n"                         /* over pixels 0 and 1's slow paths (BNE/BHS reach them) */
    "    v6m_rq_slow \\relu, 4p0_\\relu\n"
    "    v6m_rq_slow \\relu, 4p1_\\relu\n"
    "5:\n"
    "    v6m_rq_one 2, \\relu, 4p2_\\relu\n"
    "    v6m_rq_one 3, \\relu, 4p3_\\relu\n"
    "    adds r7, r7, #1\n"
    "    .if \\relu\n"
    "    cmp r7, r11\n"
    "    .else\n"
    "    ldr r1, [sp, #4]\n"
    "    cmp r7, r1\n"
    "    .endif\n"
    "    beq 4f\n"
    "    b 3b\n"
    "4:\n"
    "    add sp, #20\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_rq4_fn v6m_requant_4px, 0\n"
    "    v6m_rq4_fn v6m_requant_4px_relu, 1\n"
    "    .text\n");

/* The exact-only routine (the 4-MULS split inline, per-channel constants {m >> 15, m & 0x7fff, r,
 * (1 << r) >> 1} in r8-r11): for blocks where half the channels or more are ones the fast path
 * cannot serve (right shift above FAST_RIGHT_MAX or a multiplier below 2^30), ~38 cycles an output. */
void v6m_requant_2px_exact(const int32_t *acc, int8_t *out0, const v6m_rq_job *job);
void v6m_requant_2px_exact_relu(const int32_t *acc, int8_t *out0, const v6m_rq_job *job); /* max_down = 0 */

__asm__(
    "    .syntax unified\n"
    "    .macro v6m_rq_exact_one relu\n"       /* one output: acc at r0 (advanced) -> r6; uses r1-r6 */
    "    ldm r0!, {r6}\n"
    "    .if \\relu\n"                /* max_down = 0: x <= 0 gives the zero point */
    "    cmp r6, #0\n"
    "    ble .Lrqx_zero\\@\n"
    "    .else\n"
    "    asrs r2, r6, #31\n"           /* sign */
    "    eors r6, r2\n"
    "    subs r6, r6, r2\n"            /* u = |x| */
    "    .endif\n"
    "    uxth r1, r6\n"                /* ul */
    "    lsrs r6, r6, #16\n"           /* uh */
    "    mov r3, r8\n"
    "    mov r4, r3\n"
    "    muls r4, r1, r4\n"            /* b = ul mh */
    "    muls r3, r6, r3\n"            /* uh mh */
    "    mov r5, r9\n"
    "    muls r1, r5, r1\n"            /* ul ml */
    "    muls r6, r5, r6\n"            /* uh ml */
    "    lsls r5, r4, #31\n"
    "    lsrs r5, r5, #16\n"           /* (b & 1) << 15 */
    "    adds r1, r1, r5\n"
    "    .if !\\relu\n"
    "    adds r1, r1, r2\n"            /* - neg */
    "    .endif\n"
    "    add r1, lr\n"                /* + 2^30 */
    "    lsrs r1, r1, #16\n"           /* carry + nudge (2^14) */
    "    lsrs r4, r4, #1\n"
    "    adds r6, r6, r4\n"
    "    adds r6, r6, r1\n"            /* t */
    "    lsrs r6, r6, #15\n"
    "    adds r6, r6, r3\n"            /* high */
    "    add r6, r11\n"
    "    mov r1, r10\n"
    "    lsrs r6, r1\n"                /* magnitude */
    "    .if !\\relu\n"
    "    cmp r2, #0\n"
    "    bne .Lrqx_down\\@\n"
    "    .endif\n"
    "    ldr r1, [sp, #16]\n"
    "    cmp r6, r1\n"
    "    bls .Lrqx_up_ok\\@\n"
    "    mov r6, r1\n"
    ".Lrqx_up_ok\\@:\n"
    "    add r6, r12\n"
    "    .if \\relu\n"
    "    b .Lrqx_done\\@\n"
    ".Lrqx_zero\\@:\n"
    "    mov r6, r12\n"
    "    .else\n"
    "    b .Lrqx_done\\@\n"
    ".Lrqx_down\\@:\n"
    "    ldr r1, [sp, #12]\n"
    "    cmp r6, r1\n"
    "    bls .Lrqx_down_ok\\@\n"
    "    mov r6, r1\n"
    ".Lrqx_down_ok\\@:\n"
    "    mov r1, r12\n"
    "    subs r6, r1, r6\n"
    "    .endif\n"
    ".Lrqx_done\\@:\n"
    "    .endm\n"
    );

__asm__(
    "    .syntax unified\n"
    "    .macro v6m_rqx_fn name, relu\n"
    "    .section .text.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #20\n"
    "    mov r7, r1\n"
    "    ldm r2!, {r3, r4, r5, r6}\n"  /* consts, n, delta, zero point */
    "    str r3, [sp, #0]\n"
    "    adds r4, r4, r1\n"
    "    str r4, [sp, #4]\n"
    "    str r5, [sp, #8]\n"
    "    mov r12, r6\n"
    "    ldm r2!, {r3, r4}\n"          /* max_up, max_down */
    "    str r3, [sp, #16]\n"
    "    str r4, [sp, #12]\n"
    "    movs r3, #1\n"
    "    lsls r3, r3, #30\n"
    "    mov lr, r3\n"
    "3:\n"                             /* per channel: its constants */
    "    ldr r1, [sp, #0]\n"
    "    ldm r1!, {r2, r3, r4, r5}\n"
    "    str r1, [sp, #0]\n"
    "    mov r8, r2\n"
    "    mov r9, r3\n"
    "    mov r10, r4\n"
    "    mov r11, r5\n"
    "    v6m_rq_exact_one \\relu\n"         /* pixel 0 -> r6 */
    "    strb r6, [r7]\n"
    "    v6m_rq_exact_one \\relu\n"         /* pixel 1 */
    "    ldr r1, [sp, #8]\n"
    "    strb r6, [r7, r1]\n"
    "    adds r7, r7, #1\n"
    "    ldr r1, [sp, #4]\n"
    "    cmp r7, r1\n"
    "    bne 3b\n"
    "    add sp, #20\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_rqx_fn v6m_requant_2px_exact, 0\n"
    "    v6m_rqx_fn v6m_requant_2px_exact_relu, 1\n"
    "    .text\n");

/* the C form, for what v6m_requant_2px does not take (a clamp range without the zero point) */
static NOINLINE void requant_2px_c(const ariel_conv_params *p, const int32_t *acc, int8_t *out0, int8_t *out1,
                                   int32_t c_begin, int32_t n)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    const int32_t *rq = p->rq + c_begin * ARIEL_RQ_WORDS;
    int32_t i;
    for (i = 0; i < n; i++, rq += ARIEL_RQ_WORDS, acc += 2) {
        int32_t v = ariel_rq(acc[0], rq) + zp;
        v = v < lo ? lo : v > hi ? hi : v;
        out0[i] = (int8_t)v;
        if (out1 != 0) {
            v = ariel_rq(acc[1], rq) + zp;
            v = v < lo ? lo : v > hi ? hi : v;
            out1[i] = (int8_t)v;
        }
    }
}

/* how a work item's channel block is requantised: the assembly job, or the C loop */
typedef struct {
    v6m_rq_job job;
    int32_t consts[V6M_RQ_CONSTS * ARIEL_CONV_MAX_CHANNEL_BLOCK];
    const int32_t *rq; /* the block's first record */
    int use_asm;       /* double rounding and act_min <= zero point <= act_max */
    int exact_only;    /* v6m_requant_2px_exact (constants {m >> 15, m & 0x7fff, r, (1 << r) >> 1}) */
    int any_left;      /* a record of the block shifts left (applied to acc before the assembly) */
    int32_t c_begin, n;
} block_requant;

/* A block where at least half the channels are ones the one-MULS path cannot serve (right shift
 * > 21 or multiplier < 2^30: VWW's deep layers give dead channels shifts of 26-31) uses the
 * exact-only routine for all its channels; with fewer, those channels fall back one output at a
 * time inside the fast routine (measured on VWW, MCUNet and kws: each rule wins where it is used). */
static void block_requant_init(const ariel_conv_params *p, int32_t c_begin, int32_t n, block_requant *r)
{
    const int32_t zp = p->output_zero_point;
    int32_t i, slow;
    r->rq = p->rq + c_begin * ARIEL_RQ_WORDS;
    r->job.consts = r->consts;
    r->job.n = n;
    r->job.zero_point = zp;
    r->job.max_up = p->act_max - zp;
    r->job.max_down = zp - p->act_min;
    r->use_asm = p->rounding == ARIEL_ROUND_DOUBLE && r->job.max_up >= 0 && r->job.max_down >= 0;
    r->any_left = 0;
    /* one pass builds the fast path's constants and counts the channels it cannot serve; a block where
     * they are half or more (rare) is rebuilt for the exact-only routine (the records are read once:
     * from flash, where most layers keep them, each costs a cache miss) */
    slow = 0;
    for (i = 0; i < n; i++) {
        const int32_t *record = r->rq + i * ARIEL_RQ_WORDS;
        const uint32_t m = (uint32_t)record[0];
        const int32_t right = record[2];
        int32_t *c = r->consts + V6M_RQ_CONSTS * i;
        r->any_left |= record[1] != 0;
        if (right <= 21 && m >= (1u << 30)) {
            c[0] = (int32_t)(m >> (9 + right)); /* >= 1: the saturation test in v6m_rq_slow relies on it */
            c[1] = (int32_t)((1u << (21 - right)) + (right >= 1 ? 1u << 21 : 0u));
            c[2] = (int32_t)(1u << (9 + right));
        } else if (right <= 21) {
            /* a multiplier below 2^30: 0 (dead channels) gives |R| = 0 for every u, the zero test below
             * with its widest bound; any other (not TFLite's normalised form) bound 0, so that every
             * output (but ReLU's x <= 0) takes the slow path, where mf = 0 selects the exact routine */
            c[0] = 0;
            c[1] = 1;
            c[2] = m == 0 ? (int32_t)((1u << 22) - 2u) : 0;
            slow++;
        } else {
            /* zero test: u <= 2^(r-1) - 2 gives u m + K < 2^(31+r), |R| = 0 (layers whose dead channels
             * get shifts of 26-31); with mf = 0, A = 1 the fast path returns 0 for u < this bound */
            const uint32_t zero_below = (1u << (right - 1)) - 1u;
            c[0] = 0;
            c[1] = 1;
            c[2] = (int32_t)(zero_below < (1u << 22) - 2u ? zero_below : (1u << 22) - 2u);
            slow++;
        }
        c[3] = (int32_t)(uintptr_t)record;
    }
    r->exact_only = 2 * slow >= n;
    if (r->exact_only) {
        for (i = 0; i < n; i++) {
            const int32_t *record = r->rq + i * ARIEL_RQ_WORDS;
            const uint32_t m = (uint32_t)record[0];
            const int32_t right = record[2];
            int32_t *c = r->consts + V6M_RQ_CONSTS * i;
            c[0] = (int32_t)(m >> 15);
            c[1] = (int32_t)(m & 0x7FFFu);
            c[2] = right;
            c[3] = (int32_t)((1u << right) >> 1);
        }
    }
    r->c_begin = c_begin;
    r->n = n;
}

/* channels [first, first + count) of r's block as a block of their own (the constants stay r's:
 * the slice must not outlive r) */
static void block_requant_slice(const block_requant *r, int32_t first, int32_t count, block_requant *s)
{
    s->job = r->job;
    s->job.consts = r->job.consts + V6M_RQ_CONSTS * first;
    s->job.n = count;
    s->rq = r->rq + first * ARIEL_RQ_WORDS;
    s->use_asm = r->use_asm;
    s->exact_only = r->exact_only;
    s->any_left = r->any_left;
    s->c_begin = r->c_begin + first;
    s->n = count;
}

/* requantise acc (per channel {pixel 0, pixel 1}) into out0 and out1 (NULL: pixel 1 repeats pixel 0
 * and is dropped) */
static void requant_2px(const ariel_conv_params *p, block_requant *r, int32_t *acc, int8_t *out0, int8_t *out1)
{
    int8_t spare[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t i;
    if (!r->use_asm) {
        requant_2px_c(p, acc, out0, out1, r->c_begin, r->n);
        return;
    }
    if (r->any_left) { /* ariel_rq's first step, x = acc << left (wrapping) */
        for (i = 0; i < r->n; i++) {
            const int32_t left = r->rq[i * ARIEL_RQ_WORDS + 1];
            acc[2 * i] = (int32_t)((uint32_t)acc[2 * i] << left);
            acc[2 * i + 1] = (int32_t)((uint32_t)acc[2 * i + 1] << left);
        }
    }
    r->job.out1_delta = (int32_t)((out1 != 0 ? out1 : spare) - out0);
    if (r->exact_only) {
        (r->job.max_down == 0 ? v6m_requant_2px_exact_relu : v6m_requant_2px_exact)(acc, out0, &r->job);
    } else {
        (r->job.max_down == 0 ? v6m_requant_2px_relu : v6m_requant_2px)(acc, out0, &r->job);
    }
}

/* requantise acc (per channel {pixel 0, 1, 2, 3}) into out, out + delta[0], out + delta[1] and
 * out + delta[2] (a delta may point pixels computed only to fill the four at a spare row). The
 * assembly's fast form when the block allows it; otherwise (exact-only blocks, no assembly) the pixels
 * are regrouped in pairs for requant_2px. */
static void requant_4px_at(const ariel_conv_params *p, block_requant *r, int32_t *acc, int8_t *out,
                           const int32_t delta[3])
{
    int32_t i, k;
    if (r->use_asm && !r->exact_only) {
        v6m_rq4_job job;
        if (r->any_left) { /* ariel_rq's first step, x = acc << left (wrapping) */
            for (i = 0; i < r->n; i++) {
                const int32_t left = r->rq[i * ARIEL_RQ_WORDS + 1];
                for (k = 0; k < 4; k++) {
                    acc[4 * i + k] = (int32_t)((uint32_t)acc[4 * i + k] << left);
                }
            }
        }
        job.job = r->job;
        job.job.out1_delta = delta[0];
        job.out2_delta = delta[1];
        job.out3_delta = delta[2];
        (r->job.max_down == 0 ? v6m_requant_4px_relu : v6m_requant_4px)(acc, out, &job);
        return;
    }
    for (k = 0; k < 4; k += 2) {
        int32_t pair[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK];
        for (i = 0; i < r->n; i++) {
            pair[2 * i] = acc[4 * i + k];
            pair[2 * i + 1] = acc[4 * i + k + 1];
        }
        requant_2px(p, r, pair, k == 0 ? out : out + delta[k - 1], out + delta[k]);
    }
}

/* requant_4px_at for pixels out_step apart */
static void requant_4px(const ariel_conv_params *p, block_requant *r, int32_t *acc, int8_t *out, int32_t out_step)
{
    const int32_t delta[3] = {out_step, 2 * out_step, 3 * out_step};
    requant_4px_at(p, r, acc, out, delta);
}

#endif
