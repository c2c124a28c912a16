/* kernels/armv6m/conv_s8.c - int8 CONV_2D and DEPTHWISE_CONV_2D for Armv6-M (Cortex-M0+, RP2040).
 *
 * The Cortex-M0+ has eight low registers that loads and MULS can use, a single-cycle 32x32 MULS that
 * overwrites one of its sources, LDRSB with a register offset only (2 cycles) and no SIMD. Its
 * inner loops are therefore written in Thumb-1 assembly, where the register allocation is ours:
 *
 *  - v6m_mac_2x2: two output pixels x two output channels per step. Each loaded byte feeds two
 *    products (4 loads for 4 MACs); the four accumulators live in r8-r11 (ADD to a high register
 *    is one cycle), so r0-r7 hold the four end pointers, one index counting up to 0 and three data
 *    registers. 18 cycles per 4 MACs: 4 LDRSB (8), 1 MOV, 4 MULS, 4 ADD, ADDS, with a BNE (2)
 *    per 4 steps (unrolled; entered Duff-style so the first round runs n mod 4 steps).
 *    MULS Rd, Rm, Rd destroys Rd, so the products are ordered so that each operand's last use is
 *    the one destroyed: one MOV per step, no reload.
 *  - Packed 16-bit lanes (v6m_packed.h): two products per MULS for 1x1 convolutions and the RGB first
 *    layers, on weights packed per channel pair (W = w0 + w1 2^16) or on the inputs of a pixel pair,
 *    split exactly every two bytes: 26-27 cycles per 8 MACs. The header says why it is exact.
 *
 * Paths (ariel_conv_s8): 1x1 filters without padding read the pixels in place, a channel block's work
 * items taken together, four pixels at a time (two passes into v6m_requant_4px's layout, so a
 * channel's requantisation constants serve four outputs), across row ends: on packed weights when the
 * block has PACK_MIN_PIXELS pixels or more in the tile (v6m_mac_packed_quad), else on packed pixel
 * pairs (v6m_mac_xpacked_2px, even windows) or the 2x2 byte kernel. Any other ungrouped convolution
 * whose window fits IM2COL_MAX bytes copies the windows of two output pixels into a stack buffer
 * (padded taps hold the input zero point, as the folded bias expects) and runs the 2x2 kernel over
 * filter_h * filter_w * in_c bytes at once. That is the first-layer path (kws conv #0: 1 input
 * channel, 10x4 filter, 40 bytes; VWW/MCUNet conv #0: 3x3x3, 27 bytes), where per-row calls would pay
 * the kernel's set-up for every 4 to 9 bytes; with up to 4 channel blocks a pixel's window is copied
 * once for all of them; with few channels over short window rows (VWW and MCUNet conv #0) windows
 * inside the input are read in place instead, filter_h runs at a time (v6m_mac_2x2_rows; the RGB 3x3
 * windows on packed weights, v6m_mac_packed_3x9, or v6m_mac_2x2_3x9 when they do not fit). Grouped
 * convolutions and larger windows take the portable conv_q8.
 * ariel_depthwise_conv_s8: depth multiplier 1 with square 3x3, 5x5 or 7x7 filters runs v6m_dw_4px_*
 * and v6m_dw_2px_* (four / two pixels per channel, in place, or from a zero-point-padded strip /
 * copied windows at the borders); other depthwise shapes take depthwise_dm1_s8 / depthwise_q8
 * (ariel_conv_q8_portable.h).
 * Requantisation (v6m_requant_2px, v6m_requant.h) has a one-MULS fast path with an exact fallback;
 * depthwise four-pixel blocks and 1x1 pixel fours requantise a channel's four outputs together
 * (v6m_requant_4px).
 *
 * Code in SRAM: the MAC loops of the 1x1 paths, the fast requantisation routines and the depthwise
 * driver depthwise_pairs (~5.9 KB of .data.* sections, plus the linker's long-call veneers between
 * SRAM and flash), which start-up copies to SRAM with the initialised data (the Pico SDK does the
 * same for its time-critical code). They run for every output, and from flash they shared the 2-way
 * XIP cache with the C drivers and the weights streamed from flash: wherever a code change moved the
 * drivers onto their sets, whole 1x1 layers slowed by up to 19% (MCUNet-10fps, measured). Out of
 * flash, the layer times no longer depend on where the linker puts the rest of the code.
 *
 * Stack (GCC -fstack-usage, deepest chain): ~2.9 KB for copied windows (1152 B of windows + 4
 * blocks' requantisation constants) and for 1x1 (1.5 KB of packed weights + two blocks'
 * requantisation constants), ~2.5 KB for depthwise (a 2 x 49 x 16-byte buffer), inside the 4 KB per
 * core that the emulator and the library README give each core.
 *
 * Bit-exactness: the kernel starts every accumulator at the folded bias and adds raw products with
 * int32 wrap-around, which is the portable kernels' ariel_wrapping_add(sum, bias) (sums are exact
 * while window * 2^14 < 2^31, which the compiler checks). Requantisation is ariel_rq on the same
 * int32 value. */
#include "ariel_conv_q8_portable.h"
#include "v6m_asm.h"

#define IM2COL_MAX 576 /* window bytes per pixel for the copied path (3x3x64); two pixels on the stack */

/* words of bytes, for copies between aligned runs (the GCC extension may_alias keeps them legal) */
typedef uint32_t __attribute__((may_alias)) v6m_word;
/* one 16-channel column of a depthwise strip, moved whole (GCC copies it with LDM/STM) */
typedef struct {
    v6m_word w[4];
} __attribute__((may_alias)) v6m_quad;

/* dst[0..n) = src[0..n): a word at a time when both runs and n are word-aligned (channel blocks
 * of 16 in layers of 4k channels), else a byte at a time */
static void copy_run(int8_t *dst, const int8_t *src, int32_t n)
{
    if ((((uint32_t)(uintptr_t)dst | (uint32_t)(uintptr_t)src | (uint32_t)n) & 3u) == 0) {
        const v6m_word *s = (const v6m_word *)src;
        v6m_word *d = (v6m_word *)dst;
        for (n >>= 2; n > 0; n--) {
            *d++ = *s++;
        }
    } else {
        for (; n > 0; n--) {
            *dst++ = *src++;
        }
    }
}

/* dst[0..n) = value */
static void fill_run(int8_t *dst, int8_t value, int32_t n)
{
    if ((((uint32_t)(uintptr_t)dst | (uint32_t)n) & 3u) == 0) {
        const uint32_t word = (uint32_t)(uint8_t)value * 0x01010101u;
        v6m_word *d = (v6m_word *)dst;
        for (n >>= 2; n > 0; n--) {
            *d++ = word;
        }
    } else {
        for (; n > 0; n--) {
            *dst++ = value;
        }
    }
}

/* what v6m_mac_2x2 reads (offsets used by the assembly: keep the order) */
typedef struct {
    const int8_t *w;     /* 0: weights of the first channel (n bytes) */
    int32_t n;           /* 4: bytes per window, >= 1 */
    int32_t w_step;      /* 8: bytes from one channel's weights to the next */
    int32_t pairs;       /* 12: channel pairs, >= 1 */
    const int32_t *bias; /* 16: 2 * pairs start values (folded bias) */
    int32_t *acc;        /* 20: out: per pair {pixel 0 ch 0, pixel 1 ch 0, pixel 0 ch 1, pixel 1 ch 1} */
} v6m_job;

void v6m_mac_2x2(const int8_t *x0, const int8_t *x1, const v6m_job *job);
/* four pixels: v6m_mac_2x2 over x0, x1, then over x2, x3 in the same call, acc laid out for
 * v6m_requant_4px (per channel {pixel 0, 1, 2, 3}) */
typedef struct {
    v6m_job job;        /* 0-23: as for v6m_mac_2x2; acc: per channel 4 words */
    const int8_t *x2;   /* 24: the second pass's windows (non-zero) */
    const int8_t *x3;   /* 28 */
} v6m_quad_job;

void v6m_mac_2x2_quad(const int8_t *x0, const int8_t *x1, const v6m_quad_job *job);
/* the same for windows of a multiple of 4 bytes (every 1x1 layer of the zoo): the unrolled loop
 * entered at its top, without the computed jump (5 cycles a channel pair and pass) */
void v6m_mac_2x2_quad_whole(const int8_t *x0, const int8_t *x1, const v6m_quad_job *job);

/* four 2x2 steps (x0, x1 = r0, r1 + r4; w0, w1 = r2, r3 + r4; sums in r8-r11), r4 counting up */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_mac_steps\n"
    "    .rept 4\n"                /* 14 instructions, 28 bytes a step (the entry computation) */
    "    v6m_mac_step\n"
    "    .endr\n"
    "    .endm\n"
    "    .macro v6m_mac_step\n"
    "    ldrsb r5, [r0, r4]\n"     /* x0 */
    "    ldrsb r6, [r2, r4]\n"     /* w0 */
    "    mov r7, r5\n"
    "    muls r7, r6, r7\n"        /* x0 w0 */
    "    add r8, r7\n"
    "    ldrsb r7, [r3, r4]\n"     /* w1 */
    "    muls r5, r7, r5\n"        /* x0 w1: x0's last use */
    "    add r9, r5\n"
    "    ldrsb r5, [r1, r4]\n"     /* x1 */
    "    muls r6, r5, r6\n"        /* x1 w0: w0's last use */
    "    add r10, r6\n"
    "    muls r5, r7, r5\n"        /* x1 w1 */
    "    add r11, r5\n"
    "    adds r4, r4, #1\n"
    "    .endm\n");


