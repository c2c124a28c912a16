/* ariel_conv_q8_portable.h - the portable 8-bit CONV_2D and DEPTHWISE_CONV_2D loops, as static
 * functions: kernels/conv_s8.c (int8) and kernels/conv.c (uint8) wrap them, and the ISA-specific
 * kernels/<variant>/conv_s8.c files fall back on them for the shapes they do not specialise. They are
 * the oracle the variants are tested against.
 *
 * Input offset hoisting (8-bit kernels). TFLite pads the input with its zero point z and sums
 * (x + input_offset) * (w + weight_offset) over the window, input_offset = -z. Reading every padded
 * tap as the value z, that sum is
 *     sum x * (w + weight_offset)  +  input_offset * sum (w + weight_offset)
 * over all taps. The second term is a constant per output channel, added to the bias by the
 * compiler (params.bias), so the inner loops multiply raw input values. A padded tap (border
 * pixels only) costs z * sum(w + weight_offset) over its channels.
 *
 * Overflow (8-bit): |x * (w + weight_offset)| <= 128 * 128 (int8) or 255 * 255 (uint8), also for
 * the z * sum(w) of a padded tap, so the int32 window sum is exact while window * that bound <
 * 2^31 (the compiler rejects larger windows); adding the folded bias wraps modulo 2^32 like the
 * int32 accumulator of TFLite (the reference applies wrap_int32). s16 accumulates in int64. */
#ifndef ARIEL_CONV_Q8_PORTABLE_H
#define ARIEL_CONV_Q8_PORTABLE_H

#include "ariel_kernels.h"

/* the dot products stay separate functions: inlined into the large kernels, their pointers get
 * spilled to the stack on cores with 8 usable registers (Cortex-M0+) */
#if defined(__GNUC__)
#define NOINLINE __attribute__((noinline, unused)) /* unused: a file including this may not call it */
#else
#define NOINLINE
#endif

/* ---- shared helpers -------------------------------------------------------------------------- */

static inline int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* The 8-bit dot products index from -n up to 0 off end pointers: Cortex-M0+ loads signed bytes
 * only with a register offset, so one counting index serves every load and the loop test (no
 * unrolling, which would need a register per offset), and everything fits the 8 low registers. */

/* sum x[i] * w[i] */
static NOINLINE int32_t dot_s8(const int8_t *x, const int8_t *w, int32_t n)
{
    const int8_t *x_end = x + n;
    const int8_t *w_end = w + n;
    int32_t acc = 0;
    int32_t i;
    for (i = -n; i != 0; i++) {
        acc += x_end[i] * w_end[i];
    }
    return acc;
}

/* two output channels at once: each input byte is loaded once for both weight rows */
static NOINLINE void dot2_s8(const int8_t *x, const int8_t *w0, const int8_t *w1, int32_t n, int32_t *acc0,
                           int32_t *acc1)
{
    const int8_t *x_end = x + n;
    const int8_t *w0_end = w0 + n;
    const int8_t *w1_end = w1 + n;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t i;
    for (i = -n; i != 0; i++) {
        const int32_t v = x_end[i];
        a0 += v * w0_end[i];
        a1 += v * w1_end[i];
    }
    *acc0 = a0;
    *acc1 = a1;
}

static inline int32_t dot_u8(const uint8_t *x, const uint8_t *w, int32_t n, int32_t weight_offset)
{
    int32_t acc = 0;
    for (; n > 0; n--) {
        acc += *x++ * (*w++ + weight_offset);
    }
    return acc;
}

static inline int32_t dot_q8(int is_u8, const int8_t *x, const int8_t *w, int32_t n, int32_t weight_offset)
{
    return is_u8 ? dot_u8((const uint8_t *)x, (const uint8_t *)w, n, weight_offset) : dot_s8(x, w, n);
}

/* what a padded tap adds: the zero point times the tap's (offset) weights */
static inline int32_t padded_tap_q8(int is_u8, int32_t zero_point, const int8_t *w, int32_t n, int32_t weight_offset)
{
    int32_t sum = 0;
    if (is_u8) {
        const uint8_t *u = (const uint8_t *)w;
        for (; n > 0; n--) {
            sum += *u++ + weight_offset;
        }
    } else {
        for (; n > 0; n--) {
            sum += *w++;
        }
    }
    return zero_point * sum;
}

