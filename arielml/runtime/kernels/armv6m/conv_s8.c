/* kernels/armv6m/conv_s8.c - int8 CONV_2D and DEPTHWISE_CONV_2D for Armv6-M (Cortex-M0+, RP2040).
 *
 * The Cortex-M0+ has eight low registers that loads and MULS can use, a single-cycle 32x32 MULS that
 * overwrites one of its sources, LDRSB with a register offset only (2 cycles) and no SIMD. Its
 * inner loops are therefore written in Thumb-1 assembly, where the register allocation is ours:
 *
 *  - v6m_mac_2x2: two output pixels x two output channels per step. Each loaded byte feeds two
 *    products (4 loads for 4 MACs); the four accumulators live in r8-r11 (ADD to a high register
 *    is one cycle), so r0-r7 hold the four end pointers, one index counting up to 0 and three data
 *    registers. 20 cycles per 4 MACs: 4 LDRSB (8), 1 MOV, 4 MULS, 4 ADD, ADDS + BNE (3).
 *    MULS Rd, Rm, Rd destroys Rd, so the products are ordered so that each operand's last use is
 *    the one destroyed: one MOV per step, no reload.
 *  - Packed 16-bit lanes (two products per MULS) do not pay here: an int8 x int8 product needs 15
 *    bits plus sign, so a 16-bit lane overflows after two products and the lanes would have to be
 *    unpacked every other step (more cycles than the MULS saved). Word loads unpacked with
 *    SXTB/ASRS/LSLS cost 1.5 cycles a byte plus the load, against 2 for LDRSB, and need registers
 *    this loop does not have.
 *
 * Paths: 1x1 filters without padding read the pixels in place; any other ungrouped convolution
 * whose window fits IM2COL_MAX bytes copies the windows of two output pixels into a stack buffer
 * (padded taps hold the input zero point, as the folded bias expects) and runs the same kernel over
 * filter_h * filter_w * in_c bytes at once: this is the first-layer path (kws conv #0: 1 input
 * channel, 10x4 filter, 40 bytes; VWW/MCUNet conv #0: 3x3x3, 27 bytes), where per-row calls would
 * pay the kernel's set-up for every 4 to 9 bytes. Grouped convolutions and larger windows take the
 * portable conv_q8; depthwise takes depthwise_dm1_s8 / depthwise_q8 (ariel_conv_q8_portable.h).
 *
 * Bit-exactness: the kernel starts every accumulator at the folded bias and adds raw products with
 * int32 wrap-around, which is the portable kernels' ariel_wrapping_add(sum, bias) (sums are exact
 * while window * 2^14 < 2^31, which the compiler checks). Requantisation is ariel_rq on the same
 * int32 value. */
#include "ariel_conv_q8_portable.h"

#define IM2COL_MAX 576 /* window bytes per pixel for the copied path (3x3x64); two pixels on the stack */

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

/* r0 = x0, r1 = x1 (windows of n bytes), r2 = job. Locals: [sp] = -n, [sp, #4] = 2 * w_step,
 * [sp, #8] = end of acc; r12 = acc, lr = bias (lr is saved by the push). */
__asm__(
    "    .section .text.v6m_mac_2x2,\"ax\",%progbits\n"
    "    .syntax unified\n"
    "    .thumb\n"
    "    .balign 4\n"
    "    .global v6m_mac_2x2\n"
    "    .hidden v6m_mac_2x2\n"
    "    .thumb_func\n"
    "    .type v6m_mac_2x2, %function\n"
    "v6m_mac_2x2:\n"
    "    push {r4-r7, lr}\n"
    "    mov r4, r8\n"
    "    mov r5, r9\n"
    "    mov r6, r10\n"
    "    mov r7, r11\n"
    "    push {r4-r7}\n"
    "    sub sp, #12\n"
    "    ldr r4, [r2, #4]\n"       /* n */
    "    adds r0, r0, r4\n"        /* x0 end */
    "    adds r1, r1, r4\n"        /* x1 end */
    "    ldr r3, [r2, #0]\n"
    "    adds r3, r3, r4\n"        /* w0 end */
    "    negs r4, r4\n"
    "    str r4, [sp, #0]\n"
    "    ldr r5, [r2, #8]\n"       /* w_step */
    "    adds r4, r3, r5\n"        /* w1 end */
    "    lsls r5, r5, #1\n"
    "    str r5, [sp, #4]\n"
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
    "    mov r8, r5\n"             /* pixel 0, channel 0 */
    "    mov r10, r5\n"            /* pixel 1, channel 0 */
    "    mov r9, r6\n"             /* pixel 0, channel 1 */
    "    mov r11, r6\n"            /* pixel 1, channel 1 */
    "    ldr r4, [sp, #0]\n"
    "1:\n"
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
    "    bne 1b\n"
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
    "    add sp, #12\n"
    "    pop {r4-r7}\n"
    "    mov r8, r4\n"
    "    mov r9, r5\n"
    "    mov r10, r6\n"
    "    mov r11, r7\n"
    "    pop {r4-r7, pc}\n"
    "    .size v6m_mac_2x2, .-v6m_mac_2x2\n"
    "    .text\n");

