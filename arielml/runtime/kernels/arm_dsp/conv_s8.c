/* kernels/arm_dsp/conv_s8.c - int8 CONV_2D and DEPTHWISE_CONV_2D for cores with the Arm DSP
 * extension (Cortex-M4F, M7, M33). The portable loops of ariel_conv_q8_portable.h are the oracle
 * (tests/test_kernels_arm_dsp.py) and the fallback for the shapes not specialised here: grouped or
 * column-dilated convolutions, depth multipliers other than 1, windows over DW_MAX_TAPS taps. The
 * requantisation lives in arm_dsp_requant.h, the depthwise loops in arm_dsp_depthwise.h.
 *
 * CONV_2D (groups 1, no column dilation): a filter row reads filter_w * in_c contiguous input bytes
 * (a "run"), and the weights of one output channel are contiguous (OHWI), so a window is filter_h
 * runs (1 for 1x1 convolutions: the layer is a matrix multiply). Two neighbouring pixels of an
 * output row are computed against two output channels at once: each loaded input word serves two
 * channels, each weight word two pixels (4 words loaded per 16 multiply-accumulates).
 *
 * SIMD dot products: SXTB16 v gives the sign-extended bytes 0 and 2 of a word as two int16 lanes,
 * SXTB16 (v ROR 8) bytes 1 and 3; SMLAD adds both lane products to an accumulator. Inputs and
 * weights are split alike, so the four byte products of a word are summed: the portable loop's sum.
 * The input offset is folded into the bias (ariel_conv_q8_portable.h), so the loops multiply raw
 * bytes; padded taps read the zero point. Overflow: as in the portable loops (every product is at
 * most 128 * 128 and the compiler bounds the window), int32 sums are exact; the bias wraps.
 *
 * Unaligned input rows: Cortex-M4/M7/M33 load words from any address with LDR (not LDRD/LDM); the
 * words are read through __builtin_memcpy so the compiler never merges them into LDRD.
 *
 * Stack: CONV_2D keeps up to ~2.1 KB of work buffers on it (zero-padded weights 512 B, two gathered
 * windows 640 B, requantisation table 264 B, a block's wide_plan 392 B, window sums; ~2.7 KB deep with
 * the calls below conv_runs_s8 at -O2), DEPTHWISE_CONV_2D ~1.9 KB (a channel
 * block's widened weights and constants 808 B, a strip of input words 804 B, a narrow group's outputs
 * 268 B; arm_dsp_depthwise.h); the emulator gives every core 4 KB. The hot loops are naked assembly functions (14 registers each, no compiler
 * spills); the file builds at any optimisation level, -std=c99. */
#include <arm_acle.h>

#include "ariel_conv_q8_portable.h"
#include "arm_dsp_dot4.h"
#include "arm_dsp_requant.h"

/* ---- CONV_2D ------------------------------------------------------------------------------------ */

typedef struct {
    int32_t words, tail; /* a run: 4 * words + tail contiguous bytes */
    int32_t runs;        /* filter rows */
    int32_t run_skip;    /* input bytes from the end of one run to the start of the next */
    int32_t window;      /* weights of one output channel: runs * (4 * words + tail) */
} conv_window;

/* the window of two pixels (x0, x1) against two output channels (w0, w1):
 * acc = {x0.w0, x0.w1, x1.w0, x1.w1} */
static inline __attribute__((always_inline)) void window_2x2(const conv_window *s, const int8_t *x0,
                                                             const int8_t *x1, const int8_t *w0,
                                                             const int8_t *w1, int32_t *acc)
{
    int32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t r, i;
    for (r = 0; r < s->runs; r++) {
        const int8_t *x0_end = x0 + 4 * s->words;
        while (x0 != x0_end) {
            const uint32_t xa = load_word(x0), xb = load_word(x1), wa = load_word(w0), wb = load_word(w1);
            const uint32_t xa_even = __sxtb16(xa), xa_odd = widen_odd(xa);
            const uint32_t xb_even = __sxtb16(xb), xb_odd = widen_odd(xb);
            uint32_t w_even = __sxtb16(wa), w_odd = widen_odd(wa);
            a00 = __smlad(xa_even, w_even, a00);
            a10 = __smlad(xb_even, w_even, a10);
            a00 = __smlad(xa_odd, w_odd, a00);
            a10 = __smlad(xb_odd, w_odd, a10);
            w_even = __sxtb16(wb), w_odd = widen_odd(wb);
            a01 = __smlad(xa_even, w_even, a01);
            a11 = __smlad(xb_even, w_even, a11);
            a01 = __smlad(xa_odd, w_odd, a01);
            a11 = __smlad(xb_odd, w_odd, a11);
            x0 += 4, x1 += 4, w0 += 4, w1 += 4;
        }
        for (i = 0; i < s->tail; i++) {
            const int32_t u = x0[i], v = x1[i], p = w0[i], q = w1[i];
            a00 += u * p, a01 += u * q, a10 += v * p, a11 += v * q;
        }
        x0 += s->tail + s->run_skip, x1 += s->tail + s->run_skip;
        w0 += s->tail, w1 += s->tail;
    }
    acc[0] = a00, acc[1] = a01, acc[2] = a10, acc[3] = a11;
}