/* requantise one accumulator of output channel oc (bias folded) and store it; 32-bit arithmetic
 * only (ariel_rq: no 64-bit library calls on the Cortex-M0+) */
static inline int32_t requant_q8(const ariel_conv_params *p, int32_t sum, int32_t oc)
{
    const int32_t v = ariel_rq(ariel_wrapping_add(sum, p->bias[oc]), p->rq + oc * ARIEL_RQ_WORDS) + p->output_zero_point;
    return v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v;
}

static inline void store_q8(const ariel_conv_params *p, void *output, int32_t index, int32_t sum, int32_t oc,
                            int is_u8)
{
    const int32_t v = requant_q8(p, sum, oc);
    if (is_u8) {
        ((uint8_t *)output)[index] = (uint8_t)v;
    } else {
        ((int8_t *)output)[index] = (int8_t)v;
    }
}

/* requantise and store the n accumulators of output channels c, c + 1, ...: the per-op constants
 * stay in registers (a loop of its own: on the Cortex-M0+ they would not next to a dot product) */
static NOINLINE void requant_block_s8(const ariel_conv_params *p, const int32_t *acc, int8_t *out, int32_t c,
                                      int32_t n)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    const int32_t *bias = p->bias + c;
    const int32_t *rq = p->rq + c * ARIEL_RQ_WORDS;
    int32_t i;
    out += c;
    for (i = 0; i < n; i++, rq += ARIEL_RQ_WORDS) {
        int32_t v = ariel_rq(ariel_wrapping_add(acc[i], bias[i]), rq) + zp;
        v = v < lo ? lo : v > hi ? hi : v;
        out[i] = (int8_t)v;
    }
}

/* ---- CONV_2D, 8-bit ---------------------------------------------------------------------------- */

/* 1x1 filter, no padding, no groups: every pixel's window is one run of in_c bytes. */
static inline void conv_1x1_s8(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                        int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c;
    const int32_t x_step = g->stride_w * in_c;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int8_t *x = input + ((batch * g->in_h + oy * g->stride_h) * g->in_w) * in_c;
            const int32_t out0 = row * g->out_w * g->out_c;
            for (ox = 0; ox < g->out_w; ox++, x += x_step) {
                const int32_t out = out0 + ox * g->out_c;
                const int8_t *w = weights + c_begin * in_c;
                int32_t oc = c_begin;
                for (; oc + 1 < c_end; oc += 2, w += 2 * in_c) {
                    int32_t a0, a1;
                    dot2_s8(x, w, w + in_c, in_c, &a0, &a1);
                    store_q8(p, output, out + oc, a0, oc, 0);
                    store_q8(p, output, out + oc + 1, a1, oc + 1, 0);
                }
                if (oc < c_end) {
                    store_q8(p, output, out + oc, dot_s8(x, w, in_c), oc, 0);
                }
            }
        }
    }
}

static inline void conv_q8(const ariel_conv_params *p, void *const *buffers, int32_t begin, int32_t end, int is_u8)
{
    const ariel_conv_geometry *g = &p->g;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    void *output = buffers[3];
    const int32_t group_in = g->in_c / g->groups;
    const int32_t group_out = g->out_c / g->groups;
    const int32_t window = g->filter_h * g->filter_w * group_in;
    const int32_t row_step = g->dilation_h * g->in_w * g->in_c; /* input bytes between filter rows */
    /* adjacent taps reading all channels: a filter row is one contiguous run of input bytes */
    const int merged = g->dilation_w == 1 && g->groups == 1;
    const int32_t span = merged ? g->filter_w * g->in_c : group_in;
    const int32_t spans = merged ? 1 : g->filter_w;
    const int32_t span_step = g->dilation_w * g->in_c;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h;
    const int32_t last_dx = (g->filter_w - 1) * g->dilation_w;
    int32_t item;

    if (!is_u8 && g->filter_h == 1 && g->filter_w == 1 && g->groups == 1 && g->pad_top == 0 && g->pad_left == 0) {
        conv_1x1_s8(p, input, weights, (int8_t *)output, begin, end);
        return;
    }
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, ix0;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            const int32_t first_group = c_begin / group_out;
            for (ox = 0, ix0 = -g->pad_left; ox < g->out_w; ox++, ix0 += g->stride_w) {
                const int inside = rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w;
                const int32_t out = (row * g->out_w + ox) * g->out_c;
                int32_t group = first_group;
                int32_t within = c_begin - group * group_out;
                int32_t oc;
                for (oc = c_begin; oc < c_end; oc++) {
                    const int8_t *w = weights + oc * window;
                    int32_t sum = 0;
                    int32_t ky, kx;
                    if (inside) {
                        const int8_t *x = image + (iy0 * g->in_w + ix0) * g->in_c + group * group_in;
                        for (ky = 0; ky < g->filter_h; ky++, x += row_step) {
                            const int8_t *xs = x;
                            int32_t s;
                            for (s = 0; s < spans; s++, xs += span_step, w += span) {
                                sum += dot_q8(is_u8, xs, w, span, p->weight_offset);
                            }
                        }
                    } else {
                        for (ky = 0; ky < g->filter_h; ky++) {
                            const int32_t iy = iy0 + ky * g->dilation_h;
                            const int row_valid = iy >= 0 && iy < g->in_h;
                            for (kx = 0; kx < g->filter_w; kx++, w += group_in) {
                                const int32_t ix = ix0 + kx * g->dilation_w;
                                if (row_valid && ix >= 0 && ix < g->in_w) {
                                    sum += dot_q8(is_u8, image + (iy * g->in_w + ix) * g->in_c + group * group_in, w,
                                                  group_in, p->weight_offset);
                                } else {
                                    sum += padded_tap_q8(is_u8, p->input_zero_point, w, group_in, p->weight_offset);
                                }
                            }
                        }
                    }
                    store_q8(p, output, out + oc, sum, oc, is_u8);
                    if (++within == group_out) {
                        within = 0;
                        group++;
                    }
                }
            }
        }
    }
}