/* requantise channel c's two accumulators (pixels 0 and 1; out1 NULL: pixel 1 is not real).
 * ariel_rq as in the portable kernels, the record read once for both. */
static NOINLINE void requant_pixel_pair(const ariel_conv_params *p, const int32_t *acc, int8_t *out0, int8_t *out1,
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

/* the block's channels [c_begin, c_begin + n) for two windows (x1 may repeat x0); odd n: the last
 * channel runs as a pair of itself (w_step 0) */
static void block_2px(const ariel_conv_params *p, const int8_t *x0, const int8_t *x1, const int8_t *w,
                      int32_t window, int32_t c_begin, int32_t n, int32_t *acc)
{
    int32_t bias[ARIEL_CONV_MAX_CHANNEL_BLOCK + 2];
    v6m_job job;
    int32_t i;
    for (i = 0; i < n; i++) {
        bias[i] = p->bias[c_begin + i];
    }
    bias[n] = bias[n - 1];
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
        job.w = w + (n - 1) * window;
        job.w_step = 0;
        job.pairs = 1;
        job.bias = bias + n - 1;
        job.acc = acc + 2 * (n - 1);
        v6m_mac_2x2(x0, x1, &job);
    }
}

/* 1x1 filter, no padding, no groups: a pixel's window is its in_c bytes, read in place */
static void conv_1x1(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                     int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c;
    const int32_t x_step = g->stride_w * in_c;
    int32_t acc[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK + 2];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int8_t *x = input + ((batch * g->in_h + oy * g->stride_h) * g->in_w) * in_c;
            int8_t *out = output + row * g->out_w * g->out_c + c_begin;
            const int32_t n = c_end - c_begin;
            for (ox = 0; ox < g->out_w; ox += 2, x += 2 * x_step, out += 2 * g->out_c) {
                const int pair = ox + 1 < g->out_w;
                block_2px(p, x, pair ? x + x_step : x, weights + c_begin * in_c, in_c, c_begin, n, acc);
                requant_pixel_pair(p, acc, out, pair ? out + g->out_c : 0, c_begin, n);
            }
        }
    }
}

/* copy output pixel (oy, ox)'s window (filter_h x filter_w x in_c bytes, the weights' order) to
 * buf; taps outside the input read the zero point */
static void gather_window(const ariel_conv_geometry *g, const int8_t *image, int32_t iy0, int32_t ix0,
                          int8_t zero_point, int8_t *buf)
{
    const int32_t in_c = g->in_c;
    int32_t ky, kx, i;
    for (ky = 0; ky < g->filter_h; ky++) {
        const int32_t iy = iy0 + ky * g->dilation_h;
        const int row_valid = iy >= 0 && iy < g->in_h;
        const int8_t *src_row = image + iy * g->in_w * in_c;
        for (kx = 0; kx < g->filter_w; kx++, buf += in_c) {
            const int32_t ix = ix0 + kx * g->dilation_w;
            if (row_valid && ix >= 0 && ix < g->in_w) {
                const int8_t *src = src_row + ix * in_c;
                for (i = 0; i < in_c; i++) {
                    buf[i] = src[i];
                }
            } else {
                for (i = 0; i < in_c; i++) {
                    buf[i] = zero_point;
                }
            }
        }
    }
}

/* any ungrouped window of at most IM2COL_MAX bytes: two pixels' windows copied, one kernel run */
static void conv_windows(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                         int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t window = g->filter_h * g->filter_w * g->in_c;
    int8_t buf[2 * IM2COL_MAX];
    int32_t acc[2 * ARIEL_CONV_MAX_CHANNEL_BLOCK + 2];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            int8_t *out = output + row * g->out_w * g->out_c + c_begin;
            const int32_t n = c_end - c_begin;
            for (ox = 0; ox < g->out_w; ox += 2, out += 2 * g->out_c) {
                const int pair = ox + 1 < g->out_w;
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                gather_window(g, image, iy0, ix0, (int8_t)p->input_zero_point, buf);
                if (pair) {
                    gather_window(g, image, iy0, ix0 + g->stride_w, (int8_t)p->input_zero_point, buf + window);
                }
                block_2px(p, buf, pair ? buf + window : buf, weights + c_begin * window, window, c_begin, n, acc);
                requant_pixel_pair(p, acc, out, pair ? out + g->out_c : 0, c_begin, n);
            }
        }
    }
}

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[3];
    if (g->groups == 1 && g->filter_h == 1 && g->filter_w == 1 && g->pad_top == 0 && g->pad_left == 0) {
        conv_1x1(p, input, weights, output, begin, end);
    } else if (g->groups == 1 && g->filter_h * g->filter_w * g->in_c <= IM2COL_MAX) {
        conv_windows(p, input, weights, output, begin, end);
    } else {
        conv_q8(p, buffers, begin, end, 0);
    }
}

void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    if (p->packed_weights != 0) { /* the compiler packs them for depth multiplier 1, <= DW_MAX_TAPS taps */
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_q8(p, buffers, begin, end, 0);
    }
}
