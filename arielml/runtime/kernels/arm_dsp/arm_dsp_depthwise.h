/* kernels/arm_dsp/arm_dsp_depthwise.h - conv_s8.c's DEPTHWISE_CONV_2D loops (included once, by conv_s8.c,
 * after its requantisation helpers, which these loops use). */
#ifndef ARIEL_ARM_DSP_DEPTHWISE_H
#define ARIEL_ARM_DSP_DEPTHWISE_H

/* ---- DEPTHWISE_CONV_2D ----------------------------------------------------------------------------
 * Depth multiplier 1, 3x3 window, no dilation (MobileNet's layers): the compiler's channel-major
 * packed_weights hold a channel's 9 taps together. Each channel of a work item is swept along the
 * output row with its taps in 5 registers (two int16 halves each: SMLABB / SMLABT pick them) and its
 * requantisation constants in registers for the whole row. Padding: a filter row above or below the
 * input contributes z * (its weights) to every pixel of the output row, so its weights are zeroed
 * and that constant joins the bias, and its row pointer is replaced by a valid row (read, then
 * multiplied by 0); a column beyond the left or right edge (edge pixels only) reads z. */

#define DW_CHUNK 64 /* pixels whose window sums are kept on the stack before requantisation */

typedef struct {
    const int8_t *rows[3]; /* tap row k of channel 0 at input column 0 */
    int32_t in_c, in_w, stride_w, pad_left;
    int32_t zero_point;
} dw_band;

/* window sums of one channel for n pixels whose windows are inside the input columns: r0, r1, r2 at
 * the first pixel's tap (k, 0), `step` bytes between pixels; taps in int16 halves (w01 = w0 | w1 << 16,
 * ...). 9 byte loads and 9 multiply-accumulates per pixel. */
static NOINLINE void dw3x3_interior(const int8_t *r0, const int8_t *r1, const int8_t *r2, int32_t in_c, int32_t step,
                                    const int32_t *taps, int32_t n, int32_t *sums)
{
    const int32_t w01 = taps[0], w23 = taps[1], w45 = taps[2], w67 = taps[3], w8 = taps[4];
    const int32_t *const end = sums + n;
    while (sums != end) {
        int32_t acc = __smlabb(r0[0], w01, 0);
        acc = __smlabt(r0[in_c], w01, acc);
        acc = __smlabb(r0[2 * in_c], w23, acc);
        acc = __smlabt(r1[0], w23, acc);
        acc = __smlabb(r1[in_c], w45, acc);
        acc = __smlabt(r1[2 * in_c], w45, acc);
        acc = __smlabb(r2[0], w67, acc);
        acc = __smlabt(r2[in_c], w67, acc);
        *sums++ = __smlabb(r2[2 * in_c], w8, acc);
        r0 += step, r1 += step, r2 += step;
    }
}

/* dw3x3_interior for strides 1 and 2 in assembly: a row's three byte loads issue back to back
 * (pipelined on the M4/M33), the 9 taps stay in 5 registers, 14 registers in all (the loop end is
 * read from the stack). n >= 1. */
typedef struct {
    const int8_t *rows[3]; /*  0, 4, 8 */
    int32_t in_c;          /* 12 */
    int32_t stride;        /* 16: 1 or 2 */
    const int32_t *taps;   /* 20: five packed words */
    int32_t *sums;         /* 24 */
    int32_t n;             /* 28 */
} dw_run;

#define DW_PIXEL_ASM(advance)                                                                                     \
    "ldrsb  r10, [r0]\n\t"                                                                                       \
    "ldrsb  r11, [r0, r3]\n\t"                                                                                   \
    "ldrsb  r12, [r0, r3, lsl #1]\n\t"                                                                           \
    "smulbb lr, r10, r5\n\t"                                                                                     \
    "smlabt lr, r11, r5, lr\n\t"                                                                                 \
    "smlabb lr, r12, r6, lr\n\t"                                                                                 \
    "ldrsb  r10, [r1]\n\t"                                                                                       \
    "ldrsb  r11, [r1, r3]\n\t"                                                                                   \
    "ldrsb  r12, [r1, r3, lsl #1]\n\t"                                                                           \
    "smlabt lr, r10, r6, lr\n\t"                                                                                 \
    "smlabb lr, r11, r7, lr\n\t"                                                                                 \
    "smlabt lr, r12, r7, lr\n\t"                                                                                 \
    "ldrsb  r10, [r2]\n\t"                                                                                       \
    "ldrsb  r11, [r2, r3]\n\t"                                                                                   \
    "ldrsb  r12, [r2, r3, lsl #1]\n\t"                                                                           \
    "smlabb lr, r10, r8, lr\n\t"                                                                                 \
    "smlabt lr, r11, r8, lr\n\t"                                                                                 \
    "smlabb lr, r12, r9, lr\n\t"                                                                                 \
    "add    r0, r0, r3" advance "\n\t"                                                                           \
    "add    r1, r1, r3" advance "\n\t"                                                                           \
    "add    r2, r2, r3" advance "\n\t"                                                                           \
    "str    lr, [r4], #4\n\t"                                                                                    \
    "ldr    r10, [sp]\n\t"                                                                                       \
    "cmp    r4, r10\n\t"