/* ---- DEPTHWISE_CONV_2D, 8-bit -------------------------------------------------------------------
 * Per output pixel, the block's channels accumulate side by side (weights of one tap are
 * contiguous over channels); input channel = output channel / depth_multiplier, walked without
 * division. */

/* ---- DEPTHWISE_CONV_2D, int8, depth multiplier 1 (MobileNet-style layers) -----------------------
 * The compiler repacks the weights channel-major (params.packed_weights: the taps of one channel are
 * contiguous), so each output is a dot product over its window with the accumulator in a register,
 * and the loop runs over the block's channels with pointer increments (no division, no per-tap
 * bounds test). Per output pixel, the window's taps that fall inside the input are listed once and
 * shared by the block's channels; a padded tap reads the zero point z (the folded bias subtracted
 * z * w for every tap). */
#define DW_MAX_TAPS 64 /* taps of the per-pixel lists; larger filters take depthwise_q8 */

/* 3x3 window: x at tap (0, 0) of the channel, dx / dy bytes between columns / rows */
static NOINLINE int32_t dw3x3_s8(const int8_t *x, const int8_t *w, int32_t dx, int32_t dy)
{
    const int32_t dx2 = dx + dx;
    int32_t acc = x[0] * w[0] + x[dx] * w[1] + x[dx2] * w[2];
    x += dy;
    acc += x[0] * w[3] + x[dx] * w[4] + x[dx2] * w[5];
    x += dy;
    acc += x[0] * w[6] + x[dx] * w[7] + x[dx2] * w[8];
    return acc;
}

/* any window: tap t of channel c reads tap_row[t][c] (a pixel of the input, or a row of zero
 * points for a padded tap) */
static NOINLINE int32_t dw_taps_s8(const int8_t *const *tap_row, const int8_t *w, int32_t taps, int32_t c)
{
    int32_t acc = 0;
    int32_t t;
    for (t = 0; t < taps; t++) {
        acc += tap_row[t][c] * w[t];
    }
    return acc;
}