/* r0 = x0, r1 = x1 (windows of n bytes), r2 = job. Locals: [sp] = -n, [sp, #4] = 2 * w_step, [sp, #12] = loop entry,
 * [sp, #8] = end of acc; r12 = acc, lr = bias (lr is saved by the push). The quad form keeps what
 * its second pass restarts from: [sp, #16/#20] = x2/x3 (x2 zeroed once it runs), [sp, #24/#28] =
 * the weights' ends, [sp, #32] = bias, [sp, #36] = acc + 8 (pixels 2 and 3's slots). */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_mac_2x2_fn name, quad, whole=0\n"
    "    .section .data.\\name,\"ax\",%progbits\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global \\name\n"
    "    .hidden \\name\n"
    "    .thumb_func\n"
    "    .type \\name, %function\n"
    "\\name:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #(16 + 24 * \\quad)\n"
    "    ldr r4, [r2, #4]\n"       /* n */
    "    adds r0, r0, r4\n"        /* x0 end */
    "    adds r1, r1, r4\n"        /* x1 end */
    "    ldr r3, [r2, #0]\n"
    "    adds r3, r3, r4\n"        /* w0 end */
    "    negs r4, r4\n"
    "    str r4, [sp, #0]\n"
    "    movs r5, #3\n"
    "    ands r5, r4\n"           /* steps to skip in the first round: (-n) & 3 */
    "    lsls r6, r5, #5\n"
    "    lsls r5, r5, #2\n"
    "    subs r6, r6, r5\n"       /* times 28 bytes a step */
    "    adr r5, 1f\n"
    "    adds r5, r5, r6\n"
    "    adds r5, r5, #1\n"       /* Thumb bit for BX */
    "    str r5, [sp, #12]\n"     /* entry into the unrolled loop */
    "    ldr r5, [r2, #8]\n"       /* w_step */
    "    adds r4, r3, r5\n"        /* w1 end */
    "    lsls r5, r5, #1\n"
    "    str r5, [sp, #4]\n"
    "    ldr r5, [r2, #16]\n"
    "    mov lr, r5\n"             /* bias */
    "    .if \\quad\n"
    "    str r5, [sp, #32]\n"
    "    ldr r5, [r2, #24]\n"
    "    str r5, [sp, #16]\n"      /* x2 */
    "    ldr r5, [r2, #28]\n"
    "    str r5, [sp, #20]\n"      /* x3 */
    "    str r3, [sp, #24]\n"      /* w0 end */
    "    str r4, [sp, #28]\n"      /* w1 end */
    "    .endif\n"
    "    ldr r5, [r2, #12]\n"      /* pairs */
    "    ldr r6, [r2, #20]\n"      /* acc */
    "    mov r12, r6\n"
    "    .if \\quad\n"
    "    movs r7, #8\n"
    "    adds r7, r7, r6\n"
    "    str r7, [sp, #36]\n"
    "    .endif\n"
    "    lsls r5, r5, #(4 + \\quad)\n" /* 16 (32 with quad) bytes of acc a pair */
    "    adds r5, r5, r6\n"
    "    str r5, [sp, #8]\n"       /* acc end */
    "    mov r2, r3\n"
    "    mov r3, r4\n"
    "2:\n"                         /* per channel pair: accumulators start at the bias */
    "    mov r4, lr\n"
    "    ldm r4!, {r5, r6}\n"
    "    mov lr, r4\n"
    "    mov r8, r5\n"             /* pixel 0, channel 0 */
    "    mov r10, r5\n"            /* pixel 1, channel 0 */
    "    mov r9, r6\n"             /* pixel 0, channel 1 */
    "    mov r11, r6\n"            /* pixel 1, channel 1 */
    "    ldr r4, [sp, #0]\n"
    "    .if !\\whole\n"            /* whole: n is a multiple of 4, the loop is entered at its top */
    "    ldr r5, [sp, #12]\n"
    "    bx r5\n"                  /* the first round runs n mod 4 steps (all 4 when n mod 4 = 0) */
    "    .endif\n"
    "    .balign 4\n"
    "1:\n"
    "    v6m_mac_steps\n"
    "    bne 1b\n"
    "    mov r4, r12\n"
    "    .if \\quad\n"               /* channel 0's pixels, 8 bytes skipped, channel 1's, 8 skipped */
    "    mov r5, r8\n"
    "    mov r6, r10\n"
    "    stm r4!, {r5, r6}\n"
    "    adds r4, r4, #8\n"
    "    mov r5, r9\n"
    "    mov r6, r11\n"
    "    stm r4!, {r5, r6}\n"
    "    adds r4, r4, #8\n"
    "    .else\n"
    "    mov r5, r8\n"
    "    mov r6, r10\n"
    "    mov r7, r9\n"
    "    stm r4!, {r5, r6, r7}\n"
    "    mov r5, r11\n"
    "    stm r4!, {r5}\n"
    "    .endif\n"
    "    mov r12, r4\n"
    "    ldr r5, [sp, #4]\n"
    "    adds r2, r2, r5\n"
    "    adds r3, r3, r5\n"
    "    ldr r5, [sp, #8]\n"
    "    cmp r4, r5\n"
    "    bne 2b\n"
    "    .if \\quad\n"              /* after pixels 0 and 1: once more for 2 and 3 */
    "    ldr r5, [sp, #16]\n"
    "    cmp r5, #0\n"
    "    beq 3f\n"
    "    ldr r4, [sp, #0]\n"       /* -n */
    "    subs r0, r5, r4\n"        /* x2 end */
    "    ldr r5, [sp, #20]\n"
    "    subs r1, r5, r4\n"        /* x3 end */
    "    movs r5, #0\n"
    "    str r5, [sp, #16]\n"
    "    ldr r2, [sp, #24]\n"
    "    ldr r3, [sp, #28]\n"
    "    ldr r5, [sp, #32]\n"
    "    mov lr, r5\n"
    "    ldr r5, [sp, #36]\n"
    "    mov r12, r5\n"
    "    ldr r5, [sp, #8]\n"
    "    adds r5, r5, #8\n"
    "    str r5, [sp, #8]\n"       /* acc end, 8 bytes on */
    "    b 2b\n"
    "3:\n"
    "    .endif\n"
    "    add sp, #(16 + 24 * \\quad)\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_mac_2x2_fn v6m_mac_2x2, 0\n"
    "    v6m_mac_2x2_fn v6m_mac_2x2_quad, 1\n"
    "    v6m_mac_2x2_fn v6m_mac_2x2_quad_whole, 1, 1\n"
    "    .text\n");

/* v6m_mac_2x2 for windows read in place as `rows` runs of `span` bytes, `row_stride` apart (a
 * first layer's inside windows: no copy). w_step must be n = rows * span, or 0 with pairs = 1. */
typedef struct {
    v6m_job job;        /* 0-23: as for v6m_mac_2x2, job.n = rows * span */
    int32_t span;       /* 24: bytes of a window row, >= 1 */
    int32_t row_stride; /* 28: input bytes from one window row to the next */
    int32_t rows;       /* 32: >= 1 */
} v6m_rows_job;

void v6m_mac_2x2_rows(const int8_t *x0, const int8_t *x1, const v6m_rows_job *job);

/* Registers as in v6m_mac_2x2, ends of the current row. Locals: [sp] = -span, [sp, #4] =
 * 2 * w_step - n (weights after a pair's rows -> next pair), [sp, #8] = end of acc, [sp, #12] =
 * loop entry, [sp, #16] = row_stride, [sp, #20] = rows, [sp, #24] = rows left, [sp, #28] =
 * rows * row_stride. Per window row ~17 cycles beyond the steps. */
__asm__(
    "    .section .text.v6m_mac_2x2_rows,\"ax\",%progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_mac_2x2_rows\n"
    "    .hidden v6m_mac_2x2_rows\n"
    "    .thumb_func\n"
    "    .type v6m_mac_2x2_rows, %function\n"
    "v6m_mac_2x2_rows:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #32\n"
    "    ldr r4, [r2, #24]\n"      /* span */
    "    adds r0, r0, r4\n"        /* x0 row end */
    "    adds r1, r1, r4\n"        /* x1 row end */
    "    ldr r3, [r2, #0]\n"
    "    adds r3, r3, r4\n"        /* w0 row end */
    "    negs r4, r4\n"
    "    str r4, [sp, #0]\n"
    "    movs r5, #3\n"
    "    ands r5, r4\n"           /* steps to skip in a row's first round: (-span) & 3 */
    "    lsls r6, r5, #5\n"
    "    lsls r5, r5, #2\n"
    "    subs r6, r6, r5\n"       /* times 28 bytes a step */
    "    adr r5, 1f\n"
    "    adds r5, r5, r6\n"
    "    adds r5, r5, #1\n"
    "    str r5, [sp, #12]\n"
    "    ldr r5, [r2, #8]\n"       /* w_step */
    "    adds r4, r3, r5\n"        /* w1 row end */
    "    lsls r5, r5, #1\n"
    "    ldr r6, [r2, #4]\n"       /* n */
    "    subs r5, r5, r6\n"
    "    str r5, [sp, #4]\n"
    "    ldr r5, [r2, #28]\n"
    "    str r5, [sp, #16]\n"      /* row_stride */
    "    ldr r6, [r2, #32]\n"
    "    str r6, [sp, #20]\n"      /* rows */
    "    muls r5, r6, r5\n"
    "    str r5, [sp, #28]\n"      /* rows * row_stride */
    "    ldr r5, [r2, #16]\n"
    "    mov lr, r5\n"             /* bias */
    "    ldr r5, [r2, #12]\n"      /* pairs */
    "    ldr r6, [r2, #20]\n"      /* acc */
    "    mov r12, r6\n"
    "    lsls r5, r5, #4\n"
    "    adds r5, r5, r6\n"
    "    str r5, [sp, #8]\n"       /* acc end */
    "    mov r2, r3\n"
    "    mov r3, r4\n"
    "2:\n"                         /* per channel pair: accumulators start at the bias */
    "    mov r4, lr\n"
    "    ldm r4!, {r5, r6}\n"
    "    mov lr, r4\n"
    "    mov r8, r5\n"
    "    mov r10, r5\n"
    "    mov r9, r6\n"
    "    mov r11, r6\n"
    "    ldr r4, [sp, #20]\n"
    "    str r4, [sp, #24]\n"      /* rows left */
    "5:\n"                         /* per window row */
    "    ldr r4, [sp, #0]\n"
    "    ldr r5, [sp, #12]\n"
    "    bx r5\n"
    "    .balign 4\n"
    "1:\n"
    "    v6m_mac_steps\n"
    "    bne 1b\n"
    "    ldr r5, [sp, #16]\n"
    "    adds r0, r0, r5\n"        /* next input row */
    "    adds r1, r1, r5\n"
    "    ldr r5, [sp, #0]\n"
    "    subs r2, r2, r5\n"        /* weights: + span */
    "    subs r3, r3, r5\n"
    "    ldr r5, [sp, #24]\n"
    "    subs r5, r5, #1\n"
    "    str r5, [sp, #24]\n"
    "    bne 5b\n"
    "    ldr r5, [sp, #28]\n"
    "    subs r0, r0, r5\n"        /* back to the windows' first rows */
    "    subs r1, r1, r5\n"
    "    mov r4, r12\n"
    "    mov r5, r8\n"
    "    mov r6, r10\n"
    "    mov r7, r9\n"
    "    stm r4!, {r5, r6, r7}\n"
    "    mov r5, r11\n"
    "    stm r4!, {r5}\n"
    "    mov r12, r4\n"
    "    ldr r5, [sp, #4]\n"
    "    adds r2, r2, r5\n"
    "    adds r3, r3, r5\n"
    "    ldr r5, [sp, #8]\n"
    "    cmp r4, r5\n"
    "    bne 2b\n"
    "    add sp, #32\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size v6m_mac_2x2_rows, .-v6m_mac_2x2_rows\n"
    "    .text\n");