__attribute__((naked, noinline)) static void dw3x3_interior_asm(const dw_run *d __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldr    r4, [r0, #24]\n\t"            /* sums */
        "ldr    r1, [r0, #28]\n\t"
        "add    r1, r4, r1, lsl #2\n\t"       /* sums end */
        "push   {r1}\n\t"
        "ldr    r1, [r0, #20]\n\t"
        "ldmia  r1, {r5-r9}\n\t"              /* taps */
        "ldr    r3, [r0, #12]\n\t"            /* in_c */
        "ldr    r12, [r0, #16]\n\t"           /* stride */
        "ldr    r1, [r0, #4]\n\t"
        "ldr    r2, [r0, #8]\n\t"
        "ldr    r0, [r0, #0]\n\t"
        "cmp    r12, #2\n\t"
        "beq    2f\n\t"
        "1:\n\t" DW_PIXEL_ASM("") "bne    1b\n\t"
        "b      3f\n\t"
        "2:\n\t" DW_PIXEL_ASM(", lsl #1") "bne    2b\n\t"
        "3:\n\t"
        "pop    {r1}\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* one channel's taps as the sweep uses them: tap rows outside the input zeroed (their z * w is in
 * `extra`), packed in int16 halves for dw3x3_interior, and plain for edge pixels */
typedef struct {
    int32_t packed[5];
    int32_t w[9];
    int32_t extra;
} dw_taps;

/* the window sum of one channel at an edge pixel (input column ix0 of tap column 0): columns outside
 * the input read the zero point */
static int32_t dw3x3_edge(const dw_band *b, const int8_t *const *rows, const int32_t *w, int32_t ix0)
{
    int32_t acc = 0, kx;
    for (kx = 0; kx < 3; kx++, w++) {
        const int32_t ix = ix0 + kx;
        if (ix >= 0 && ix < b->in_w) {
            const int32_t at = ix * b->in_c;
            acc += rows[0][at] * w[0] + rows[1][at] * w[3] + rows[2][at] * w[6];
        } else {
            acc += b->zero_point * (w[0] + w[3] + w[6]);
        }
    }
    return acc;
}

/* the window sums of one channel (rows already offset to it) for output pixels [ox, ox + n); the
 * interior pixels are [first, last) */
static NOINLINE void dw3x3_sums(const dw_band *b, const int8_t *const *rows, const dw_taps *t, int32_t first,
                                int32_t last, int32_t ox, int32_t n, int32_t *sums)
{
    const int32_t in_c = b->in_c, sw = b->stride_w;
    int32_t k;
    first = first < ox ? ox : first > ox + n ? ox + n : first;
    last = last < first ? first : last > ox + n ? ox + n : last;
    for (k = ox; k < first; k++) {
        sums[k - ox] = dw3x3_edge(b, rows, t->w, k * sw - b->pad_left);
    }
    if (last > first) {
        const int32_t at = (first * sw - b->pad_left) * in_c;
        if (sw <= 2) {
            dw_run d;
            d.rows[0] = rows[0] + at, d.rows[1] = rows[1] + at, d.rows[2] = rows[2] + at;
            d.in_c = in_c, d.stride = sw, d.taps = t->packed, d.sums = sums + first - ox, d.n = last - first;
            dw3x3_interior_asm(&d);
        } else {
            dw3x3_interior(rows[0] + at, rows[1] + at, rows[2] + at, in_c, sw * in_c, t->packed, last - first,
                           sums + first - ox);
        }
    }
    for (k = last; k < ox + n; k++) {
        sums[k - ox] = dw3x3_edge(b, rows, t->w, k * sw - b->pad_left);
    }
}

/* the taps of channel c with the filter rows that are not `valid` zeroed */
static void dw3x3_prepare(const int8_t *packed_weights, int32_t z, const int *valid, dw_taps *t)
{
    int32_t *w = t->w;
    int32_t k;
    for (k = 0; k < 9; k++) {
        w[k] = packed_weights[k];
    }
    t->extra = 0;
    if (!(valid[0] && valid[1] && valid[2])) { /* padded filter rows: z * w for every pixel of the output row */
        for (k = 0; k < 9; k++) {
            if (!valid[k / 3]) {
                t->extra += z * w[k];
                w[k] = 0;
            }
        }
    }
    t->packed[0] = (w[0] & 0xFFFF) | (w[1] << 16), t->packed[1] = (w[2] & 0xFFFF) | (w[3] << 16);
    t->packed[2] = (w[4] & 0xFFFF) | (w[5] << 16), t->packed[3] = (w[6] & 0xFFFF) | (w[7] << 16);
    t->packed[4] = w[8];
}

/* requantise n window sums of output channel oc (constant `extra` added) into out[0], out[step], ... */
static NOINLINE void requant_strided(const ariel_conv_params *p, const int32_t *sums, int32_t n, int32_t oc,
                                     int32_t extra, int8_t *out, int32_t step)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    rq_entry e;
    const int32_t mode = prepare_rq(p, oc, 1, &e);
    int32_t k;
    e.bias = ariel_wrapping_add(e.bias, extra);
    if (requant_run(p, &e, mode, 0, sums, out, step, n)) {
        return;
    }
    for (k = 0; k < n; k++, out += step) {
        int32_t v = requant_entry(p, &e, sums[k]) + zp;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        *out = (int8_t)v;
    }
}