/* one pixel against four output channels w0, w0 + window, ... (acc[k] = x.w_k) */
static inline __attribute__((always_inline)) void window_1x4(const conv_window *s, const int8_t *x,
                                                             const int8_t *w0, int32_t *acc)
{
    const int8_t *w1 = w0 + s->window, *w2 = w1 + s->window, *w3 = w2 + s->window;
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32_t r, i;
    for (r = 0; r < s->runs; r++) {
        const int8_t *x_end = x + 4 * s->words;
        while (x != x_end) {
            const uint32_t xv = load_word(x);
            const uint32_t x_even = __sxtb16(xv), x_odd = widen_odd(xv);
            uint32_t wv = load_word(w0);
            a0 = __smlad(x_even, __sxtb16(wv), a0);
            a0 = __smlad(x_odd, widen_odd(wv), a0);
            wv = load_word(w1);
            a1 = __smlad(x_even, __sxtb16(wv), a1);
            a1 = __smlad(x_odd, widen_odd(wv), a1);
            wv = load_word(w2);
            a2 = __smlad(x_even, __sxtb16(wv), a2);
            a2 = __smlad(x_odd, widen_odd(wv), a2);
            wv = load_word(w3);
            a3 = __smlad(x_even, __sxtb16(wv), a3);
            a3 = __smlad(x_odd, widen_odd(wv), a3);
            x += 4, w0 += 4, w1 += 4, w2 += 4, w3 += 4;
        }
        for (i = 0; i < s->tail; i++) {
            const int32_t v = x[i];
            a0 += v * w0[i], a1 += v * w1[i], a2 += v * w2[i], a3 += v * w3[i];
        }
        x += s->tail + s->run_skip;
        w0 += s->tail, w1 += s->tail, w2 += s->tail, w3 += s->tail;
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* The 2 pixel x 2 channel block over whole windows, for windows of whole words (every run 4 * words
 * bytes): `pairs` channel pairs, sums0/sums1 (pixel 0 / 1) filled two channels at a time. A naked
 * function in assembly: the inner loop needs 14 registers (4 accumulators, input and weight
 * pointers, the distances to pixel 1 and channel 1, 6 widened words), so everything else lives in
 * this struct or on the stack, and the compiler has no spill code to add around it. Per 16
 * multiply-accumulates: 4 loads (pipelined on the M4/M33), 8 SXTB16, 8 SMLAD, ordered so that every
 * SMLAD can pair with an SXTB16 or a load on the M7 (its dual issue: 13 cycles, not 17; the same on
 * the M4/M33); the loop end is read from the stack and tested every fourth word (the entry point
 * takes the remainder). */
typedef struct {
    const int8_t *x0;     /*  0: pixel 0's first run */
    int32_t dx;           /*  4: pixel 1 - pixel 0 */
    const int8_t *w;      /*  8: the first channel's weights */
    int32_t dw;           /* 12: channel 1 - channel 0 (window; 0 for a lone channel) */
    int32_t words;        /* 16: words per run, >= 1 */
    int32_t pairs;        /* 20: channel pairs, >= 1 (counts down) */
    int32_t *sums0;       /* 24: pixel 0's sums (advances) */
    int32_t *sums1;       /* 28: pixel 1's sums (advances) */
    int32_t runs;         /* 32: runs per window, >= 1 */
    int32_t run_skip;     /* 36: input bytes from the end of a run to the next */
} block_2x2;

/* one step of the 2-pixel x 2-channel block below: a word of each pixel and of each channel's weights,
 * four SMLAD pairs (the loops repeat it four times, entered by the remainder of the word count) */
#define DSP_2X2_STEP \
    "ldr    r11, [r2], #4\n\t"            /* channel 0 */           \
    "ldr    r10, [r1, r3]\n\t"            /* pixel 1 */             \
    "ldr    r9, [r1], #4\n\t"             /* pixel 0 */             \
    "sxtb16 r0, r11\n\t"                                            \
    "sxtb16 r11, r11, ror #8\n\t"                                   \
    "sxtb16 lr, r10\n\t"                                            \
    "smlad  r7, lr, r0, r7\n\t"           /* pixel 1 . channel 0 */ \
    "sxtb16 r10, r10, ror #8\n\t"                                   \
    "smlad  r7, r10, r11, r7\n\t"                                   \
    "sxtb16 r12, r9\n\t"                                            \
    "smlad  r5, r12, r0, r5\n\t"          /* pixel 0 . channel 0 */ \
    "ldr    r0, [r2, r4]\n\t"             /* channel 1 */           \
    "sxtb16 r9, r9, ror #8\n\t"                                     \
    "smlad  r5, r9, r11, r5\n\t"                                    \
    "sxtb16 r11, r0\n\t"                                            \
    "smlad  r6, r12, r11, r6\n\t"         /* pixel 0 . channel 1 */ \
    "sxtb16 r0, r0, ror #8\n\t"                                     \
    "smlad  r8, lr, r11, r8\n\t"          /* pixel 1 . channel 1 */ \
    "smlad  r6, r9, r0, r6\n\t"                                     \
    "smlad  r8, r10, r0, r8\n\t"

/* the 2x2 block's loop over one run, four steps a test (entered at 3-6 by words % 4; run end at [sp]);
 * DSP_2X2_LOOP starts it on a word boundary */
#define DSP_2X2_RUN \
        "3:\n\t"                                                         \
        DSP_2X2_STEP                                                     \
        "4:\n\t"                                                         \
        DSP_2X2_STEP                                                     \
        "5:\n\t"                                                         \
        DSP_2X2_STEP                                                     \
        "6:\n\t"                                                         \
        "ldr    r11, [r2], #4\n\t"            /* channel 0 */            \
        "ldr    r10, [r1, r3]\n\t"            /* pixel 1 */              \
        "ldr    r9, [r1], #4\n\t"             /* pixel 0 */              \
        "ldr    r12, [sp]\n\t"                                           \
        "cmp    r1, r12\n\t"                                             \
        "sxtb16 r0, r11\n\t"                                             \
        "sxtb16 r11, r11, ror #8\n\t"                                    \
        "sxtb16 lr, r10\n\t"                                             \
        "smlad  r7, lr, r0, r7\n\t"           /* pixel 1 . channel 0 */  \
        "sxtb16 r10, r10, ror #8\n\t"                                    \
        "smlad  r7, r10, r11, r7\n\t"                                    \
        "sxtb16 r12, r9\n\t"                                             \
        "smlad  r5, r12, r0, r5\n\t"          /* pixel 0 . channel 0 */  \
        "ldr    r0, [r2, r4]\n\t"             /* channel 1 */            \
        "sxtb16 r9, r9, ror #8\n\t"                                      \
        "smlad  r5, r9, r11, r5\n\t"                                     \
        "sxtb16 r11, r0\n\t"                                             \
        "smlad  r6, r12, r11, r6\n\t"         /* pixel 0 . channel 1 */  \
        "sxtb16 r0, r0, ror #8\n\t"                                      \
        "smlad  r8, lr, r11, r8\n\t"          /* pixel 1 . channel 1 */  \
        "smlad  r6, r9, r0, r6\n\t"                                      \
        "smlad  r8, r10, r0, r8\n\t"                                     \
        "bne    3b\n\t"

#define DSP_2X2_LOOP \
        ".p2align 2\n\t"                                                 \
        DSP_2X2_RUN

__attribute__((naked, noinline)) static void mac_block_2x2(block_2x2 *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #12\n\t"              /* [sp] run end, [sp, #4] b, [sp, #8] runs left */
        "str    r0, [sp, #4]\n\t"
        "ldr    r2, [r0, #8]\n\t"             /* w */
        "1:\n\t"                              /* channel pair */
        "ldr    r0, [sp, #4]\n\t"
        "ldr    r1, [r0, #0]\n\t"             /* x = x0 */
        "ldr    r3, [r0, #32]\n\t"
        "str    r3, [sp, #8]\n\t"
        "movs   r5, #0\n\t"
        "movs   r6, #0\n\t"
        "movs   r7, #0\n\t"
        "movs   r8, #0\n\t"
        "2:\n\t"                              /* run */
        "ldr    r0, [sp, #4]\n\t"
        "ldr    r3, [r0, #16]\n\t"
        "add    r12, r1, r3, lsl #2\n\t"
        "str    r12, [sp]\n\t"                /* run end */
        "and    r12, r3, #3\n\t"              /* words % 4 picks the entry: one end test per 4 words */
        "ldr    r3, [r0, #4]\n\t"             /* dx */
        "ldr    r4, [r0, #12]\n\t"
        "sub    r4, r4, #4\n\t"               /* dw - 4: channel 1 read after w has advanced */
        "cmp    r12, #2\n\t"
        "beq    5f\n\t"
        "bhi    4f\n\t"
        "cmp    r12, #1\n\t"
        "beq    6f\n\t"
        DSP_2X2_RUN
        "ldr    r0, [sp, #4]\n\t"
        "ldr    r3, [r0, #36]\n\t"
        "add    r1, r1, r3\n\t"               /* next run */
        "ldr    r3, [sp, #8]\n\t"
        "subs   r3, r3, #1\n\t"
        "str    r3, [sp, #8]\n\t"
        "bne    2b\n\t"
        "ldr    r1, [r0, #24]\n\t"
        "stmia  r1!, {r5, r6}\n\t"
        "str    r1, [r0, #24]\n\t"
        "ldr    r1, [r0, #28]\n\t"
        "stmia  r1!, {r7, r8}\n\t"
        "str    r1, [r0, #28]\n\t"
        "ldr    r3, [r0, #12]\n\t"
        "add    r2, r2, r3\n\t"               /* past channel 1: the next pair */
        "ldr    r3, [r0, #20]\n\t"
        "subs   r3, r3, #1\n\t"
        "str    r3, [r0, #20]\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #12\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* mac_block_2x2 for windows of one run (1x1 convolutions, gathered windows): the run's end, the
 * distances and the loop entry are set once for all channel pairs, which matters for short windows
 * (8 or 16 input channels: two or four words per pair). */
__attribute__((naked, noinline)) static void mac_block_2x2_one_run(block_2x2 *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #12\n\t"              /* [sp] run end, [sp, #4] b, [sp, #8] words % 4 */
        "str    r0, [sp, #4]\n\t"
        "ldr    r2, [r0, #8]\n\t"             /* w */
        "ldr    r1, [r0, #0]\n\t"
        "ldr    r3, [r0, #16]\n\t"
        "add    r12, r1, r3, lsl #2\n\t"
        "str    r12, [sp]\n\t"
        "and    r3, r3, #3\n\t"
        "str    r3, [sp, #8]\n\t"
        "ldr    r3, [r0, #4]\n\t"             /* dx */
        "ldr    r4, [r0, #12]\n\t"
        "sub    r4, r4, #4\n\t"               /* dw - 4 */
        "1:\n\t"                              /* channel pair */
        "ldr    r0, [sp, #4]\n\t"
        "ldr    r1, [r0, #0]\n\t"             /* x = x0 */
        "ldr    r12, [sp, #8]\n\t"
        "movs   r5, #0\n\t"
        "movs   r6, #0\n\t"
        "movs   r7, #0\n\t"
        "movs   r8, #0\n\t"
        "cmp    r12, #2\n\t"
        "beq    5f\n\t"
        "bhi    4f\n\t"
        "cmp    r12, #1\n\t"
        "beq    6f\n\t"
        DSP_2X2_RUN
        "ldr    r0, [sp, #4]\n\t"
        "ldr    r1, [r0, #24]\n\t"
        "stmia  r1!, {r5, r6}\n\t"
        "str    r1, [r0, #24]\n\t"
        "ldr    r1, [r0, #28]\n\t"
        "stmia  r1!, {r7, r8}\n\t"
        "str    r1, [r0, #28]\n\t"
        "add    r2, r2, r4\n\t"               /* past channel 1: the next pair */
        "add    r2, r2, #4\n\t"
        "ldr    r1, [r0, #20]\n\t"
        "subs   r1, r1, #1\n\t"
        "str    r1, [r0, #20]\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #12\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* Windows of two words (1x1 convolutions over 8 channels, gathered 8-byte windows): the two pixels'
 * widened words stay in 8 registers for all the channels, so a channel costs its 2 weight loads,
 * 4 SXTB16 and 8 SMLAD/SMUAD (16 multiply-accumulates), with no per-pair set-up. Pixel 1's sums are
 * stored SUMS_ROW words after pixel 0's. 14 registers; the sums' end is read from the stack. Uses
 * block_2x2's x0, dx, w (channels 8 bytes apart), pairs (here: channels, >= 1) and sums0. */
#define SUMS_ROW (ARIEL_CONV_MAX_CHANNEL_BLOCK + 1)
#define ARIEL_STR_(x) #x
#define ARIEL_STR(x) ARIEL_STR_(x)

__attribute__((naked, noinline)) ARIEL_DSP_IN_SRAM(mac_two_words) static void mac_two_words(const block_2x2 *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldr    r12, [r0, #0]\n\t"            /* x0 */
        "ldr    r2, [r0, #4]\n\t"
        "add    r2, r12, r2\n\t"              /* x1 */
        "ldr    r1, [r12]\n\t"
        "ldr    r3, [r12, #4]\n\t"
        "ldr    r5, [r2]\n\t"
        "ldr    r7, [r2, #4]\n\t"
        "sxtb16 r4, r1, ror #8\n\t"           /* r1/r4, r3/r6: pixel 0's words 0 and 1, even/odd lanes */
        "sxtb16 r1, r1\n\t"
        "sxtb16 r6, r3, ror #8\n\t"
        "sxtb16 r3, r3\n\t"
        "sxtb16 r8, r5, ror #8\n\t"           /* r5/r8, r7/r9: pixel 1's */
        "sxtb16 r5, r5\n\t"
        "sxtb16 r9, r7, ror #8\n\t"
        "sxtb16 r7, r7\n\t"
        "ldr    r2, [r0, #8]\n\t"             /* w */
        "ldr    r12, [r0, #20]\n\t"           /* channels */
        "ldr    lr, [r0, #24]\n\t"            /* sums0 */
        "add    r12, lr, r12, lsl #2\n\t"
        "push   {r12}\n\t"                    /* [sp]: sums0's end */
        "1:\n\t"
        "ldr    r12, [r2], #4\n\t"            /* the channel's word 0 */
        "ldr    r0, [r2], #4\n\t"             /* word 1 */
        "sxtb16 r11, r12\n\t"               /* (the order pairs each multiply on the M7) */
        "smuad  r10, r1, r11\n\t"
        "sxtb16 r12, r12, ror #8\n\t"
        "smuad  r11, r5, r11\n\t"
        "smlad  r10, r4, r12, r10\n\t"
        "smlad  r11, r8, r12, r11\n\t"
        "sxtb16 r12, r0\n\t"
        "smlad  r10, r3, r12, r10\n\t"
        "sxtb16 r0, r0, ror #8\n\t"
        "smlad  r11, r7, r12, r11\n\t"
        "ldr    r12, [sp]\n\t"
        "smlad  r10, r6, r0, r10\n\t"
        "smlad  r11, r9, r0, r11\n\t"
        "str    r11, [lr, #" ARIEL_STR(SUMS_ROW) " * 4]\n\t"
        "str    r10, [lr], #4\n\t"
        "cmp    lr, r12\n\t"
        "bne    1b\n\t"
        "pop    {r12}\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* 1x1 convolutions over 8 input channels at stride 1 (vww's second layer: 7 MACs of work per output
 * against ~20 of per-pixel-pair set-up and requantisation): one output channel swept along the row
 * with its widened weights and its SMMLAR requantisation constants (requant_smmlar) in registers,
 * one output per step: 2 loads, 4 SXTB16, 4 SMUAD/SMLAD, 6 instructions of requantisation (SSAT
 * blocks only) and the store. The input offset is in the bias (the window sum is of raw bytes). */
typedef struct {
    const int8_t *x;      /*  0: pixel 0's 8 bytes (pixels 8 bytes apart) */
    const int8_t *w;      /*  4: the channel's 8 weights */
    const rq_entry *e;    /*  8: its SMMLAR entry {2 bias, m, K, shift} */
    int8_t *out;          /* 12: pixel 0's output */
    int32_t out_c;        /* 16: bytes between outputs */
    int32_t n;            /* 20: pixels, >= 1 */
} sweep_1x1x8;

__attribute__((naked, noinline)) static void conv_sweep_1x1x8(const sweep_1x1x8 *a __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldr    r1, [r0, #16]\n\t"
        "push   {r1}\n\t"                     /* [sp]: out_c */
        "ldr    r1, [r0, #4]\n\t"
        "ldr    r2, [r1]\n\t"
        "ldr    r4, [r1, #4]\n\t"
        "sxtb16 r3, r2, ror #8\n\t"           /* r2/r3, r4/r5: the weights' even/odd lanes */
        "sxtb16 r2, r2\n\t"
        "sxtb16 r5, r4, ror #8\n\t"
        "sxtb16 r4, r4\n\t"
        "ldr    r1, [r0, #8]\n\t"
        "ldmia  r1, {r6-r9}\n\t"              /* 2 bias, m, K, shift */
        "ldr    lr, [r0, #20]\n\t"
        "ldr    r1, [r0, #12]\n\t"            /* out */
        "ldr    r0, [r0, #0]\n\t"             /* x */
        "add    lr, r0, lr, lsl #3\n\t"       /* x's end */
        "1:\n\t"
        "ldr    r10, [r0], #4\n\t"
        "ldr    r11, [r0], #4\n\t"
        "sxtb16 r12, r10\n\t"
        "smuad  r12, r12, r2\n\t"
        "sxtb16 r10, r10, ror #8\n\t"
        "smlad  r12, r10, r3, r12\n\t"
        "sxtb16 r10, r11\n\t"
        "smlad  r12, r10, r4, r12\n\t"
        "sxtb16 r11, r11, ror #8\n\t"
        "smlad  r12, r11, r5, r12\n\t"        /* the window sum */
        "add    r12, r6, r12, lsl #1\n\t"     /* 2 (bias + sum) */
        "add    r10, r8, r12, asr #31\n\t"    /* K - [x < 0] */
        "smmlar r10, r12, r7, r10\n\t"
        "ldr    r11, [sp]\n\t"
        "asr    r10, r10, r9\n\t"
        "ssat   r10, #8, r10\n\t"
        "strb   r10, [r1]\n\t"
        "add    r1, r1, r11\n\t"
        "cmp    r0, lr\n\t"
        "bne    1b\n\t"
        "pop    {r1}\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* a row of a 1x1 convolution over 8 input channels, stride 1, through conv_sweep_1x1x8 channel by
 * channel (table: SMMLAR entries, SSAT clamp) */
static NOINLINE void conv_row_1x1x8(const rq_table *table, const int8_t *x, const int8_t *block_weights, int8_t *out,
                                    int32_t out_c, int32_t n, int32_t channels)
{
    sweep_1x1x8 a;
    int32_t k;
    a.x = x, a.out_c = out_c, a.n = n;
    for (k = 0; k < channels; k++) {
        a.w = block_weights + 8 * k, a.e = &table->e[k], a.out = out + k;
        conv_sweep_1x1x8(&a);
    }
}

/* ---- the 2x2 block with the requantisation fused --------------------------------------------------
 * mac_block_2x2_one_run's loop (windows of one run of whole words: 1x1 rows, gathered windows) for
 * blocks with SMMLAR entries (arm_dsp_requant.h), each channel pair's four sums requantised in
 * registers and stored as two halfwords (the activation bounds, when not -128 and 127, applied to the
 * four bytes at once with SSUB8/SEL): ~40 cycles a pair on the M33 against ~75 for storing the sums
 * and requant_pixels_2's loop (its clamps, entry loads and sum reloads), which was a third of a 1x1
 * layer over 16 input channels. */
typedef struct {
    const int8_t *x0;     /*  0: pixel 0's window (pixel 1's at x0 + dx) */
    int32_t dx;           /*  4 */
    const int8_t *w;      /*  8: the first channel's weights */
    int32_t window;       /* 12: bytes between channels (4 words) */
    int32_t words;        /* 16: >= 1 */
    int32_t pairs;        /* 20: channel pairs, >= 1 */
    const rq_entry *e;    /* 24: the first channel's SMMLAR entry */
    int8_t *out0;         /* 28: pixel 0's output of the first channel */
    int32_t dout;         /* 32: pixel 1's output - pixel 0's */
    uint32_t lo, hi;      /* 36, 40: the activation bounds in each byte */
    int32_t clamp;        /* 44: 0 when they are -128 and 127 (SSAT alone) */
    int32_t runs;         /* 48: runs per window (mac_pairs_rq_runs) */
    int32_t run_skip;     /* 52: input bytes from the end of a run to the next */
} block_rq;

/* the requantised, saturated output of the sum in A (in place): entry {r0 2 bias, r1 m, r9 K, r10 r} */
#define DSP_PAIR_RQ(A) \
    "add    r11, r0, " A ", lsl #1\n\t"   /* 2 (bias + sum) */              \
    "add    r12, r9, r11, asr #31\n\t"    /* K - [x < 0] */                 \
    "smmlar " A ", r11, r1, r12\n\t"                                        \
    "asr    " A ", " A ", r10\n\t"                                          \
    "ssat   " A ", #8, " A "\n\t"


/* the four sums requantised and stored (mac_pairs_rq's frame: #12 e, #16 out0, #24 dout, #28 lo,
 * #32 hi, #40 clamp) */
#define DSP_PAIR_RQ_STORE \
        "ldr    lr, [sp, #12]\n\t"            /* e */                                            \
        "ldmia  lr!, {r0, r1, r9, r10}\n\t"   /* channel 0: 2 bias, m, K, r */                   \
        DSP_PAIR_RQ("r5")                                                                        \
        DSP_PAIR_RQ("r7")                                                                        \
        "ldmia  lr!, {r0, r1, r9, r10}\n\t"   /* channel 1 */                                    \
        DSP_PAIR_RQ("r6")                                                                        \
        "str    lr, [sp, #12]\n\t"                                                               \
        DSP_PAIR_RQ("r8")                                                                        \
        "ldr    r0, [sp, #40]\n\t"            /* clamp? */                                       \
        "ldr    r12, [sp, #16]\n\t"           /* out0 */                                         \
        "ldr    lr, [sp, #24]\n\t"            /* dout */                                         \
        "bfi    r5, r6, #8, #8\n\t"           /* pixel 0's two bytes */                          \
        "cbz    r0, 40f\n\t"                                                                     \
        "bfi    r5, r7, #16, #8\n\t"          /* all four: SSUB8 sets GE per byte, SEL picks */  \
        "ldrd   r0, r1, [sp, #28]\n\t"        /* the bounds */                                   \
        "bfi    r5, r8, #24, #8\n\t"                                                             \
        "ssub8  r9, r5, r0\n\t"                                                                  \
        "sel    r5, r5, r0\n\t"               /* max(v, lo) */                                   \
        "ssub8  r9, r1, r5\n\t"                                                                  \
        "sel    r5, r5, r1\n\t"               /* min(v, hi) */                                   \
        "lsr    r7, r5, #16\n\t"                                                                 \
        "b      41f\n\t"                                                                         \
        "40:\n\t"                                                                                \
        "bfi    r7, r8, #8, #8\n\t"           /* pixel 1's */                                    \
        "41:\n\t"                                                                                \
        "strh   r5, [r12]\n\t"                                                                   \
        "strh   r7, [r12, lr]\n\t"                                                               \
        "add    r12, r12, #2\n\t"                                                                \
        "str    r12, [sp, #16]\n\t"

__attribute__((naked, noinline)) ARIEL_DSP_IN_SRAM(mac_pairs_rq) static void mac_pairs_rq(const block_rq *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #48\n\t"              /* [sp] run end, #4 entry, #8 x0, #12 e, #16 out0, #20 pairs,
                                               * #24 dout, #28 lo, #32 hi, #36 window, #40 clamp */
        "ldmia  r0, {r1-r12}\n\t"             /* x0, dx, w, window, words, pairs, e, out0, dout, lo, hi, clamp */
        "str    r1, [sp, #8]\n\t"
        "str    r7, [sp, #12]\n\t"
        "str    r8, [sp, #16]\n\t"
        "str    r6, [sp, #20]\n\t"
        "str    r9, [sp, #24]\n\t"
        "str    r10, [sp, #28]\n\t"
        "str    r11, [sp, #32]\n\t"
        "str    r4, [sp, #36]\n\t"
        "str    r12, [sp, #40]\n\t"
        "add    r12, r1, r5, lsl #2\n\t"
        "str    r12, [sp]\n\t"                /* the run's end */
        "mov    r0, r2\n\t"                   /* dx */
        "mov    r2, r3\n\t"                   /* w */
        "mov    r3, r0\n\t"
        "sub    r4, r4, #4\n\t"               /* window - 4: channel 1 read after w has advanced */
        "and    r5, r5, #3\n\t"               /* words % 4 picks the entry: one end test per 4 words */
        "cmp    r5, #1\n\t"
        "beq    21f\n\t"
        "cmp    r5, #2\n\t"
        "beq    22f\n\t"
        "cmp    r5, #3\n\t"
        "beq    23f\n\t"
        "adr.w  r12, 3f\n\t"
        "b      24f\n\t"
        "21:\n\t"
        "adr.w  r12, 6f\n\t"
        "b      24f\n\t"
        "22:\n\t"
        "adr.w  r12, 5f\n\t"
        "b      24f\n\t"
        "23:\n\t"
        "adr.w  r12, 4f\n\t"
        "24:\n\t"
        "orr    r12, r12, #1\n\t"             /* Thumb */
        "str    r12, [sp, #4]\n\t"
        "1:\n\t"                              /* channel pair */
        "ldr    r1, [sp, #8]\n\t"             /* x = x0 */
        "mov    r5, #0\n\t"
        "mov    r6, #0\n\t"
        "mov    r7, #0\n\t"
        "mov    r8, #0\n\t"
        "ldr    pc, [sp, #4]\n\t"
        DSP_2X2_LOOP
        DSP_PAIR_RQ_STORE
        "ldr    r0, [sp, #36]\n\t"
        "ldr    r1, [sp, #20]\n\t"
        "add    r2, r2, r0\n\t"               /* w is at channel 1: past it, the next pair */
        "subs   r1, r1, #1\n\t"
        "str    r1, [sp, #20]\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #48\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* mac_pairs_rq for windows of several runs (3x3 and other filters over whole words: filter rows are
 * runs, run_skip bytes apart in the input; the weights are contiguous) */
__attribute__((naked, noinline)) static void mac_pairs_rq_runs(const block_rq *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #64\n\t"              /* as mac_pairs_rq, and #44 runs left, #48 runs, #52 run_skip,
                                               * #56 4 words */
        "ldr    r1, [r0, #48]\n\t"
        "ldr    r2, [r0, #52]\n\t"
        "str    r1, [sp, #48]\n\t"
        "str    r2, [sp, #52]\n\t"
        "ldmia  r0, {r1-r12}\n\t"             /* x0, dx, w, window, words, pairs, e, out0, dout, lo, hi, clamp */
        "str    r1, [sp, #8]\n\t"
        "str    r7, [sp, #12]\n\t"
        "str    r8, [sp, #16]\n\t"
        "str    r6, [sp, #20]\n\t"
        "str    r9, [sp, #24]\n\t"
        "str    r10, [sp, #28]\n\t"
        "str    r11, [sp, #32]\n\t"
        "str    r4, [sp, #36]\n\t"
        "str    r12, [sp, #40]\n\t"
        "lsl    r12, r5, #2\n\t"
        "str    r12, [sp, #56]\n\t"
        "mov    r0, r2\n\t"                   /* dx */
        "mov    r2, r3\n\t"                   /* w */
        "mov    r3, r0\n\t"
        "sub    r4, r4, #4\n\t"               /* window - 4: channel 1 read after w has advanced */
        "and    r5, r5, #3\n\t"               /* words % 4 picks the entry */
        "cmp    r5, #1\n\t"
        "beq    21f\n\t"
        "cmp    r5, #2\n\t"
        "beq    22f\n\t"
        "cmp    r5, #3\n\t"
        "beq    23f\n\t"
        "adr.w  r12, 3f\n\t"
        "b      24f\n\t"
        "21:\n\t"
        "adr.w  r12, 6f\n\t"
        "b      24f\n\t"
        "22:\n\t"
        "adr.w  r12, 5f\n\t"
        "b      24f\n\t"
        "23:\n\t"
        "adr.w  r12, 4f\n\t"
        "24:\n\t"
        "orr    r12, r12, #1\n\t"             /* Thumb */
        "str    r12, [sp, #4]\n\t"
        "1:\n\t"                              /* channel pair */
        "ldr    r1, [sp, #8]\n\t"             /* x = x0 */
        "ldr    r0, [sp, #48]\n\t"
        "ldr    r12, [sp, #56]\n\t"
        "str    r0, [sp, #44]\n\t"            /* runs left */
        "add    r12, r1, r12\n\t"
        "str    r12, [sp]\n\t"                /* the run's end */
        "mov    r5, #0\n\t"
        "mov    r6, #0\n\t"
        "mov    r7, #0\n\t"
        "mov    r8, #0\n\t"
        "ldr    pc, [sp, #4]\n\t"
        DSP_2X2_LOOP
        "ldr    r0, [sp, #44]\n\t"
        "ldr    r12, [sp, #52]\n\t"
        "subs   r0, r0, #1\n\t"
        "beq    50f\n\t"
        "str    r0, [sp, #44]\n\t"
        "add    r1, r1, r12\n\t"              /* the next run */
        "ldr    r12, [sp, #56]\n\t"
        "add    r12, r1, r12\n\t"
        "str    r12, [sp]\n\t"
        "ldr    pc, [sp, #4]\n\t"
        "50:\n\t"
        DSP_PAIR_RQ_STORE
        "ldr    r0, [sp, #36]\n\t"
        "ldr    r1, [sp, #20]\n\t"
        "add    r2, r2, r0\n\t"               /* w is at channel 1: past it, the next pair */
        "subs   r1, r1, #1\n\t"
        "str    r1, [sp, #20]\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #64\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* two pixels (x1 = x0 + dx; windows of `runs` runs of `words` whole words, run_skip apart) x n
 * channels through mac_pairs_rq(_runs) (table: SMMLAR entries), a lone last channel through the 2x2
 * block paired with itself */
static NOINLINE ARIEL_DSP_IN_SRAM(pair_rq) void pair_rq(const ariel_conv_params *p, const rq_table *table,
                                                         const int8_t *x0, int32_t dx, int32_t runs, int32_t words,
                                                         int32_t run_skip, int32_t window,
                                                         const int8_t *block_weights, int8_t *out0, int32_t dout,
                                                         int32_t n)
{
    if (n >= 2) {
        block_rq b;
        b.x0 = x0, b.dx = dx, b.w = block_weights, b.window = window, b.words = words, b.pairs = n >> 1;
        b.e = table->e, b.out0 = out0, b.dout = dout;
        b.lo = (uint8_t)p->act_min * 0x01010101u, b.hi = (uint8_t)p->act_max * 0x01010101u;
        b.clamp = table->mode != RQ_SSAT, b.runs = runs, b.run_skip = run_skip;
        (runs == 1 ? mac_pairs_rq : mac_pairs_rq_runs)(&b);
    }
    if (n & 1) {
        const rq_entry e = table->e[n - 1];
        const int32_t lo = p->act_min, hi = p->act_max;
        int32_t sums[2][2]; /* the 2x2 block stores both (equal) channels */
        block_2x2 b;
        b.x0 = x0, b.dx = dx, b.w = block_weights + (n - 1) * window, b.dw = 0, b.words = words, b.pairs = 1;
        b.sums0 = sums[0], b.sums1 = sums[1], b.runs = runs, b.run_skip = run_skip;
        mac_block_2x2(&b);
        out0[n - 1] = (int8_t)finish(requant_fast(&e, sums[0][0], 0, 1), lo, hi, RQ_CLAMP);
        out0[dout + n - 1] = (int8_t)finish(requant_fast(&e, sums[1][0], 0, 1), lo, hi, RQ_CLAMP);
    }
}

/* ---- 1x1 rows of blocks with all-zero filters ----------------------------------------------------
 * A channel whose filter is all zeros has a constant output (its requantised bias: the sum is 0 for
 * any input); vww's later 1x1 layers have 55-91% such channels. For a channel block that has some, a
 * plan made once per block and call (prepare_wide) lists them with their output bytes, and pairs the
 * other channels two at a time, any two (a lone last one with itself); mac_plan_rq runs the 2x2 block
 * of mac_pairs_rq over the plan's pairs, and the constant outputs are stored without a multiply.
 * (Widening each pixel pair to int16 lanes once, for a step of 6 loads, 4 SXTB16 and 8 SMLAD, was
 * tried here: with few channels left per block the widening cost what the step saved.) */
typedef struct {
    int32_t k0, k1;       /* the channels, from the block's first (k1 = k0: one channel) */
    rq_entry e0, e1;      /* their SMMLAR entries {2 bias, m, K, r} */
} wide_pair;

typedef struct {
    wide_pair pair[ARIEL_CONV_MAX_CHANNEL_BLOCK / 2];
    int32_t pairs;        /* channel pairs with weights */
    int32_t dead;         /* channels without */
    uint8_t dead_k[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int8_t dead_v[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    uint32_t lo, hi;      /* the activation bounds in each byte */
    int32_t clamp;        /* 0: SSAT alone */
    int32_t ok;           /* every channel with weights has an SMMLAR entry */
} wide_plan;

typedef struct {
    const int8_t *x0;     /*  0: pixel 0's window (one run of whole words; pixel 1's at x0 + dx) */
    int32_t dx;           /*  4 */
    int32_t words;        /*  8: >= 1 */
    const wide_pair *pr;  /* 12: the plan's pairs */
    int32_t window;       /* 16: bytes between channels (4 words) */
    int8_t *out0;         /* 20: pixel 0's output of the block's first channel */
    int8_t *out1;         /* 24: pixel 1's */
    const int8_t *w;      /* 28: the block's first channel's weights */
    int32_t pairs;        /* 32: >= 1 */
    uint32_t lo, hi;      /* 36, 40 */
    int32_t clamp;        /* 44: 0 when the bounds are -128 and 127 (SSAT alone) */
} plan_job;

__attribute__((naked, noinline)) ARIEL_DSP_IN_SRAM(mac_plan_rq) static void mac_plan_rq(const plan_job *j __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "sub    sp, sp, #48\n\t"              /* [sp] run end, #4 entry, #8 clamp, #12 pair, #16 out0,
                                               * #20 pairs, #24 x0, #28 window, #32 out1, #36 lo, #40 hi, #44 w */
        "ldmia  r0, {r1-r12}\n\t"             /* x0, dx, words, pr, window, out0, out1, w, pairs, lo, hi, clamp */
        "str    r1, [sp, #24]\n\t"
        "str    r4, [sp, #12]\n\t"
        "str    r5, [sp, #28]\n\t"
        "str    r6, [sp, #16]\n\t"
        "str    r7, [sp, #32]\n\t"
        "str    r8, [sp, #44]\n\t"
        "str    r9, [sp, #20]\n\t"
        "str    r10, [sp, #36]\n\t"
        "str    r11, [sp, #40]\n\t"
        "str    r12, [sp, #8]\n\t"
        "add    r12, r1, r3, lsl #2\n\t"
        "str    r12, [sp]\n\t"                /* the run's end */
        "and    r0, r3, #3\n\t"               /* words % 4 picks the entry: one end test per 4 words */
        "mov    r3, r2\n\t"                   /* dx, for the whole call */
        "cmp    r0, #1\n\t"
        "beq    21f\n\t"
        "cmp    r0, #2\n\t"
        "beq    22f\n\t"
        "cmp    r0, #3\n\t"
        "beq    23f\n\t"
        "adr.w  r12, 3f\n\t"
        "b      24f\n\t"
        "21:\n\t"
        "adr.w  r12, 6f\n\t"
        "b      24f\n\t"
        "22:\n\t"
        "adr.w  r12, 5f\n\t"
        "b      24f\n\t"
        "23:\n\t"
        "adr.w  r12, 4f\n\t"
        "24:\n\t"
        "orr    r12, r12, #1\n\t"             /* Thumb */
        "str    r12, [sp, #4]\n\t"
        "1:\n\t"                              /* channel pair */
        "ldr    r12, [sp, #12]\n\t"
        "ldr    r0, [sp, #28]\n\t"            /* window */
        "ldrd   r2, r4, [r12]\n\t"            /* k0, k1 */
        "ldr    r1, [sp, #44]\n\t"
        "sub    r4, r4, r2\n\t"
        "mla    r2, r2, r0, r1\n\t"           /* channel 0's weights */
        "mul    r4, r4, r0\n\t"
        "ldr    r1, [sp, #24]\n\t"            /* x = x0 */
        "sub    r4, r4, #4\n\t"               /* channel 1 - channel 0 - 4: read after w has advanced */
        "mov    r5, #0\n\t"
        "mov    r6, #0\n\t"
        "mov    r7, #0\n\t"
        "mov    r8, #0\n\t"
        "ldr    pc, [sp, #4]\n\t"
        DSP_2X2_LOOP
        "ldr    lr, [sp, #12]\n\t"
        "add    lr, lr, #8\n\t"
        "ldmia  lr!, {r0, r1, r9, r10}\n\t"   /* channel 0: 2 bias, m, K, r */
        DSP_PAIR_RQ("r5")
        DSP_PAIR_RQ("r7")
        "ldmia  lr!, {r0, r1, r9, r10}\n\t"   /* channel 1 */
        DSP_PAIR_RQ("r6")
        "str    lr, [sp, #12]\n\t"            /* the next pair */
        DSP_PAIR_RQ("r8")
        "ldrd   r10, r11, [lr, #-40]\n\t"     /* k0, k1 */
        "ldr    r0, [sp, #8]\n\t"             /* clamp? */
        "ldr    r12, [sp, #16]\n\t"           /* out0 */
        "ldr    lr, [sp, #32]\n\t"            /* out1 */
        "cbz    r0, 40f\n\t"
        "bfi    r5, r6, #8, #8\n\t"           /* the four bytes at once: SSUB8 sets GE per byte, SEL picks */
        "ldrd   r0, r1, [sp, #36]\n\t"        /* the bounds */
        "bfi    r5, r7, #16, #8\n\t"
        "bfi    r5, r8, #24, #8\n\t"
        "ssub8  r9, r5, r0\n\t"
        "sel    r5, r5, r0\n\t"               /* max(v, lo) */
        "ssub8  r9, r1, r5\n\t"
        "sel    r5, r5, r1\n\t"               /* min(v, hi) */
        "lsr    r6, r5, #8\n\t"
        "lsr    r7, r5, #16\n\t"
        "lsr    r8, r5, #24\n\t"
        "40:\n\t"
        "strb   r5, [r12, r10]\n\t"
        "strb   r6, [r12, r11]\n\t"
        "strb   r7, [lr, r10]\n\t"
        "strb   r8, [lr, r11]\n\t"
        "ldr    r0, [sp, #20]\n\t"
        "subs   r0, r0, #1\n\t"
        "str    r0, [sp, #20]\n\t"
        "bne    1b\n\t"
        "add    sp, sp, #48\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* fills *plan for channels c.. c + n (weights: the tensor, window: a channel's bytes) */
static NOINLINE void prepare_wide(const ariel_conv_params *p, const int8_t *weights, int32_t c, int32_t n,
                                  int32_t window, wide_plan *plan)
{
    const uint32_t zp = (uint32_t)p->output_zero_point;
    int32_t k, live = 0;
    int32_t live_k[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    plan->ok = 0, plan->pairs = 0, plan->dead = 0;
    if (window > (1 << 15)) {
        return;
    }
    for (k = 0; k < n; k++) {
        const int8_t *w = weights + (c + k) * window;
        int32_t i = 0;
        while (i + 4 <= window && load_word(w + i) == 0) {
            i += 4;
        }
        while (i < window && w[i] == 0) {
            i++;
        }
        if (i == window) { /* the output of a zero sum, as the portable kernel gives it */
            plan->dead_k[plan->dead] = (uint8_t)k;
            put(p, &plan->dead_v[plan->dead], 0, c + k);
            plan->dead++;
        } else {
            const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
            const int32_t bias = p->bias[c + k];
            if (rq[1] != 0 || rq[2] < 1 || rq[2] > RQ_SMMLAR_MAX_RIGHT || bias > (1 << 28) || bias < -(1 << 28)) {
                return;
            }
            live_k[live++] = k;
        }
    }
    if (plan->dead == 0) { /* the contiguous paths are as fast for dense blocks */
        return;
    }
    for (k = 0; k < live; k += 2) {
        wide_pair *pr = &plan->pair[k >> 1];
        int32_t h;
        pr->k0 = live_k[k], pr->k1 = live_k[k + 1 < live ? k + 1 : k];
        for (h = 0; h < 2; h++) {
            const int32_t ch = c + (h ? pr->k1 : pr->k0);
            const int32_t r = p->rq[ch * ARIEL_RQ_WORDS + 2];
            rq_entry *e = h ? &pr->e1 : &pr->e0;
            e->bias = 2 * p->bias[ch];
            e->multiplier = p->rq[ch * ARIEL_RQ_WORDS];
            e->round = (int32_t)((1u << (r - 1)) + zp * (1u << r)); /* K */
            e->shift = r;
        }
    }
    plan->pairs = (live + 1) >> 1;
    plan->lo = (uint8_t)p->act_min * 0x01010101u;
    plan->hi = (uint8_t)p->act_max * 0x01010101u;
    plan->clamp = clamp_mode(p) != RQ_SSAT;
    plan->ok = 1;
}

/* two pixels (x1 = x0 + dx; 1x1 windows of `words` whole words) x the plan's block (block_weights:
 * its first channel's) */
static NOINLINE ARIEL_DSP_IN_SRAM(pair_plan) void pair_plan(const wide_plan *plan, const conv_window *s,
                                                             const int8_t *x0, int32_t dx,
                                                             const int8_t *block_weights, int8_t *out0, int8_t *out1)
{
    int32_t k;
    if (plan->pairs > 0) {
        plan_job j;
        j.x0 = x0, j.dx = dx, j.words = s->words, j.pr = plan->pair, j.window = s->window, j.out0 = out0;
        j.out1 = out1, j.w = block_weights, j.pairs = plan->pairs, j.lo = plan->lo, j.hi = plan->hi;
        j.clamp = plan->clamp;
        mac_plan_rq(&j);
    }
    for (k = 0; k < plan->dead; k++) {
        out0[plan->dead_k[k]] = plan->dead_v[k];
        out1[plan->dead_k[k]] = plan->dead_v[k];
    }
}

/* two whole pixels (their windows inside the input; x1 = x0 + dx) x the channels [c_begin, c_end):
 * window sums for all the block's channels first, then one requantisation loop */
static NOINLINE void conv_pixel_pair(const ariel_conv_params *p, const rq_table *table, const conv_window *s,
                                     const int8_t *x0, int32_t dx, const int8_t *block_weights, int8_t *out0,
                                     int8_t *out1, int32_t c_begin, int32_t c_end)
{
    const int32_t words = s->words, window = s->window, n = c_end - c_begin;
    int32_t sums[2][SUMS_ROW]; /* pixel 0's, pixel 1's (SUMS_ROW apart: mac_two_words) */
    int32_t *const sums0 = sums[0], *const sums1 = sums[1];
    const int8_t *w = block_weights; /* channel c_begin's */
    int32_t k;
    if (s->tail == 0 && words > 0 && (words != 2 || s->runs > 1) && table->smmlar) { /* requantised in registers */
        pair_rq(p, table, x0, dx, s->runs, words, s->run_skip, window, w, out0 + c_begin, (int32_t)(out1 - out0), n);
        return;
    }
    if (s->tail == 0 && words == 2 && s->runs == 1 && n > 0) { /* windows of two words: inputs kept in registers */
        block_2x2 b;
        b.x0 = x0, b.dx = dx, b.w = w, b.pairs = n, b.sums0 = sums0;
        mac_two_words(&b);
    } else if (s->tail == 0 && words > 0) { /* whole words: the assembly block */
        block_2x2 b;
        b.x0 = x0, b.dx = dx, b.w = w, b.dw = window, b.words = words, b.pairs = n >> 1;
        b.sums0 = sums0, b.sums1 = sums1, b.runs = s->runs, b.run_skip = s->run_skip;
        if (b.pairs > 0) {
            (b.runs == 1 ? mac_block_2x2_one_run : mac_block_2x2)(&b);
        }
        if (n & 1) { /* a lone channel, paired with itself */
            b.w = w + (n - 1) * window, b.dw = 0, b.pairs = 1;
            mac_block_2x2(&b);
        }
    } else { /* runs ending inside a word that could not be padded: SIMD words and byte tails in C */
        for (k = 0; k < n; k += 2, w += 2 * window) {
            int32_t acc[4];
            window_2x2(s, x0, x0 + dx, w, k + 1 < n ? w + window : w, acc);
            sums0[k] = acc[0], sums0[k + 1] = acc[1], sums1[k] = acc[2], sums1[k + 1] = acc[3];
        }
    }
    requant_pixels_2(p, table, sums0, sums1, out0 + c_begin, out1 + c_begin, n);
}

/* One pixel against four output channels over a window of whole words (one run): the assembly of
 * kernels/arm_dsp/fully_connected_s8.c's four-unit loop (channels as units, the window as depth).
 * 13 registers; per 16 multiply-accumulates 5 loads, 10 SXTB16, 8 SMLAD. words >= 1. */
typedef struct {
    const int8_t *x;    /*  0: the window */
    const int8_t *w;    /*  4: channel 0's weights */
    int32_t window;     /*  8: bytes between channels */
    int32_t words;      /* 12 */
    int32_t *acc;       /* 16: four sums out */
} block_1x4;

__attribute__((naked, noinline)) static void mac_block_1x4(const block_1x4 *b __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldr    r1, [r0, #4]\n\t"
        "ldr    r2, [r0, #8]\n\t"
        "ldr    r3, [r0, #12]\n\t"
        "ldr    r12, [r0, #16]\n\t"
        "ldr    r0, [r0, #0]\n\t"
        "push   {r12}\n\t"
        "add    r3, r0, r3, lsl #2\n\t"       /* window end */
        "movs   r4, #0\n\t"
        "movs   r5, #0\n\t"
        "movs   r6, #0\n\t"
        "movs   r7, #0\n\t"
        ARIEL_DSP_DOT4_LOOP
        "pop    {r12}\n\t"
        "stmia  r12, {r4, r5, r6, r7}\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* one whole pixel x the channels [c_begin, c_end): four at a time, then pairs (the pixel paired with
 * itself; a lone channel with itself) */
static NOINLINE void conv_pixel(const ariel_conv_params *p, const rq_table *table, const conv_window *s,
                                const int8_t *x, const int8_t *weights, int8_t *out, int32_t c_begin, int32_t c_end)
{
    const int one_run = s->runs == 1 && s->tail == 0 && s->words > 0;
    int32_t sums[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t oc = c_begin;
    for (; oc + 4 <= c_end; oc += 4) {
        if (one_run) {
            block_1x4 b;
            b.x = x, b.w = weights + oc * s->window, b.window = s->window, b.words = s->words, b.acc = sums + oc - c_begin;
            mac_block_1x4(&b);
        } else {
            window_1x4(s, x, weights + oc * s->window, sums + oc - c_begin);
        }
    }
    for (; oc < c_end; oc += 2) {
        const int8_t *w0 = weights + oc * s->window;
        int32_t acc[4];
        window_2x2(s, x, x, w0, oc + 1 < c_end ? w0 + s->window : w0, acc);
        sums[oc - c_begin] = acc[0];
        if (oc + 1 < c_end) {
            sums[oc + 1 - c_begin] = acc[1];
        }
    }
    requant_pixel(p, table, sums, out + c_begin, c_end - c_begin);
}

/* `pixels` pixels x_step apart of a 1x1 convolution (a row, or rows that follow one another; windows
 * of whole words, no padding): conv_pixel_pair's work for every pixel pair, with the 2x2 block's fixed
 * fields set once and none of conv_runs_s8's per-pixel tests */
static NOINLINE ARIEL_DSP_IN_SRAM(conv_row_pairs) void conv_row_pairs(const ariel_conv_params *p, const rq_table *table, const wide_plan *plan, const conv_window *s,
                                    const int8_t *x, int32_t x_step, const int8_t *weights, int8_t *out,
                                    int32_t c_begin, int32_t c_end, int32_t pixels)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t n = c_end - c_begin, out_step = g->out_c;
    const int8_t *block_weights = weights + c_begin * s->window;
    int32_t sums[2][SUMS_ROW]; /* SUMS_ROW apart: mac_two_words */
    block_2x2 b;
    int32_t ox = 0;
    b.dx = x_step, b.words = s->words, b.runs = 1, b.run_skip = 0;
    if (plan->ok) { /* blocks with all-zero filters */
        for (ox = 0; ox + 1 < pixels; ox += 2, x += 2 * x_step, out += 2 * out_step) {
            pair_plan(plan, s, x, x_step, block_weights, out + c_begin, out + out_step + c_begin);
        }
        if (ox < pixels) { /* a lone pixel paired with itself: half the work of its live channels wasted,
                              * none of the dead ones done */
            pair_plan(plan, s, x, 0, block_weights, out + c_begin, out + c_begin);
            return;
        }
    }
    if (s->words != 2 && table->smmlar) {
        for (; ox + 1 < pixels; ox += 2, x += 2 * x_step, out += 2 * out_step) {
            pair_rq(p, table, x, x_step, 1, s->words, 0, s->window, block_weights, out + c_begin, out_step, n);
        }
    }
    for (; ox + 1 < pixels; ox += 2, x += 2 * x_step, out += 2 * out_step) {
        b.x0 = x, b.w = block_weights, b.dw = s->window, b.sums0 = sums[0], b.sums1 = sums[1];
        if (s->words == 2) {
            b.pairs = n;
            mac_two_words(&b);
        } else {
            b.pairs = n >> 1;
            if (b.pairs > 0) {
                mac_block_2x2_one_run(&b);
            }
            if (n & 1) { /* a lone channel, paired with itself */
                b.w = block_weights + (n - 1) * s->window, b.dw = 0, b.pairs = 1;
                mac_block_2x2(&b);
            }
        }
        requant_pixels_2(p, table, sums[0], sums[1], out + c_begin, out + out_step + c_begin, n);
    }
    if (ox < pixels) {
        conv_pixel(p, table, s, x, weights, out, c_begin, c_end);
    }
}

/* sum x[i] * w[i] over n bytes */
static int32_t dot_s8_dsp(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    for (; n >= 4; n -= 4, x += 4, w += 4) {
        const uint32_t xv = load_word(x), wv = load_word(w);
        acc = __smlad(__sxtb16(xv), __sxtb16(wv), acc);
        acc = __smlad(widen_odd(xv), widen_odd(wv), acc);
    }
    for (; n > 0; n--) {
        acc += *x++ * *w++;
    }
    return acc;
}

/* z * sum w[i] over n bytes: what n padded taps add */
static int32_t padded_s8(int32_t z, const int8_t *w, int32_t n)
{
    int32_t sum = 0;
    for (; n > 0; n--) {
        sum += *w++;
    }
    return z * sum;
}

/* the window sum of a pixel at input (iy0, ix0) whose window crosses the input's edge: the valid
 * columns of a valid filter row are one run, the rest read the zero point */
static NOINLINE int32_t conv_edge_sum(const ariel_conv_params *p, const int8_t *image, int32_t iy0, int32_t ix0,
                                      const int8_t *w)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c, run = g->filter_w * in_c;
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = ix0 + g->filter_w > g->in_w ? g->in_w - ix0 : g->filter_w;
    int32_t sum = 0, ky;
    for (ky = 0; ky < g->filter_h; ky++, w += run) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        if (iy < 0 || iy >= g->in_h || kx1 <= kx0) {
            sum += padded_s8(p->input_zero_point, w, run);
        } else {
            sum += dot_s8_dsp(image + (iy * g->in_w + ix0 + kx0) * in_c, w + kx0 * in_c, (kx1 - kx0) * in_c);
            sum += padded_s8(p->input_zero_point, w, kx0 * in_c);
            sum += padded_s8(p->input_zero_point, w + kx1 * in_c, run - kx1 * in_c);
        }
    }
    return sum;
}

/* CONV_2D with groups 1 and no column dilation (filter rows are contiguous runs) */
/* Runs that end inside a word (e.g. 3x3 filters over 3 channels: 9 bytes) would leave the assembly
 * block a byte loop per run. Instead the work item's weights are copied with each run padded by
 * zeros to whole words, and the input is read past each run's end (those bytes meet zero weights):
 * only where that over-read stays inside the batch's image, and only for blocks that fit here. */
#define PADDED_WEIGHT_BYTES 512

/* Pixels whose window crosses the input's edge, and windows made of short runs (e.g. 10x4 filters
 * over one channel: 10 runs of 4 bytes), are gathered into a stack buffer first, zero points in
 * the padded taps: the window is then one run, as the weights are. Two windows of up to GATHER_BYTES,
 * or one of up to twice that (computed paired with itself). */
#define GATHER_BYTES 320

/* n bytes from any address to a word-aligned buffer */
static void copy_bytes(int8_t *to, const int8_t *from, int32_t n)
{
    for (; n >= 4; n -= 4, to += 4, from += 4) {
        const uint32_t v = load_word(from);
        __builtin_memcpy(to, &v, 4);
    }
    for (; n > 0; n--) {
        *to++ = *from++;
    }
}

static void fill_bytes(int8_t *to, int8_t value, int32_t n)
{
    const uint32_t word = (uint8_t)value * 0x01010101u;
    for (; n >= 4; n -= 4, to += 4) {
        __builtin_memcpy(to, &word, 4);
    }
    for (; n > 0; n--) {
        *to++ = value;
    }
}

/* the window of the pixel at input (iy0, ix0), padded taps read as the zero point */
static void gather_window(const ariel_conv_params *p, const int8_t *image, int32_t iy0, int32_t ix0, int8_t *to)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c, run = g->filter_w * in_c;
    const int8_t z = (int8_t)p->input_zero_point;
    const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
    const int32_t kx1 = ix0 + g->filter_w > g->in_w ? g->in_w - ix0 : g->filter_w;
    int32_t ky;
    for (ky = 0; ky < g->filter_h; ky++, to += run) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        if (iy < 0 || iy >= g->in_h || kx1 <= kx0) {
            fill_bytes(to, z, run);
        } else {
            fill_bytes(to, z, kx0 * in_c);
            copy_bytes(to + kx0 * in_c, image + (iy * g->in_w + ix0 + kx0) * in_c, (kx1 - kx0) * in_c);
            fill_bytes(to + kx1 * in_c, z, run - kx1 * in_c);
        }
    }
}

/* gather_window for a window inside the input whose runs may be read to a whole word past their
 * end (inside the image): each run copied a word at a time, the next run written over the
 * previous one's extra bytes; up to 3 bytes past the window are written (the buffer has room) */
static void gather_inside(const int8_t *from, int32_t row_step, int32_t run, int32_t runs, int32_t words, int8_t *to)
{
    int32_t r, i;
    for (r = 0; r < runs; r++, from += row_step, to += run) {
        for (i = 0; i < words; i++) {
            const uint32_t v = load_word(from + 4 * i);
            __builtin_memcpy(to + 4 * i, &v, 4);
        }
    }
}

static inline int32_t s_window_of(const ariel_conv_geometry *g)
{
    return g->filter_h * g->filter_w * g->in_c;
}

static void conv_runs_s8(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                         int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c, run = g->filter_w * in_c;
    const int32_t x_step = g->stride_w * in_c;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h, last_dx = g->filter_w - 1;
    const int32_t row_step = g->dilation_h * g->in_w * in_c, image_bytes = g->in_h * g->in_w * in_c;
    conv_window s, sp, flat, flat_padded; /* as stored, runs padded to whole words, one run (gathered
                                            * windows), one run padded to whole words */
    rq_table table;
    wide_plan plan;
    uint32_t padded[PADDED_WEIGHT_BYTES / 4];
    uint32_t gathered[2 * GATHER_BYTES / 4];
    const int gather = s_window_of(g) <= 2 * GATHER_BYTES; /* above GATHER_BYTES: one pixel at a time */
    const int gather_pairs = s_window_of(g) <= GATHER_BYTES;
    const int gather_all = gather && g->filter_h > 1 && run <= 8; /* short runs: every pixel */
    /* Runs ending inside a word (3x3 over 3 channels: 9 bytes) padded one by one waste a quarter of
     * the block's work (27 -> 36 bytes) and take a run loop; gathered, the window is padded once
     * (27 -> 28) and is one run: every pixel is gathered when the padded weights fit. */
    const int gather_whole = s_window_of(g) % 4 != 0 && s_window_of(g) + 3 <= GATHER_BYTES; /* gather_inside's over-write */
    /* gathered windows inside the input are copied a word at a time (gather_inside) */
    const int copy_inside = s_window_of(g) + 3 <= GATHER_BYTES;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const int sweep_1x1x8 = g->filter_h == 1 && g->filter_w == 1 && in_c == 8 && g->stride_w == 1 &&
                            g->pad_left == 0 && g->out_w == g->in_w;
    /* 1x1 windows of whole words inside the input: conv_row_pairs */
    const int row_1x1 = g->filter_h == 1 && g->filter_w == 1 && s_window_of(g) % 4 == 0 && g->pad_left == 0 &&
                        (g->out_w - 1) * g->stride_w < g->in_w;
    /* 1x1 at stride 1 over the whole input: output rows (and images) follow one another in memory, in
     * the input as in the output, so a block's rows are one run of pixels (pairs across row ends) */
    const int rows_follow = row_1x1 && g->stride_w == 1 && g->stride_h == 1 && g->pad_top == 0 &&
                            g->out_w == g->in_w && g->out_h == g->in_h;
    int use_padded = 0, whole = 0;
    int32_t first, item;
    s.words = run >> 2;
    s.tail = run & 3;
    s.runs = g->filter_h;
    s.run_skip = row_step - run;
    s.window = g->filter_h * run;
    sp.words = (run + 3) >> 2;
    sp.tail = 0;
    sp.runs = g->filter_h;
    sp.run_skip = row_step - 4 * sp.words;
    sp.window = g->filter_h * 4 * sp.words;
    flat.words = s.window >> 2;
    flat.tail = s.window & 3;
    flat.runs = 1;
    flat.run_skip = 0;
    flat.window = s.window;
    flat_padded.words = (s.window + 3) >> 2;
    flat_padded.tail = 0;
    flat_padded.runs = 1;
    flat_padded.run_skip = 0;
    flat_padded.window = 4 * flat_padded.words;
    /* work items channel block by channel block (any order gives the same bytes): the requantisation
     * table and the padded weights are prepared once per block and call */
    for (first = begin; first < end && first < begin + blocks; first++) {
        for (item = first; item < end; item += blocks) {
            int32_t row, c_begin, c_end, ox = 0;
            ariel_conv_place(g, item, &row, &c_begin, &c_end);
            if (item == first) {
                table.mode = prepare_rq(p, c_begin, c_end - c_begin, table.e);
                prepare_smmlar(p, c_begin, c_end - c_begin, s.window, &table);
                plan.ok = 0;
                if (row_1x1) {
                    prepare_wide(p, weights, c_begin, c_end - c_begin, s.window, &plan);
                }
                /* the gathered window's bytes past s.window are not written: they meet zero weights */
                whole = gather_whole && s.tail != 0 && (c_end - c_begin) * flat_padded.window <= PADDED_WEIGHT_BYTES;
                use_padded = !whole && s.tail != 0 && (c_end - c_begin) * sp.window <= PADDED_WEIGHT_BYTES;
                if (whole) {
                    int8_t *to = (int8_t *)padded;
                    const int8_t *from = weights + c_begin * s.window;
                    int32_t k, i;
                    for (k = 0; k < c_end - c_begin; k++, from += s.window) {
                        for (i = 0; i < flat_padded.window; i++) {
                            *to++ = i < s.window ? from[i] : 0;
                        }
                    }
                }
                if (use_padded) {
                    int8_t *to = (int8_t *)padded;
                    const int8_t *from = weights + c_begin * s.window;
                    int32_t k, i;
                    for (k = 0; k < (c_end - c_begin) * s.runs; k++, from += run) {
                        for (i = 0; i < 4 * sp.words; i++) {
                            *to++ = i < run ? from[i] : 0;
                        }
                    }
                }
            }
            {
                const int32_t batch = row / g->out_h;
                const int32_t oy = row - batch * g->out_h;
                const int32_t iy0 = oy * g->stride_h - g->pad_top;
                const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
                const int8_t *image = input + batch * image_bytes;
                int8_t *out = output + row * g->out_w * g->out_c;
                if (sweep_1x1x8 && rows_inside && table.smmlar && table.mode == RQ_SSAT) {
                    conv_row_1x1x8(&table, image + iy0 * g->in_w * in_c, weights + c_begin * 8, out + c_begin,
                                   g->out_c, g->out_w, c_end - c_begin);
                    continue;
                }
                if (row_1x1 && rows_inside) {
                    int32_t rows = 1;
                    if (rows_follow) { /* this block's next rows in the call continue the pixel run */
                        while (item + rows * blocks < end) {
                            rows++;
                        }
                        item += (rows - 1) * blocks;
                    }
                    conv_row_pairs(p, &table, &plan, &s, image + iy0 * g->in_w * in_c, x_step, weights, out, c_begin,
                                   c_end, rows * g->out_w);
                    continue;
                }
                while (ox < g->out_w) {
                    const int32_t ix0 = ox * g->stride_w - g->pad_left;
                    const int32_t at = (iy0 * g->in_w + ix0) * in_c; /* only read when inside */
                    const int inside = rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w;
                    int8_t *o = out + ox * g->out_c;
                    if (whole && table.smmlar && copy_inside && inside) { /* the row's inner pixel pairs */
                        const int32_t room = g->in_w - 1 - last_dx - g->stride_w + g->pad_left;
                        const int32_t pairs_end = room < 0 ? -1 : room / g->stride_w; /* last ox of a pair inside */
                        const int32_t tail = (s.runs - 1) * row_step + 4 * sp.words; /* bytes a window copy reads */
                        int32_t a = at;
                        while (ox + 1 < g->out_w && ox <= pairs_end && a + x_step + tail <= image_bytes) {
                            gather_inside(image + a, row_step, run, s.runs, sp.words, (int8_t *)gathered);
                            gather_inside(image + a + x_step, row_step, run, s.runs, sp.words,
                                          (int8_t *)gathered + GATHER_BYTES);
                            pair_rq(p, &table, (const int8_t *)gathered, GATHER_BYTES, 1, flat_padded.words, 0,
                                    flat_padded.window, (const int8_t *)padded, out + ox * g->out_c + c_begin,
                                    g->out_c, c_end - c_begin);
                            ox += 2, a += 2 * x_step;
                        }
                        if (a != at) {
                            continue;
                        }
                    }
                    if (gather && (gather_all || whole || !inside)) { /* one or two gathered windows */
                        int8_t *x0 = (int8_t *)gathered, *x1 = x0 + GATHER_BYTES;
                        const int two = ox + 1 < g->out_w && gather_pairs;
                        if (copy_inside && inside && at + (s.runs - 1) * row_step + 4 * sp.words <= image_bytes) {
                            gather_inside(image + at, row_step, run, s.runs, sp.words, x0);
                        } else {
                            gather_window(p, image, iy0, ix0, x0);
                        }
                        if (two) {
                            const int32_t at1 = at + x_step;
                            if (copy_inside && rows_inside && ix0 + g->stride_w + last_dx < g->in_w &&
                                at1 + (s.runs - 1) * row_step + 4 * sp.words <= image_bytes) {
                                gather_inside(image + at1, row_step, run, s.runs, sp.words, x1);
                            } else {
                                gather_window(p, image, iy0, ix0 + g->stride_w, x1);
                            }
                        }
                        if (!two && !whole) { /* one pixel against four channels, not paired with itself */
                            conv_pixel(p, &table, &flat, x0, weights, o, c_begin, c_end);
                            ox++;
                            continue;
                        }
                        conv_pixel_pair(p, &table, whole ? &flat_padded : &flat, x0, two ? GATHER_BYTES : 0,
                                        whole ? (const int8_t *)padded : weights + c_begin * s.window, o,
                                        two ? o + g->out_c : o, c_begin, c_end);
                        ox += 1 + two;
                        continue;
                    }
                    if (inside) {
                        if (ox + 1 < g->out_w && ix0 + g->stride_w + last_dx < g->in_w) {
                            /* the last byte pixel 1 reads with padded runs */
                            const int32_t read_end = at + x_step + (s.runs - 1) * row_step + 4 * sp.words;
                            if (use_padded && read_end <= image_bytes) {
                                conv_pixel_pair(p, &table, &sp, image + at, x_step, (const int8_t *)padded, o,
                                                o + g->out_c, c_begin, c_end);
                            } else {
                                conv_pixel_pair(p, &table, &s, image + at, x_step, weights + c_begin * s.window, o,
                                                o + g->out_c, c_begin, c_end);
                            }
                            ox += 2;
                            continue;
                        }
                        conv_pixel(p, &table, &s, image + at, weights, o, c_begin, c_end);
                    } else {
                        int32_t oc;
                        for (oc = c_begin; oc < c_end; oc++) {
                            put(p, o + oc, conv_edge_sum(p, image, iy0, ix0, weights + oc * s.window), oc);
                        }
                    }
                    ox++;
                }
            }
        }
    }
}

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    if (p->g.groups == 1 && p->g.dilation_w == 1) {
        conv_runs_s8(p, (const int8_t *)buffers[0], (const int8_t *)buffers[1], (int8_t *)buffers[3], begin, end);
    } else {
        conv_q8(p, buffers, begin, end, 0);
    }
}

#include "arm_dsp_depthwise.h"

void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int is_3x3 = g->filter_h == 3 && g->filter_w == 3 && g->dilation_h == 1 && g->dilation_w == 1;
    if (p->packed_weights != 0 && is_3x3) { /* the compiler packs them for depth multiplier 1 */
        depthwise_3x3_groups(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else if (p->packed_weights != 0 && g->filter_h * g->filter_w <= DW_SIMD_MAX_TAPS) {
        depthwise_dm1_simd(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else if (p->packed_weights != 0) { /* <= DW_MAX_TAPS taps */
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_q8(p, buffers, begin, end, 0);
    }
}