/* v6m_mac_2x2_rows for the RGB first layers' windows (3 rows of 9 bytes: 3x3 filters over 3 input
 * channels, VWW and MCUNet conv #0), fully unrolled: the 27 steps run straight, the input pointers
 * jump to the next window row between the runs (ADD from r12), no per-row loop set-up or computed
 * entry (~526 cycles a channel pair and pixel pair against ~600). In flash: it serves only those
 * layers, whose small weights are read from the stack. */
void v6m_mac_2x2_3x9(const int8_t *x0, const int8_t *x1, const v6m_rows_job *job);

/* r0/r1 = the windows' current rows, r2/r3 = w0/w1, r4 = step index (0..26 over a channel's weights;
 * the input pointers are moved back by 9 each row, so [r0, r4] is the row's byte), r12 = row_stride
 * - 9, lr = bias. Locals: [sp] = acc, [sp, #4] = 2 * w_step, [sp, #8] = end of acc, [sp, #12] =
 * 2 * (row_stride - 9) (the rewind after a pair). */
__asm__(
    "    .section .text.v6m_mac_2x2_3x9,\"ax\",%progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_mac_2x2_3x9\n"
    "    .hidden v6m_mac_2x2_3x9\n"
    "    .thumb_func\n"
    "    .type v6m_mac_2x2_3x9, %function\n"
    "v6m_mac_2x2_3x9:\n"
    V6M_SAVE_R4_R11
    "    sub sp, #16\n"
    "    ldr r3, [r2, #28]\n"      /* row_stride */
    "    subs r3, r3, #9\n"
    "    mov r12, r3\n"
    "    lsls r3, r3, #1\n"
    "    str r3, [sp, #12]\n"
    "    ldr r5, [r2, #8]\n"       /* w_step */
    "    lsls r6, r5, #1\n"
    "    str r6, [sp, #4]\n"
    "    ldr r3, [r2, #0]\n"       /* w0 */
    "    adds r4, r3, r5\n"        /* w1 */
    "    ldr r5, [r2, #16]\n"
    "    mov lr, r5\n"             /* bias */
    "    ldr r5, [r2, #12]\n"      /* pairs */
    "    ldr r6, [r2, #20]\n"      /* acc */
    "    str r6, [sp, #0]\n"
    "    lsls r5, r5, #4\n"
    "    adds r5, r5, r6\n"
    "    str r5, [sp, #8]\n"       /* acc end */
    "    mov r2, r3\n"
    "    mov r3, r4\n"
    "2:\n"
    "    mov r4, lr\n"
    "    ldm r4!, {r5, r6}\n"
    "    mov lr, r4\n"
    "    mov r8, r5\n"
    "    mov r10, r5\n"
    "    mov r9, r6\n"
    "    mov r11, r6\n"
    "    movs r4, #0\n"
    "    .rept 9\n"
    "    v6m_mac_step\n"
    "    .endr\n"
    "    add r0, r12\n"
    "    add r1, r12\n"
    "    .rept 9\n"
    "    v6m_mac_step\n"
    "    .endr\n"
    "    add r0, r12\n"
    "    add r1, r12\n"
    "    .rept 9\n"
    "    v6m_mac_step\n"
    "    .endr\n"
    "    ldr r4, [sp, #12]\n"
    "    subs r0, r0, r4\n"        /* back to the windows' first rows */
    "    subs r1, r1, r4\n"
    "    ldr r4, [sp, #0]\n"
    "    mov r5, r8\n"
    "    mov r6, r10\n"
    "    mov r7, r9\n"
    "    stm r4!, {r5, r6, r7}\n"
    "    mov r5, r11\n"
    "    stm r4!, {r5}\n"
    "    str r4, [sp, #0]\n"
    "    ldr r5, [sp, #4]\n"
    "    adds r2, r2, r5\n"
    "    adds r3, r3, r5\n"
    "    ldr r5, [sp, #8]\n"
    "    cmp r4, r5\n"
    "    beq 3f\n"                 /* the unrolled body is beyond BNE's reach */
    "    b 2b\n"
    "3:\n"
    "    add sp, #16\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size v6m_mac_2x2_3x9, .-v6m_mac_2x2_3x9\n"
    "    .text\n");

/* here rather than at the top: the functions keep the order they had in one file (with the
 * requantisation routines first, vww_96_int8 measured 0.35% slower: code placement) */
#include "v6m_requant.h"
#include "v6m_packed.h"

#define PACK_WORDS 384     /* packed weights on the stack (1.5 KB): 8 channel pairs of windows up to 46 bytes */
#define PACK_MIN_PIXELS 8  /* pixels of a block in a tile from which packing its weights pays */

/* the block's channels [c_begin, c_begin + n) for two windows (x1 may repeat x0); odd n: the last
 * channel runs as a pair of itself (w_step 0) */
static void block_2px(const int32_t *bias, const int8_t *x0, const int8_t *x1, const int8_t *w, int32_t window,
                      int32_t n, int32_t *acc)
{
    v6m_job job;
    job.w = w;
    job.n = window;
    job.w_step = window;
    job.pairs = n >> 1;
    job.bias = bias;
    job.acc = acc;
    if (job.pairs > 0) {
        v6m_mac_2x2(x0, x1, &job);
    }
    if (n & 1) {
        int32_t odd_bias[2];
        odd_bias[0] = odd_bias[1] = bias[n - 1];
        job.w = w + (n - 1) * window;
        job.w_step = 0;
        job.pairs = 1;
        job.bias = odd_bias;
        job.acc = acc + 2 * (n - 1);
        v6m_mac_2x2(x0, x1, &job);
    }
}

/* block_2px for four windows into v6m_requant_4px's layout (per channel 4 words); acc holds
 * 4 * (n + 1) words (an odd last channel's pair-of-itself writes a spare channel's slots) */
static void block_2px_quad(const int32_t *bias, const int8_t *const x[4], const int8_t *w, int32_t window,
                           int32_t n, int32_t *acc)
{
    void (*kernel)(const int8_t *, const int8_t *, const v6m_quad_job *) =
        (window & 3) == 0 ? v6m_mac_2x2_quad_whole : v6m_mac_2x2_quad;
    v6m_quad_job job;
    job.job.w = w;
    job.job.n = window;
    job.job.w_step = window;
    job.job.pairs = n >> 1;
    job.job.bias = bias;
    job.job.acc = acc;
    job.x2 = x[2];
    job.x3 = x[3];
    if (job.job.pairs > 0) {
        kernel(x[0], x[1], &job);
    }
    if (n & 1) {
        int32_t odd_bias[2];
        odd_bias[0] = odd_bias[1] = bias[n - 1];
        job.job.w = w + (n - 1) * window;
        job.job.w_step = 0;
        job.job.pairs = 1;
        job.job.bias = odd_bias;
        job.job.acc = acc + 4 * (n - 1);
        kernel(x[0], x[1], &job);
    }
}

/* block_2px over windows read in place: `rows` runs of window / rows bytes, row_stride apart */
static void block_2px_rows(const int32_t *bias, const int8_t *x0, const int8_t *x1, const int8_t *w,
                           int32_t window, int32_t n, int32_t rows, int32_t row_stride, int32_t *acc)
{
    void (*kernel)(const int8_t *, const int8_t *, const v6m_rows_job *) = v6m_mac_2x2_rows;
    v6m_rows_job job;
    job.job.w = w;
    job.job.n = window;
    job.job.w_step = window;
    job.job.pairs = n >> 1;
    job.job.bias = bias;
    job.job.acc = acc;
    job.span = window / rows;
    job.row_stride = row_stride;
    job.rows = rows;
    if (rows == 3 && job.span == 9) {
        kernel = v6m_mac_2x2_3x9;
    }
    if (job.job.pairs > 0) {
        kernel(x0, x1, &job);
    }
    if (n & 1) {
        int32_t odd_bias[2];
        odd_bias[0] = odd_bias[1] = bias[n - 1];
        job.job.w = w + (n - 1) * window;
        job.job.w_step = 0;
        job.job.pairs = 1;
        job.job.bias = odd_bias;
        job.job.acc = acc + 2 * (n - 1);
        kernel(x0, x1, &job);
    }
}