static void depthwise_3x3_s8(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                             int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t sw = g->stride_w;
    /* interior pixels [first, last): ix0 = ox * sw - pad_left >= 0 and ix0 + 2 < in_w */
    const int32_t first = (g->pad_left + sw - 1) / sw;
    const int32_t last = g->in_w >= 3 ? (g->in_w - 3 + g->pad_left) / sw + 1 : first;
    dw_band b;
    dw_taps taps[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t sums[DW_CHUNK];
    int32_t item;
    b.in_c = g->in_c, b.in_w = g->in_w, b.stride_w = sw, b.pad_left = g->pad_left;
    b.zero_point = p->input_zero_point;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, c, r;
        int valid[3];
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            const int32_t some_row = iy0 < 0 ? 0 : iy0 > g->in_h - 1 ? g->in_h - 1 : iy0; /* a valid row */
            int8_t *out = output + row * g->out_w * g->out_c;
            for (r = 0; r < 3; r++) {
                valid[r] = iy0 + r >= 0 && iy0 + r < g->in_h;
                b.rows[r] = image + (valid[r] ? iy0 + r : some_row) * g->in_w * g->in_c;
            }
            for (c = c_begin; c < c_end; c++) {
                dw3x3_prepare(p->packed_weights + c * 9, b.zero_point, valid, &taps[c - c_begin]);
            }
            for (c = c_begin; c < c_end; c++) {
                const dw_taps *t = &taps[c - c_begin];
                const int8_t *rows[3];
                int32_t ox;
                rows[0] = b.rows[0] + c, rows[1] = b.rows[1] + c, rows[2] = b.rows[2] + c;
                for (ox = 0; ox < g->out_w; ox += DW_CHUNK) {
                    const int32_t n = g->out_w - ox < DW_CHUNK ? g->out_w - ox : DW_CHUNK;
                    dw3x3_sums(&b, rows, t, first, last, ox, n, sums);
                    requant_strided(p, sums, n, c, t->extra, out + ox * g->out_c + c, g->out_c);
                }
            }
        }
    }
}

/* Narrow rows (the sweep's per-channel set-up would dominate) and small windows other than 3x3: one
 * pixel at a time, four channels per input word. SXTB16 gives channels (c, c + 2) and, rotated,
 * (c + 1, c + 3) as int16 lanes; the weights are widened the same way once per work item into a
 * table on the stack, and SMLABB / SMLATT multiply lane by lane (a depthwise sum never mixes
 * channels). Padded taps point at a row of zero points. */
#define DW_SIMD_MAX_TAPS 9
#define DW_SWEEP_MIN_WIDTH 16 /* output rows at least this wide take the 3x3 sweep */

/* one tap of four channels: the input word at row + offset, its lanes times the table's */
#define DW_TAP(row, entry)                                                                                       \
    do {                                                                                                         \
        const uint32_t x_ = load_word((row) + offset), we_ = (entry)[0], wo_ = (entry)[1];                       \
        const uint32_t x_even_ = __sxtb16(x_), x_odd_ = widen_odd(x_);                                          \
        a0 = __smlabb((int32_t)x_even_, (int32_t)we_, a0);                                                       \
        a2 = __smlatt((int32_t)x_even_, (int32_t)we_, a2);                                                       \
        a1 = __smlabb((int32_t)x_odd_, (int32_t)wo_, a1);                                                        \
        a3 = __smlatt((int32_t)x_odd_, (int32_t)wo_, a3);                                                        \
    } while (0)