static inline void depthwise_dm1_s8(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                             int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t taps = g->filter_h * g->filter_w;
    const int32_t dx = g->dilation_w * g->in_c;
    const int32_t dy = g->dilation_h * g->in_w * g->in_c;
    const int is_3x3 = g->filter_h == 3 && g->filter_w == 3;
    const int32_t last_dy = 2 * g->dilation_h; /* used for 3x3 filters only */
    const int32_t last_dx = 2 * g->dilation_w;
    const int8_t *tap_row[DW_MAX_TAPS];
    int8_t zero_points[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t acc[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t item;
    for (item = 0; item < ARIEL_CONV_MAX_CHANNEL_BLOCK; item++) {
        zero_points[item] = (int8_t)p->input_zero_point;
    }
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, ix0;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int32_t n_block = c_end - c_begin;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            int8_t *out = output + row * g->out_w * g->out_c;
            for (ox = 0, ix0 = -g->pad_left; ox < g->out_w; ox++, ix0 += g->stride_w, out += g->out_c) {
                const int8_t *w = p->packed_weights + c_begin * taps;
                int32_t c;
                if (is_3x3 && rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w) {
                    /* the whole window inside: x = tap (0, 0) of channel c_begin */
                    const int8_t *x = image + (iy0 * g->in_w + ix0) * g->in_c + c_begin;
                    for (c = 0; c < n_block; c++, x++, w += 9) {
                        acc[c] = dw3x3_s8(x, w, dx, dy);
                    }
                } else {
                    /* per tap: the input pixel's channels from c_begin, or zero points (padding) */
                    int32_t ky, kx, t = 0;
                    for (ky = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = iy0 + ky * g->dilation_h;
                        for (kx = 0; kx < g->filter_w; kx++, t++) {
                            const int32_t ix = ix0 + kx * g->dilation_w;
                            tap_row[t] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                             ? image + (iy * g->in_w + ix) * g->in_c + c_begin
                                             : zero_points;
                        }
                    }
                    for (c = 0; c < n_block; c++, w += taps) {
                        acc[c] = dw_taps_s8(tap_row, w, taps, c);
                    }
                }
                requant_block_s8(p, acc, out, c_begin, n_block);
            }
        }
    }
}

static inline void depthwise_q8(const ariel_conv_params *p, void *const *buffers, int32_t begin, int32_t end, int is_u8)
{
    const ariel_conv_geometry *g = &p->g;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    void *output = buffers[3];
    const int32_t dm = g->depth_multiplier;
    const int32_t wo = p->weight_offset;
    const int32_t z = p->input_zero_point;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h;
    const int32_t last_dx = (g->filter_w - 1) * g->dilation_w;
    int32_t item;

    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, ix0;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t n = c_end - c_begin;
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            const int32_t ic0 = c_begin / dm;
            const int32_t m0 = c_begin - ic0 * dm;
            for (ox = 0, ix0 = -g->pad_left; ox < g->out_w; ox++, ix0 += g->stride_w) {
                const int inside = rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w;
                int32_t acc[ARIEL_CONV_MAX_CHANNEL_BLOCK];
                int32_t i, ky, kx;
                for (i = 0; i < n; i++) {
                    acc[i] = 0;
                }
                for (ky = 0; ky < g->filter_h; ky++) {
                    const int32_t iy = iy0 + ky * g->dilation_h;
                    for (kx = 0; kx < g->filter_w; kx++) {
                        const int32_t ix = ix0 + kx * g->dilation_w;
                        const int8_t *w = weights + (ky * g->filter_w + kx) * g->out_c + c_begin;
                        if (inside || (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)) {
                            const int8_t *x = image + (iy * g->in_w + ix) * g->in_c;
                            if (dm == 1 && !is_u8) {
                                const int8_t *xs = x + c_begin;
                                for (i = 0; i < n; i++) {
                                    acc[i] += xs[i] * w[i];
                                }
                            } else if (is_u8) {
                                const uint8_t *xu = (const uint8_t *)x;
                                const uint8_t *wu = (const uint8_t *)w;
                                int32_t ic = ic0, m = m0;
                                for (i = 0; i < n; i++) {
                                    acc[i] += xu[ic] * (wu[i] + wo);
                                    if (++m == dm) {
                                        m = 0;
                                        ic++;
                                    }
                                }
                            } else {
                                int32_t ic = ic0, m = m0;
                                for (i = 0; i < n; i++) {
                                    acc[i] += x[ic] * w[i];
                                    if (++m == dm) {
                                        m = 0;
                                        ic++;
                                    }
                                }
                            }
                        } else if (is_u8) {
                            const uint8_t *wu = (const uint8_t *)w;
                            for (i = 0; i < n; i++) {
                                acc[i] += z * (wu[i] + wo);
                            }
                        } else {
                            for (i = 0; i < n; i++) {
                                acc[i] += z * w[i];
                            }
                        }
                    }
                }
                {
                    const int32_t out = (row * g->out_w + ox) * g->out_c + c_begin;
                    for (i = 0; i < n; i++) {
                        store_q8(p, output, out + i, acc[i], c_begin + i, is_u8);
                    }
                }
            }
        }
    }
}

#endif /* ARIEL_CONV_Q8_PORTABLE_H */