/* copy output pixel (iy0, ix0)'s window (filter_h x filter_w x in_c bytes, the weights' order) to
 * buf; taps outside the input read the zero point */
static void gather_window(const ariel_conv_geometry *g, const int8_t *image, int32_t iy0, int32_t ix0,
                          int8_t zero_point, int8_t *buf)
{
    const int32_t in_c = g->in_c;
    const int32_t span = g->filter_w * in_c;
    const int columns_inside = g->dilation_w == 1 && ix0 >= 0 && ix0 + g->filter_w <= g->in_w;
    int32_t ky, kx;
    for (ky = 0; ky < g->filter_h; ky++) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        const int8_t *src_row = image + iy * g->in_w * in_c;
        if (iy < 0 || iy >= g->in_h) {
            fill_run(buf, zero_point, span);
            buf += span;
        } else if (columns_inside) { /* the filter row is one run of the input row */
            copy_run(buf, src_row + ix0 * in_c, span);
            buf += span;
        } else {
            for (kx = 0; kx < g->filter_w; kx++, buf += in_c) {
                const int32_t ix = ix0 + kx * g->dilation_w;
                if (ix >= 0 && ix < g->in_w) {
                    copy_run(buf, src_row + ix * in_c, in_c);
                } else {
                    fill_run(buf, zero_point, in_c);
                }
            }
        }
    }
}

/* v6m_mac_xpacked_2px over n channels (weights w, biases bias) for windows of `window` bytes (even)
 * whose pixel pair is packed in xbuf (packed here first if pack_x); an odd last channel runs as a
 * pair of itself (w_step 0) */
static void xpacked_pair(const int32_t *bias, const int8_t *x0, const int8_t *x1, const int8_t *w, int32_t window,
                         int32_t n, int32_t *acc, int32_t *xbuf, int pack_x)
{
    v6m_xpacked_job job;
    if (pack_x) {
        v6m_pack_pixels(x0, x1, window, xbuf);
    }
    job.x = xbuf;
    job.n = window;
    job.w = w;
    job.w_step = window;
    job.pairs = n >> 1;
    job.bias = bias;
    job.acc = acc;
    job.start_h = (uint32_t)(window >> 1) * 0x7FFFu;
    job.start_s = (uint32_t)(window >> 1) * 0x7FFF7FFFu;
    if (job.pairs > 0) {
        v6m_mac_xpacked_2px(&job);
    }
    if (n & 1) {
        job.w = w + (n - 1) * window;
        job.w_step = 0;
        job.pairs = 1;
        job.bias = bias + n - 1;
        job.acc = acc + 2 * (n - 1);
        v6m_mac_xpacked_2px(&job);
    }
}

/* A 1x1 block whose tile has too few pixels to pay for packing its weights (conv_1x1_quads), even
 * windows that fit xbuf: pixel pairs on packed inputs (v6m_mac_xpacked_2px), the last odd pixel as
 * a pair of itself. */
static void xpacked_block(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                          int32_t first, int32_t end, int32_t c_begin, int32_t n, block_requant *rq, int32_t *acc,
                          int32_t *xbuf)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const int8_t *w = weights + c_begin * g->in_c;
    const int8_t *x0 = 0;
    int8_t *out0 = 0;
    int32_t item;
    for (item = first; item < end; item += blocks) {
        const int32_t r = item / blocks;
        const int32_t batch = r / g->out_h;
        const int32_t oy = r - batch * g->out_h;
        const int8_t *pixel = input + ((batch * g->in_h + oy * g->stride_h) * g->in_w) * g->in_c;
        int8_t *out = output + r * g->out_w * g->out_c + c_begin;
        int32_t ox;
        for (ox = 0; ox < g->out_w; ox++, out += g->out_c, pixel += g->stride_w * g->in_c) {
            if (out0 == 0) {
                x0 = pixel;
                out0 = out;
            } else {
                xpacked_pair(p->bias + c_begin, x0, pixel, w, g->in_c, n, acc, xbuf, 1);
                requant_2px(p, rq, acc, out0, out);
                out0 = 0;
            }
        }
    }
    if (out0 != 0) {
        xpacked_pair(p->bias + c_begin, x0, x0, w, g->in_c, n, acc, xbuf, 1);
        requant_2px(p, rq, acc, out0, 0);
    }
}

/* 1x1 CONV_2D without padding, windows read in place, pixels in fours: a channel block's items are
 * taken together (consecutive output rows, so the block's pixels follow each other in the output,
 * out_c bytes apart, across row ends too) and every four pixels run as two 2x2 passes into one
 * accumulator block, requantised together (v6m_requant_4px: a channel's constants loaded once per
 * four outputs instead of two). The block's last 1-3 pixels run as pairs.
 * With PACK_MIN_PIXELS pixels or more in the block's part of the tile, the fours run on packed
 * weights (v6m_packed.h: 27 cycles per 8 MACs against 36), built on the stack for as many channel
 * pairs as PACK_WORDS holds at a time; the pixels are walked once per such chunk. */
static void conv_1x1_quads(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                           int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t window = g->in_c;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    int32_t acc[4 * (ARIEL_CONV_MAX_CHANNEL_BLOCK + 1)];
    int32_t packed[PACK_WORDS];
    int32_t b;
    if (end <= begin) {
        return;
    }
    for (b = 0; b < blocks; b++) {
        const int32_t first = begin + (b - begin % blocks + blocks) % blocks; /* first item of block b */
        int32_t row, c_begin, c_end, item, n, pending = 0, pairs, chunk, pc;
        const int8_t *x[4];
        int8_t *out0 = 0;
        const int32_t *bias;
        const int8_t *w;
        block_requant rq, slice;
        int use_packed, xpacked_ok;
        int32_t pixels;
        void (*packed_kernel)(const int8_t *, const int8_t *, const v6m_packed_job *) =
            (((uint32_t)window & 3) | ((uint32_t)(uintptr_t)input & 1)) == 0 ? v6m_mac_packed_quad_whole_h
                                                                             : v6m_mac_packed_quad;
        if (first >= end) {
            continue;
        }
        ariel_conv_place(g, first, &row, &c_begin, &c_end);
        n = c_end - c_begin;
        bias = p->bias + c_begin;
        w = weights + c_begin * window;
        block_requant_init(p, c_begin, n, &rq);
        pairs = (n + 1) >> 1;
        chunk = PACK_WORDS / (window + 2);
        pixels = ((end - first + blocks - 1) / blocks) * g->out_w;
        xpacked_ok = (((uint32_t)window | (uint32_t)(uintptr_t)weights) & 1) == 0 && window <= PACK_WORDS;
        /* packing costs ~2.4 cycles a weight per tile, or ~2.4 an input byte per pixel and block, so about
         * the same from one pixel a channel; packed weights then serve four pixels a pass and their
         * requantisation four outputs a channel's constants: measured best from 1.5 pixels a channel
         * (VWW's 6x6 layers, 18 pixels a core, on pixel pairs; MCUNet's 8x8, 32 a core, on weights) */
        use_packed = chunk > 0 && pixels >= PACK_MIN_PIXELS && (!xpacked_ok || 2 * pixels > 3 * n);
        if (!use_packed && xpacked_ok) {
            xpacked_block(p, input, weights, output, first, end, c_begin, n, &rq, acc, packed);
            continue;
        }
        if (!use_packed || chunk > pairs) {
            chunk = pairs;
        }
        for (pc = 0; pc < pairs; pc += chunk) {
            const int32_t c0 = 2 * pc;
            const int32_t count = 2 * chunk < n - c0 ? 2 * chunk : n - c0;
            block_requant *r = &rq;
            v6m_packed_job job;
            if (use_packed) {
                v6m_pack_pairs(w + c0 * window, bias + c0, window, count, (uint32_t)(window + 1) >> 1, packed);
                if (count != n) {
                    block_requant_slice(&rq, c0, count, &slice);
                    r = &slice;
                }
                job.packed = packed;
                job.n = window;
                job.pairs = (count + 1) >> 1;
                job.acc = acc;
            }
            pending = 0;
            for (item = first; item < end; item += blocks) {
                const int32_t r_ = item / blocks;
                const int32_t batch = r_ / g->out_h;
                const int32_t oy = r_ - batch * g->out_h;
                const int8_t *pixel = input + ((batch * g->in_h + oy * g->stride_h) * g->in_w) * g->in_c;
                int8_t *out = output + r_ * g->out_w * g->out_c + c_begin;
                int32_t ox;
                for (ox = 0; ox < g->out_w; ox++, out += g->out_c, pixel += g->stride_w * g->in_c) {
                    if (pending == 0) {
                        out0 = out;
                    }
                    x[pending++] = pixel;
                    if (pending == 4) {
                        if (use_packed) {
                            job.x2 = x[2];
                            job.x3 = x[3];
                            packed_kernel(x[0], x[1], &job);
                            requant_4px(p, r, acc, out0 + c0, g->out_c);
                        } else {
                            block_2px_quad(bias, x, w, window, n, acc);
                            requant_4px(p, &rq, acc, out0, g->out_c);
                        }
                        pending = 0;
                    }
                }
            }
            if (use_packed && pending == 3) { /* the last three pixels as four, the fourth to spare */
                int8_t spare[ARIEL_CONV_MAX_CHANNEL_BLOCK];
                const int32_t delta[3] = {g->out_c, 2 * g->out_c, (int32_t)(spare - (out0 + c0))};
                job.x2 = x[2];
                job.x3 = x[2];
                packed_kernel(x[0], x[1], &job);
                requant_4px_at(p, r, acc, out0 + c0, delta);
            } else if (use_packed && pending > 0) { /* one pass (x2 = 0), its sums moved to requant_2px's layout */
                int32_t k;
                job.x2 = 0;
                packed_kernel(x[0], pending > 1 ? x[1] : x[0], &job);
                for (k = 0; k < count; k++) {
                    acc[2 * k] = acc[4 * k];
                    acc[2 * k + 1] = acc[4 * k + 1];
                }
                requant_2px(p, r, acc, out0 + c0, pending > 1 ? out0 + c0 + g->out_c : 0);
            }
        }
        if (use_packed) {
            continue;
        }
        if (pending >= 2) {
            block_2px(bias, x[0], x[1], w, window, n, acc);
            requant_2px(p, &rq, acc, out0, out0 + g->out_c);
            x[0] = x[2];
            out0 += 2 * g->out_c;
            pending -= 2;
        }
        if (pending == 1) {
            block_2px(bias, x[0], x[0], w, window, n, acc);
            requant_2px(p, &rq, acc, out0, 0);
        }
    }
}