/* sums of four channels over `taps` taps: tap t reads the word at tap_row[t] + offset */
static NOINLINE void dw_group_sums(const int8_t *const *tap_row, int32_t offset, const uint32_t *table, int32_t taps,
                                   int32_t *sums)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, t;
    if (taps == 9) { /* 3x3, unrolled */
        DW_TAP(tap_row[0], table);
        DW_TAP(tap_row[1], table + 2);
        DW_TAP(tap_row[2], table + 4);
        DW_TAP(tap_row[3], table + 6);
        DW_TAP(tap_row[4], table + 8);
        DW_TAP(tap_row[5], table + 10);
        DW_TAP(tap_row[6], table + 12);
        DW_TAP(tap_row[7], table + 14);
        DW_TAP(tap_row[8], table + 16);
    } else {
        for (t = 0; t < taps; t++, table += 2) {
            DW_TAP(tap_row[t], table);
        }
    }
    sums[0] = a0, sums[1] = a1, sums[2] = a2, sums[3] = a3;
}

static void depthwise_dm1_simd(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                               int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t taps = g->filter_h * g->filter_w;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h, last_dx = (g->filter_w - 1) * g->dilation_w;
    const int8_t *tap_row[DW_SIMD_MAX_TAPS];
    int32_t tap_offset[DW_SIMD_MAX_TAPS];
    uint32_t table[ARIEL_CONV_MAX_CHANNEL_BLOCK / 4 * DW_SIMD_MAX_TAPS * 2];
    int8_t zero_points[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t sums[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    rq_table table_rq;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    int32_t first, item, k, ky, kx;
    for (k = 0; k < ARIEL_CONV_MAX_CHANNEL_BLOCK; k++) {
        zero_points[k] = (int8_t)p->input_zero_point;
    }
    for (ky = 0, k = 0; ky < g->filter_h; ky++) {
        for (kx = 0; kx < g->filter_w; kx++, k++) {
            tap_offset[k] = (ky * g->dilation_h * g->in_w + kx * g->dilation_w) * g->in_c;
        }
    }
    /* work items channel block by channel block (any order gives the same bytes): the tables are
     * built once per block and call */
    for (first = begin; first < end && first < begin + blocks; first++) {
        const int32_t c_begin = (first % blocks) * g->channel_block;
        const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
        const int32_t n = c_end - c_begin, groups = n >> 2;
        const int8_t *w = p->packed_weights + c_begin * taps;
        int32_t grp, t;
        table_rq.mode = prepare_rq(p, c_begin, n, table_rq.e);
        /* the block's weights as int16 lanes: (c, c + 2) and (c + 1, c + 3) per tap */
        for (grp = 0; grp < groups; grp++) {
            const int8_t *wc = w + 4 * grp * taps;
            for (t = 0; t < taps; t++) {
                uint32_t *entry = table + (grp * taps + t) * 2;
                entry[0] = (uint16_t)wc[t] | (uint32_t)(uint16_t)wc[2 * taps + t] << 16;
                entry[1] = (uint16_t)wc[taps + t] | (uint32_t)(uint16_t)wc[3 * taps + t] << 16;
            }
        }
        for (item = first; item < end; item += blocks) {
            const int32_t row = item / blocks;
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            int8_t *out = output + row * g->out_w * g->out_c;
            int32_t ox, ix0;
            for (ox = 0, ix0 = -g->pad_left; ox < g->out_w; ox++, ix0 += g->stride_w, out += g->out_c) {
                if (rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w) {
                    const int8_t *x = image + (iy0 * g->in_w + ix0) * g->in_c + c_begin;
                    for (t = 0; t < taps; t++) {
                        tap_row[t] = x + tap_offset[t];
                    }
                } else {
                    for (ky = 0, t = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = iy0 + ky * g->dilation_h;
                        for (kx = 0; kx < g->filter_w; kx++, t++) {
                            const int32_t ix = ix0 + kx * g->dilation_w;
                            tap_row[t] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                             ? image + (iy * g->in_w + ix) * g->in_c + c_begin
                                             : zero_points;
                        }
                    }
                }
                for (grp = 0; grp < groups; grp++) {
                    dw_group_sums(tap_row, 4 * grp, table + grp * taps * 2, taps, sums + 4 * grp);
                }
                for (k = 4 * groups; k < n; k++) { /* channels beyond the last group of four */
                    int32_t acc = 0;
                    for (t = 0; t < taps; t++) {
                        acc += tap_row[t][k] * w[k * taps + t];
                    }
                    sums[k] = acc;
                }
                requant_pixel(p, &table_rq, sums, out + c_begin, n);
            }
        }
    }
}

#endif