/* Ungrouped CONV_2D, pixels in pairs. The work items of one channel block are taken together (items
 * b, b + blocks, ...: consecutive output rows), so a row's odd last pixel pairs with the next row's
 * first; only the block's very last pixel may run as a pair of itself. in_place: 1x1 filter without
 * padding, a pixel's window is its in_c input bytes; otherwise each window is copied to a stack slot
 * (gather_window). Every work item is computed once, whatever the order. */
static void conv_pairs(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                       int32_t begin, int32_t end, int in_place)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t window = g->filter_h * g->filter_w * g->in_c;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const int8_t zero_point = (int8_t)p->input_zero_point;
    int32_t buf_words[2 * IM2COL_MAX / 4]; /* word-aligned for copy_run */
    int8_t *buf = (int8_t *)buf_words;
    int32_t acc[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK + 2];
    int32_t b;
    if (end <= begin) {
        return;
    }
    for (b = 0; b < blocks; b++) {
        const int32_t first = begin + (b - begin % blocks + blocks) % blocks; /* first item of block b */
        int32_t row, c_begin, c_end, item;
        const int8_t *x0 = 0;
        int8_t *out0 = 0;
        block_requant rq;
        if (first >= end) {
            continue;
        }
        ariel_conv_place(g, first, &row, &c_begin, &c_end);
        block_requant_init(p, c_begin, c_end - c_begin, &rq);
        for (item = first; item < end; item += blocks) {
            const int32_t r = item / blocks;
            const int32_t batch = r / g->out_h;
            const int32_t oy = r - batch * g->out_h;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            int8_t *out = output + r * g->out_w * g->out_c + c_begin;
            int32_t ox;
            for (ox = 0; ox < g->out_w; ox++, out += g->out_c) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                const int8_t *x;
                if (in_place) {
                    x = image + (iy0 * g->in_w + ix0) * g->in_c;
                } else {
                    int8_t *slot = out0 == 0 ? buf : buf + window;
                    gather_window(g, image, iy0, ix0, zero_point, slot);
                    x = slot;
                }
                if (out0 == 0) {
                    x0 = x;
                    out0 = out;
                } else {
                    block_2px(p->bias + c_begin, x0, x, weights + c_begin * window, window, c_end - c_begin, acc);
                    requant_2px(p, &rq, acc, out0, out);
                    out0 = 0;
                }
            }
        }
        if (out0 != 0) {
            block_2px(p->bias + c_begin, x0, x0, weights + c_begin * window, window, c_end - c_begin, acc);
            requant_2px(p, &rq, acc, out0, 0);
        }
    }
}

#define SMALL_WEIGHTS 512 /* bytes of weights a copied-window convolution reads from a stack copy */
#define ROW_MAJOR_BLOCKS 4 /* copied windows shared by up to 4 channel blocks (64 output channels) */

/* Copied windows, a row at a time: each pixel pair's windows are gathered once and used by every
 * channel block of the row in [begin, end) (kws's first layer has 4 blocks of 16 channels over a
 * 40-byte window: gathering per block cost about as much as its MACs). A row's odd last pixel pairs
 * with the next row's first when both rows have the same blocks in the range. */
static void pair_blocks(const ariel_conv_params *p, const int32_t *bias, const int8_t *weights, int32_t window,
                        const int8_t *x0, const int8_t *x1, int8_t *out0, int8_t *out1, block_requant *rq,
                        int32_t b_first, int32_t b_end, int32_t *acc, int32_t rows, int32_t row_stride,
                        const int32_t *packed, int32_t *xbuf)
{
    int32_t b;
    for (b = b_first; b < b_end; b++) {
        const int32_t c_begin = rq[b].c_begin;
        if (packed != 0) { /* RGB 3x3: packed weights (v6m_mac_packed_3x9), windows in place or copied */
            v6m_packed_rows_job job;
            job.packed = packed + (c_begin >> 1) * (27 + 2);
            job.pairs = (rq[b].n + 1) >> 1;
            job.row_stride = rows > 0 ? row_stride : 9;
            job.acc = acc;
            v6m_mac_packed_3x9(x0, x1, &job);
        } else if (rows > 0) {
            block_2px_rows(bias + c_begin, x0, x1, weights + c_begin * window, window, rq[b].n, rows, row_stride,
                           acc);
        } else if (xbuf != 0) { /* copied windows as a packed pixel pair, packed once for the blocks */
            xpacked_pair(bias + c_begin, x0, x1, weights + c_begin * window, window, rq[b].n, acc, xbuf, b == b_first);
        } else {
            block_2px(bias + c_begin, x0, x1, weights + c_begin * window, window, rq[b].n, acc);
        }
        requant_2px(p, &rq[b], acc, out0 + c_begin, out1 != 0 ? out1 + c_begin : 0);
    }
}

static void conv_copied_rows(const ariel_conv_params *p, const int8_t *input, const int8_t *weights,
                             int8_t *output, int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t window = g->filter_h * g->filter_w * g->in_c;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const int8_t zero_point = (int8_t)p->input_zero_point;
    int32_t buf_words[2 * IM2COL_MAX / 4]; /* word-aligned for copy_run; slot 0 holds a pending pixel */
    int8_t *buf = (int8_t *)buf_words;
    int32_t acc[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK + 2];
    block_requant rq[ROW_MAJOR_BLOCKS];
    int ready[ROW_MAJOR_BLOCKS] = {0};
    int8_t *pending = 0; /* output of the pixel whose window is in slot 0, waiting for a partner */
    const int8_t *pending_direct = 0; /* its window in the input, when read in place (not in slot 0) */
    int32_t pending_first = 0, pending_end = 0;
    int32_t item = begin;
    const int32_t span = g->filter_w * g->in_c;
    const int32_t row_stride = g->dilation_h * g->in_w * g->in_c;
    /* Windows inside the input can be read in place, filter_h runs of span bytes: that costs ~17
     * cycles per window row and channel pair in the MAC kernel, against gathering the two windows
     * (~150 + filter_h * (60 + 8 * span) cycles each, measured ~465 for VWW's 3x3x3). Worth it for few
     * channels over short rows (VWW / MCUNet conv #0: 4-8 channel pairs, 3 rows), not for kws's 64
     * channels over 10 rows of 4 bytes. */
    const int32_t pairs_in_row = (g->out_c + 1) >> 1;
    const int direct_pays = g->dilation_w == 1 &&
                            pairs_in_row * g->filter_h * 17 < 2 * (150 + g->filter_h * (60 + 8 * span));
    /* Small layers (first layers: VWW 216 weight bytes, MCUNet 432) read their weights and biases from
     * a copy in the unused end of buf (the two windows take 2 x window bytes): from flash they would
     * share the XIP cache with the code for every pixel pair (VWW conv #0 6.2M -> 5.0M cycles). */
    const int32_t windows_words = (2 * window + 3) / 4;
    const int32_t weight_words = (g->out_c * window + 3) / 4;
    const int32_t *bias = p->bias;
    const int32_t *packed = 0;
    int32_t *xbuf = 0;
    if (window == 27 && g->filter_h == 3 && span == 9 && (g->channel_block & 1) == 0 &&
        windows_words + ((g->out_c + 1) >> 1) * (27 + 2) <= (int32_t)(sizeof buf_words / sizeof buf_words[0])) {
        /* RGB 3x3 (VWW / MCUNet conv #0): packed weights in the unused end of buf (v6m_packed.h) */
        v6m_pack_pairs(weights, p->bias, 27, g->out_c, V6M_3X9_STEPS, buf_words + windows_words);
        packed = buf_words + windows_words;
    } else if (g->out_c * window <= SMALL_WEIGHTS &&
        windows_words + weight_words + g->out_c <= (int32_t)(sizeof buf_words / sizeof buf_words[0])) {
        int32_t *weights_copy = buf_words + windows_words;
        int32_t *bias_copy = weights_copy + weight_words;
        copy_run((int8_t *)weights_copy, weights, g->out_c * window);
        for (item = 0; item < g->out_c; item++) {
            bias_copy[item] = p->bias[item];
        }
        weights = (const int8_t *)weights_copy;
        bias = bias_copy;
        item = begin;
    }
    /* copied windows of an even number of bytes run as a packed pixel pair (v6m_mac_xpacked_2px) on the
     * weights in place: kws's 10x4 first layer, 40 bytes over 64 channels (X in the unused end of buf) */
    if (packed == 0 && ((uint32_t)window & 1) == 0 && ((uint32_t)(uintptr_t)weights & 1) == 0) {
        const int32_t used = windows_words + (weights == (const int8_t *)(buf_words + windows_words)
                                                  ? weight_words + g->out_c : 0);
        if (used + window <= (int32_t)(sizeof buf_words / sizeof buf_words[0])) {
            xbuf = buf_words + used;
        }
    }
    while (item < end) {
        const int32_t r = item / blocks;
        const int32_t b_first = item - r * blocks;
        const int32_t b_end = end - item < blocks - b_first ? b_first + (end - item) : blocks;
        const int32_t batch = r / g->out_h;
        const int32_t oy = r - batch * g->out_h;
        const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
        const int32_t iy0 = oy * g->stride_h - g->pad_top;
        const int rows_inside = iy0 >= 0 && iy0 + (g->filter_h - 1) * g->dilation_h < g->in_h;
        int8_t *out = output + r * g->out_w * g->out_c;
        int32_t ox, b;
        for (b = b_first; b < b_end; b++) {
            if (!ready[b]) {
                const int32_t c_begin = b * g->channel_block;
                const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
                block_requant_init(p, c_begin, c_end - c_begin, &rq[b]);
                ready[b] = 1;
            }
        }
        if (pending != 0 && (pending_first != b_first || pending_end != b_end)) {
            if (pending_direct != 0) {
                pair_blocks(p, bias, weights, window, pending_direct, pending_direct, pending, 0, rq, pending_first,
                            pending_end, acc, g->filter_h, row_stride, packed, xbuf);
            } else {
                pair_blocks(p, bias, weights, window, buf, buf, pending, 0, rq, pending_first, pending_end, acc, 0, 0,
                            packed, xbuf);
            }
            pending = 0;
        }
        for (ox = 0; ox < g->out_w; ox++, out += g->out_c) {
            const int32_t ix0 = ox * g->stride_w - g->pad_left;
            const int8_t *direct = direct_pays && rows_inside && ix0 >= 0 && ix0 + g->filter_w <= g->in_w
                                       ? image + (iy0 * g->in_w + ix0) * g->in_c
                                       : 0;
            if (pending == 0) {
                pending_direct = direct;
                if (direct == 0) {
                    gather_window(g, image, iy0, ix0, zero_point, buf);
                }
                pending = out;
                pending_first = b_first;
                pending_end = b_end;
            } else if (pending_direct != 0 && direct != 0) {
                pair_blocks(p, bias, weights, window, pending_direct, direct, pending, out, rq, b_first, b_end, acc,
                            g->filter_h, row_stride, packed, xbuf);
                pending = 0;
            } else {
                if (pending_direct != 0) { /* copy the pending window's rows to slot 0 */
                    int32_t ky;
                    for (ky = 0; ky < g->filter_h; ky++) {
                        copy_run(buf + ky * span, pending_direct + ky * row_stride, span);
                    }
                }
                gather_window(g, image, iy0, ix0, zero_point, buf + window);
                pair_blocks(p, bias, weights, window, buf, buf + window, pending, out, rq, b_first, b_end, acc, 0, 0,
                            packed, xbuf);
                pending = 0;
            }
        }
        item += b_end - b_first;
    }
    if (pending != 0) {
        if (pending_direct != 0) {
            pair_blocks(p, bias, weights, window, pending_direct, pending_direct, pending, 0, rq, pending_first,
                        pending_end, acc, g->filter_h, row_stride, packed, xbuf);
        } else {
            pair_blocks(p, bias, weights, window, buf, buf, pending, 0, rq, pending_first, pending_end, acc, 0, 0,
                            packed, xbuf);
        }
    }
}

/* the portable loop in a frame of its own (inlined, its locals would sit under every path's frame) */
static NOINLINE void conv_portable(const ariel_conv_params *p, void *const *buffers, int32_t begin, int32_t end)
{
    conv_q8(p, buffers, begin, end, 0);
}

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[3];
    if (g->groups == 1 && g->filter_h == 1 && g->filter_w == 1 && g->pad_top == 0 && g->pad_left == 0) {
        conv_1x1_quads(p, input, weights, output, begin, end);
    } else if (g->groups == 1 && g->filter_h * g->filter_w * g->in_c <= IM2COL_MAX) {
        if ((g->out_c + g->channel_block - 1) / g->channel_block <= ROW_MAJOR_BLOCKS) {
            conv_copied_rows(p, input, weights, output, begin, end);
        } else {
            conv_pairs(p, input, weights, output, begin, end, 0);
        }
    } else {
        conv_portable(p, buffers, begin, end);
    }
}

/* ---- DEPTHWISE_CONV_2D, depth multiplier 1 ---------------------------------------------------------
 * Two horizontally adjacent output pixels per channel share each weight load: per tap LDRSB x0, x1
 * and w, two MULS (each destroying its input byte, w survives), two ADDs to r8/r9, the weight index
 * and the input pointer stepped: 12 cycles per 2 MACs. Square 3x3, 5x5 and 7x7 filters (one
 * function each) are unrolled whole. Windows that cross the border are
 * copied to a stack buffer, channels innermost (zero point for padded taps), and run through the
 * same code. */
typedef struct {
    const int8_t *w;     /* 0: packed weights of the block's first channel ([channel][taps]) */
    int32_t taps;        /* 4: filter_h * filter_w */
    int32_t dx;          /* 8: bytes between horizontal taps */
    int32_t row_advance; /* 12: from the end of a filter row to the next row's first tap */
    int32_t pixel_step;  /* 16: x1 - x0 */
    int32_t n;           /* 20: channels, >= 1 */
    const int32_t *bias; /* 24: folded bias of the first channel */
    int32_t *acc;        /* 28: out: per channel {pixel 0, pixel 1} */
    int32_t next_channel; /* 32: 1 - filter_h * (row bytes): input pointer after a channel -> next channel */
} v6m_dw_job;

void v6m_dw_2px_3(const int8_t *x0, const v6m_dw_job *job);
void v6m_dw_2px_5(const int8_t *x0, const v6m_dw_job *job);
void v6m_dw_2px_7(const int8_t *x0, const v6m_dw_job *job);

/* r0 = input tap pointer, r1 = pixel_step, r2 = packed weights of the block, r3 = weight index
 * (runs over all the block's channels: their weights are contiguous), r7 = 0; r8/r9 = accumulators,
 * r10 = dx, r11 = row_advance, r12 = n * taps, lr = bias. Locals: [sp] = acc, [sp, #4] = next_channel.
 * The whole window is unrolled (.rept filter_h x filter_w): per channel only the bias, the two
 * stores and the loop test remain (~21 cycles). */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_dw_fn name, fw\n"
    V6M_MACRO_FUNCTION_HEAD
    V6M_SAVE_R4_R11
    "    sub sp, #8\n"
    "    ldm r1!, {r2, r3, r4, r5, r6}\n"  /* w, taps, dx, row_advance, pixel_step */
    "    mov r10, r4\n"
    "    mov r11, r5\n"
    "    ldm r1!, {r4, r5, r7}\n"          /* n, bias, acc */
    "    mov lr, r5\n"
    "    str r7, [sp, #0]\n"
    "    muls r4, r3, r4\n"
    "    mov r12, r4\n"                    /* n * taps */
    "    ldr r4, [r1, #0]\n"
    "    str r4, [sp, #4]\n"               /* next_channel */
    "    mov r1, r6\n"
    "    movs r7, #0\n"
    "    movs r3, #0\n"
    ".Ldw_channel\\@:\n"
    "    mov r4, lr\n"
    "    ldm r4!, {r5}\n"
    "    mov lr, r4\n"
    "    mov r8, r5\n"
    "    mov r9, r5\n"
    "    .rept \\fw\n"                     /* filter rows */
    "    .rept \\fw\n"                     /* taps of a row */
    "    ldrsb r4, [r0, r7]\n"             /* x0 */
    "    ldrsb r5, [r0, r1]\n"             /* x1 */
    "    ldrsb r6, [r2, r3]\n"             /* w */
    "    muls r4, r6, r4\n"
    "    add r8, r4\n"
    "    muls r5, r6, r5\n"
    "    add r9, r5\n"
    "    adds r3, r3, #1\n"
    "    add r0, r10\n"
    "    .endr\n"
    "    add r0, r11\n"
    "    .endr\n"
    "    ldr r4, [sp, #0]\n"
    "    mov r5, r8\n"
    "    mov r6, r9\n"
    "    stm r4!, {r5, r6}\n"
    "    str r4, [sp, #0]\n"
    "    ldr r4, [sp, #4]\n"
    "    adds r0, r0, r4\n"                /* next channel's first tap */
    "    cmp r3, r12\n"
    "    beq .Ldw_done\\@\n"            /* the unrolled body is beyond BNE's reach */
    "    b .Ldw_channel\\@\n"
    ".Ldw_done\\@:\n"
    "    add sp, #8\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_dw_fn v6m_dw_2px_3, 3\n"
    "    v6m_dw_fn v6m_dw_2px_5, 5\n"
    "    v6m_dw_fn v6m_dw_2px_7, 7\n"
    "    .text\n");

/* Four horizontally adjacent pixels per channel (the weight pointer steps by a filter row, so a tap's
 * offset fits LDRB's immediate):
 * per tap LDRB + SXTB the weight once, then four LDRSB / MULS / ADD, 20 cycles per 4 MACs against 24
 * for two 2-pixel steps, and the per-channel overhead is shared by four outputs. */
typedef struct {
    const int8_t *w;      /* 0: packed weights of the block's first channel */
    int32_t taps;         /* 4 */
    int32_t dx;           /* 8 */
    int32_t row_advance;  /* 12 */
    int32_t pixel_step;   /* 16: between consecutive pixels of the four */
    int32_t n;            /* 20 */
    const int32_t *bias;  /* 24 */
    int32_t *acc;         /* 28: out: per channel {pixel 0, 1, 2, 3} (v6m_requant_4px's layout) */
    int32_t next_channel; /* 32 */
} v6m_dw4_job;

void v6m_dw_4px_3(const int8_t *x0, const v6m_dw4_job *job);
void v6m_dw_4px_5(const int8_t *x0, const v6m_dw4_job *job);
void v6m_dw_4px_7(const int8_t *x0, const v6m_dw4_job *job);

/* r0 = tap pointer of pixel 0, r1/r2/r3 = 1/2/3 pixel steps, r4 = 0, r5 = the channel's weights,
 * r6/r7 = input byte / weight; r8-r11 = the four sums, r12 = dx, lr = row_advance.
 * Locals: [sp] = bias, [sp, #4] = acc, [sp, #12] = next_channel, [sp, #16] = end of the weights. */
__asm__(
    "    .syntax unified\n"
    "    .macro v6m_dw4_fn name, fw\n"
    V6M_MACRO_FUNCTION_HEAD
    V6M_SAVE_R4_R11
    "    sub sp, #20\n"
    "    ldm r1!, {r2, r3, r4, r5, r6}\n"  /* w, taps, dx, row_advance, pixel_step */
    "    mov r12, r4\n"
    "    mov lr, r5\n"
    "    mov r5, r2\n"                    /* weights */
    "    ldm r1!, {r2, r4, r7}\n"          /* n, bias, acc */
    "    str r4, [sp, #0]\n"
    "    str r7, [sp, #4]\n"
    "    muls r2, r3, r2\n"
    "    adds r2, r2, r5\n"
    "    str r2, [sp, #16]\n"              /* end of the weights */
    "    ldm r1!, {r7}\n"                  /* next_channel */
    "    str r7, [sp, #12]\n"
    "    mov r1, r6\n"
    "    adds r2, r6, r6\n"
    "    adds r3, r2, r6\n"
    "    movs r4, #0\n"
    ".Ldw4_channel\\@:\n"
    "    ldr r6, [sp, #0]\n"
    "    ldm r6!, {r7}\n"
    "    str r6, [sp, #0]\n"
    "    mov r8, r7\n"
    "    mov r9, r7\n"
    "    mov r10, r7\n"
    "    mov r11, r7\n"
    "    .rept \\fw\n"
    "    .set v6m_tap, 0\n"
    "    .rept \\fw\n"
    "    ldrb r7, [r5, #v6m_tap]\n"
    "    sxtb r7, r7\n"
    "    ldrsb r6, [r0, r4]\n"
    "    muls r6, r7, r6\n"
    "    add r8, r6\n"
    "    ldrsb r6, [r0, r1]\n"
    "    muls r6, r7, r6\n"
    "    add r9, r6\n"
    "    ldrsb r6, [r0, r2]\n"
    "    muls r6, r7, r6\n"
    "    add r10, r6\n"
    "    ldrsb r6, [r0, r3]\n"
    "    muls r6, r7, r6\n"
    "    add r11, r6\n"
    "    add r0, r12\n"
    "    .set v6m_tap, v6m_tap + 1\n"
    "    .endr\n"
    "    add r0, lr\n"
    "    adds r5, r5, #\\fw\n"            /* next filter row's weights (ends at the next channel's) */
    "    .endr\n"
    "    ldr r6, [sp, #4]\n"
    "    mov r7, r8\n"
    "    str r7, [r6, #0]\n"
    "    mov r7, r9\n"
    "    str r7, [r6, #4]\n"
    "    mov r7, r10\n"
    "    str r7, [r6, #8]\n"
    "    mov r7, r11\n"
    "    str r7, [r6, #12]\n"
    "    adds r6, r6, #16\n"
    "    str r6, [sp, #4]\n"
    "    ldr r6, [sp, #12]\n"
    "    adds r0, r0, r6\n"                /* next channel's first tap */
    "    ldr r6, [sp, #16]\n"
    "    cmp r5, r6\n"
    "    beq .Ldw4_done\\@\n"
    "    b .Ldw4_channel\\@\n"
    ".Ldw4_done\\@:\n"
    "    add sp, #20\n"
    V6M_RESTORE_R4_R11_RETURN
    "    .size \\name, .-\\name\n"
    "    .endm\n"
    "    v6m_dw4_fn v6m_dw_4px_3, 3\n"
    "    v6m_dw4_fn v6m_dw_4px_5, 5\n"
    "    v6m_dw4_fn v6m_dw_4px_7, 7\n"
    "    .text\n");

#define DW_GATHER_TAPS 49 /* copied windows up to 7x7: two pixels x 49 taps x 16 channels on the stack */

/* copy output pixel (iy0, ix0)'s window for channels [c_begin, c_begin + n) to buf as
 * [filter_h][filter_w][ARIEL_CONV_MAX_CHANNEL_BLOCK]; padded taps read the zero point */
static void dw_gather(const ariel_conv_params *p, const int8_t *image, int32_t iy0, int32_t ix0, int32_t c_begin,
                      int32_t n, int8_t *buf)
{
    const ariel_conv_geometry *g = &p->g;
    const int8_t z = (int8_t)p->input_zero_point;
    const int32_t d = g->dilation_w;
    const int32_t fw = g->filter_w;
    const int32_t pixel_bytes = d * g->in_c;
    /* a whole block of 16 aligned channels (the common case): a tap is one 16-byte move */
    const int words = n == ARIEL_CONV_MAX_CHANNEL_BLOCK &&
                      (((uint32_t)(uintptr_t)image | (uint32_t)g->in_c | (uint32_t)c_begin) & 3u) == 0;
    const uint32_t z_word = (uint32_t)(uint8_t)z * 0x01010101u;
    /* taps [kx_first, kx_end) of a row lie inside the input's columns (once per window, not per tap) */
    int32_t kx_first = ix0 >= 0 ? 0 : d == 1 ? -ix0 : (-ix0 + d - 1) / d;
    int32_t kx_end = ix0 >= g->in_w ? 0 : d == 1 ? g->in_w - ix0 : (g->in_w - ix0 + d - 1) / d;
    int32_t ky, kx;
    kx_end = kx_end < fw ? kx_end : fw;
    kx_first = kx_first < kx_end ? kx_first : kx_end;
    for (ky = 0; ky < g->filter_h; ky++, buf += fw * ARIEL_CONV_MAX_CHANNEL_BLOCK) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        const int row_valid = iy >= 0 && iy < g->in_h;
        const int32_t first = row_valid ? kx_first : fw, end = row_valid ? kx_end : fw;
        const int8_t *src = image + (iy * g->in_w + ix0 + first * d) * g->in_c + c_begin; /* rows inside only */
        if (words) {
            v6m_quad *t = (v6m_quad *)buf;
            for (kx = 0; kx < first; kx++, t++) {
                t->w[0] = t->w[1] = t->w[2] = t->w[3] = z_word;
            }
            for (; kx < end; kx++, t++, src += pixel_bytes) {
                *t = *(const v6m_quad *)src;
            }
            for (; kx < fw; kx++, t++) {
                t->w[0] = t->w[1] = t->w[2] = t->w[3] = z_word;
            }
        } else {
            int8_t *t = buf;
            for (kx = 0; kx < first; kx++, t += ARIEL_CONV_MAX_CHANNEL_BLOCK) {
                fill_run(t, z, n);
            }
            for (; kx < end; kx++, t += ARIEL_CONV_MAX_CHANNEL_BLOCK, src += pixel_bytes) {
                copy_run(t, src, n);
            }
            for (; kx < fw; kx++, t += ARIEL_CONV_MAX_CHANNEL_BLOCK) {
                fill_run(t, z, n);
            }
        }
    }
}

/* copy the input an output row reads (filter_h rows x `columns` input columns from ix_first: -pad_left
 * for a whole row, or the columns of four border pixels) for channels [c_begin, c_begin + n) to buf as
 * [filter_h][columns][ARIEL_CONV_MAX_CHANNEL_BLOCK]; padded taps read the zero point. One copy per work
 * item instead of one per border window: rows of a few pixels (kws, 5 wide; VWW's last layers, 3 and
 * 6) have every pixel at a border. In SRAM with depthwise_pairs, its two callers (the header says why). */
static __attribute__((section(".data.dw_strip"), noinline)) void dw_strip(
    const ariel_conv_params *p, const int8_t *image, int32_t iy0, int32_t ix_first, int32_t c_begin, int32_t n,
    int32_t columns, int8_t *buf)
{
    const ariel_conv_geometry *g = &p->g;
    const int8_t z = (int8_t)p->input_zero_point;
    const int words = n == ARIEL_CONV_MAX_CHANNEL_BLOCK &&
                      (((uint32_t)(uintptr_t)image | (uint32_t)g->in_c | (uint32_t)c_begin) & 3u) == 0;
    const uint32_t z_word = (uint32_t)(uint8_t)z * 0x01010101u;
    /* column col reads input column ix_first + col: the first `left` columns and those from
     * left + inside on are padding, whatever the row */
    const int32_t left = ix_first >= 0 ? 0 : -ix_first < columns ? -ix_first : columns;
    const int32_t inside_end = g->in_w - ix_first < columns ? g->in_w - ix_first : columns;
    const int32_t inside = inside_end > left ? inside_end - left : 0;
    int32_t ky, col;
    for (ky = 0; ky < g->filter_h; ky++) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        const int row_valid = iy >= 0 && iy < g->in_h;
        const int32_t pad_before = row_valid ? left : columns;
        const int32_t copied = row_valid ? inside : 0;
        /* the first column inside (rows inside only) */
        const int8_t *src = image + (iy * g->in_w + ix_first + left) * g->in_c + c_begin;
        if (words) { /* a column is 4 words: whole 16-byte moves (LDM/STM pairs), pointers stepped */
            v6m_quad *d = (v6m_quad *)buf;
            const v6m_quad *s = (const v6m_quad *)src;
            const int32_t step_words = g->in_c >> 2;
            for (col = 0; col < pad_before; col++, d++) {
                d->w[0] = d->w[1] = d->w[2] = d->w[3] = z_word;
            }
            for (col = 0; col < copied; col++, d++) {
                *d = *s;
                s = (const v6m_quad *)((const v6m_word *)s + step_words);
            }
            for (col = pad_before + copied; col < columns; col++, d++) {
                d->w[0] = d->w[1] = d->w[2] = d->w[3] = z_word;
            }
        } else {
            int8_t *d = buf;
            for (col = 0; col < pad_before; col++, d += ARIEL_CONV_MAX_CHANNEL_BLOCK) {
                fill_run(d, z, n);
            }
            for (col = 0; col < copied; col++, d += ARIEL_CONV_MAX_CHANNEL_BLOCK, src += g->in_c) {
                copy_run(d, src, n);
            }
            for (col = pad_before + copied; col < columns; col++, d += ARIEL_CONV_MAX_CHANNEL_BLOCK) {
                fill_run(d, z, n);
            }
        }
        buf += columns * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    }
}

static void dw4_from(const v6m_dw_job *two, int32_t pixel_step, int32_t *acc4, v6m_dw4_job *four)
{
    four->w = two->w;
    four->taps = two->taps;
    four->dx = two->dx;
    four->row_advance = two->row_advance;
    four->pixel_step = pixel_step;
    four->n = two->n;
    four->bias = two->bias;
    four->acc = acc4;
    four->next_channel = two->next_channel;
}

/* in SRAM with the assembly loops (see the header comment): its per-pixel loop and the strip copy
 * inlined into it run for every four outputs */
static __attribute__((section(".data.depthwise_pairs"))) void depthwise_pairs(
    const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t taps = g->filter_h * g->filter_w;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h;
    const int32_t last_dx = (g->filter_w - 1) * g->dilation_w;
    const int32_t pair_step = g->stride_w * g->in_c; /* input bytes between the pair's pixels */
    const int32_t out_step = g->out_c;
    void (*kernel)(const int8_t *, const v6m_dw_job *) =
        g->filter_w == 3 ? v6m_dw_2px_3 : g->filter_w == 5 ? v6m_dw_2px_5 : v6m_dw_2px_7;
    void (*kernel4)(const int8_t *, const v6m_dw4_job *) =
        g->filter_w == 3 ? v6m_dw_4px_3 : g->filter_w == 5 ? v6m_dw_4px_5 : v6m_dw_4px_7;
    int32_t buf_words[2 * DW_GATHER_TAPS * ARIEL_CONV_MAX_CHANNEL_BLOCK / 4]; /* word-aligned for copy_run */
    int8_t *buf = (int8_t *)buf_words;
    int32_t acc[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t acc4[4 * ARIEL_CONV_MAX_CHANNEL_BLOCK];
    v6m_dw_job in_place, copied, strip; /* windows read from the input / from buf / from a strip in buf */
    v6m_dw4_job four;
    /* input columns one output row reads, from -pad_left; rows with a border pixel use a strip copy
     * when it fits buf */
    const int32_t columns = (g->out_w - 1) * g->stride_w + last_dx + 1;
    const int strip_fits = g->filter_h * columns <= 2 * DW_GATHER_TAPS;
    const int border_columns = g->pad_left > 0 || columns - g->pad_left > g->in_w;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    int32_t item, b;
    in_place.taps = copied.taps = taps;
    in_place.acc = copied.acc = acc;
    in_place.dx = g->dilation_w * g->in_c;
    in_place.row_advance = g->dilation_h * g->in_w * g->in_c - g->filter_w * in_place.dx;
    in_place.next_channel = 1 - g->filter_h * g->dilation_h * g->in_w * g->in_c;
    copied.dx = ARIEL_CONV_MAX_CHANNEL_BLOCK;
    copied.row_advance = 0;
    copied.next_channel = 1 - taps * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    strip.taps = taps;
    strip.acc = acc;
    strip.dx = g->dilation_w * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    strip.row_advance = (columns - g->filter_w * g->dilation_w) * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    strip.next_channel = 1 - g->filter_h * columns * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    /* four pixels at a border of a wide row: a strip of the columns they read (mini.*; every filter
     * of 7x7 or less at stride 1 or 2 fits buf), so they run on the four-pixel kernel too: two gathered
     * pairs cost ~1.8x the in-place four per pixel (MCUNet's 5x5 stride 2 over 32 columns) */
    const int32_t mini_columns = 3 * g->stride_w + last_dx + 1;
    const int mini_fits = g->filter_h * mini_columns <= 2 * DW_GATHER_TAPS;
    v6m_dw_job mini;
    mini.taps = taps;
    mini.acc = acc;
    mini.dx = strip.dx;
    mini.row_advance = (mini_columns - g->filter_w * g->dilation_w) * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    mini.next_channel = 1 - g->filter_h * mini_columns * ARIEL_CONV_MAX_CHANNEL_BLOCK;
    /* items block by block (b, b + blocks, ...), so a block's requantisation constants are prepared
     * once per call rather than once per output row (rows of 3-6 pixels paid ~700 cycles per 100 or so
     * outputs); every item in [begin, end) is still computed exactly once */
    for (b = 0; b < blocks; b++) { /* b is a block index, not an offset: tile [2, 3) of 3 blocks is block 2 */
        const int32_t first = begin + (b - begin % blocks + blocks) % blocks; /* first item of block b */
        int32_t row, c_begin, c_end;
        block_requant rq;
        if (first >= end) {
            continue;
        }
        ariel_conv_place(g, first, &row, &c_begin, &c_end);
        block_requant_init(p, c_begin, c_end - c_begin, &rq);
        for (item = first; item < end; item += blocks) {
            int32_t ox;
            row = item / blocks;
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int32_t n = c_end - c_begin;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            /* input offset of pixel ox's window (formed into a pointer only for windows inside the input) */
            int32_t x_offset = (iy0 * g->in_w - g->pad_left) * g->in_c + c_begin;
            int8_t *out = output + row * g->out_w * g->out_c + c_begin;
            int32_t ix0 = -g->pad_left;
            in_place.w = copied.w = strip.w = mini.w = p->packed_weights + c_begin * taps;
            in_place.n = copied.n = strip.n = mini.n = n;
            in_place.bias = copied.bias = strip.bias = mini.bias = p->bias + c_begin;
            if (strip_fits && (!rows_inside || border_columns)) {
                dw_strip(p, image, iy0, -g->pad_left, c_begin, n, columns, buf);
                dw4_from(&strip, g->stride_w * ARIEL_CONV_MAX_CHANNEL_BLOCK, acc4, &four);
                for (ox = 0; ox < g->out_w;) {
                    const int8_t *x0 = buf + ox * g->stride_w * ARIEL_CONV_MAX_CHANNEL_BLOCK;
                    if (kernel4 != 0 && ox + 3 < g->out_w) {
                        kernel4(x0, &four);
                        requant_4px(p, &rq, acc4, out, out_step);
                        ox += 4;
                        out += 4 * out_step;
                    } else {
                        const int pair = ox + 1 < g->out_w;
                        strip.pixel_step = pair ? g->stride_w * ARIEL_CONV_MAX_CHANNEL_BLOCK : 0;
                        kernel(x0, &strip);
                        requant_2px(p, &rq, acc, out, pair ? out + out_step : 0);
                        ox += 2;
                        out += 2 * out_step;
                    }
                }
                continue;
            }
            dw4_from(&in_place, pair_step, acc4, &four);
            for (ox = 0; ox < g->out_w;) {
                const int pair = ox + 1 < g->out_w;
                const int32_t ix1 = pair ? ix0 + g->stride_w : ix0;
                if (kernel4 != 0 && ox + 3 < g->out_w && rows_inside && ix0 >= 0 &&
                    ix0 + 3 * g->stride_w + last_dx < g->in_w) {
                    kernel4(image + x_offset, &four);
                    requant_4px(p, &rq, acc4, out, out_step);
                    ox += 4;
                    out += 4 * out_step;
                    x_offset += 4 * pair_step;
                    ix0 += 4 * g->stride_w;
                    continue;
                }
                if (kernel4 != 0 && ox + 3 < g->out_w && mini_fits) {
                    v6m_dw4_job four_mini;
                    dw_strip(p, image, iy0, ix0, c_begin, n, mini_columns, buf);
                    dw4_from(&mini, g->stride_w * ARIEL_CONV_MAX_CHANNEL_BLOCK, acc4, &four_mini);
                    kernel4(buf, &four_mini);
                    requant_4px(p, &rq, acc4, out, out_step);
                    ox += 4;
                    out += 4 * out_step;
                    x_offset += 4 * pair_step;
                    ix0 += 4 * g->stride_w;
                    continue;
                }
                if (rows_inside && ix0 >= 0 && ix1 + last_dx < g->in_w) {
                    in_place.pixel_step = pair ? pair_step : 0;
                    kernel(image + x_offset, &in_place);
                } else {
                    dw_gather(p, image, iy0, ix0, c_begin, n, buf);
                    if (pair) {
                        dw_gather(p, image, iy0, ix1, c_begin, n, buf + taps * ARIEL_CONV_MAX_CHANNEL_BLOCK);
                    }
                    copied.pixel_step = pair ? taps * ARIEL_CONV_MAX_CHANNEL_BLOCK : 0;
                    kernel(buf, &copied);
                }
                requant_2px(p, &rq, acc, out, pair ? out + out_step : 0);
                ox += 2;
                out += 2 * out_step;
                x_offset += 2 * pair_step;
                ix0 += 2 * g->stride_w;
            }
        }
    }
}

static NOINLINE void depthwise_portable(const ariel_conv_params *p, void *const *buffers, int32_t begin, int32_t end)
{
    if (p->packed_weights != 0) { /* the compiler packs them for depth multiplier 1, <= DW_MAX_TAPS taps */
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_q8(p, buffers, begin, end, 0);
    }
}

void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int fast_width = (g->filter_w == 3 || g->filter_w == 5 || g->filter_w == 7) && g->filter_h == g->filter_w;
    if (p->packed_weights != 0 && fast_width && g->filter_h * g->filter_w <= DW_GATHER_TAPS) {
        depthwise_pairs(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_portable(p, buffers, begin, end);
    }
}
