/* kernels/transpose_conv.c - TRANSPOSE_CONV over NHWC tensors: int8 (s8), int16 activations with int8
 * weights (s16) and float32 (f32). Weights are [out_c][filter_h][filter_w][in_c].
 *
 * TFLite's reference scatters every input pixel into the output; here every output element gathers
 * instead, so that work items are independent: one work item = one output row (batch folded in) x
 * one block of channel_block output channels. Output pixel (oy, ox) receives input pixel (iy, ix)
 * through filter tap (ky, kx) = (oy + pad_top - iy * stride_h, ox + pad_left - ix * stride_w).
 * The taps are visited in descending order (ky, then kx), input channels ascending: that is the
 * order in which the scatter adds into one output element (input rows and columns ascending), so
 * the float32 sums round exactly as the reference's do. */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t batches, in_h, in_w, in_c, out_h, out_w, out_c;
    int32_t filter_h, filter_w, stride_h, stride_w, pad_top, pad_left;
    int32_t channel_block; /* output channels per work item */
    /* quantised (s8, s16) */
    int32_t input_offset; /* -input zero point (0 for s16) */
    int32_t output_zero_point, act_min, act_max;
    const int32_t *multiplier; /* s16: per output channel */
    const int32_t *shift;
    const int32_t *tap_weight_sums; /* s8: sum over in_c of the weights, per [oc][ky][kx] */
    const int32_t *rq;              /* s8: requantisation records (ARIEL_RQ_WORDS per output channel) */
    /* float32: the clamp of the fused activation */
    float float_min, float_max;
} ariel_transpose_conv_params;
void ariel_transpose_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_transpose_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_transpose_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* The taps of one output coordinate along one axis: input index of the first contributing tap
 * (highest k) and how many taps contribute; k falls by `stride` as the input index rises by 1. */
typedef struct {
    int32_t first_input; /* input index of the tap with the highest k */
    int32_t first_tap;   /* that k */
    int32_t count;
} tap_run;

static tap_run taps_of(int32_t out, int32_t pad, int32_t stride, int32_t filter, int32_t in_size)
{
    /* contributing input indices i: 0 <= i < in_size and 0 <= out + pad - i * stride < filter */
    const int32_t t = out + pad;
    int32_t lo = t - filter + 1; /* i * stride >= lo */
    int32_t hi;
    tap_run run;
    lo = lo <= 0 ? 0 : (lo + stride - 1) / stride;
    hi = t < 0 ? -1 : t / stride;
    if (hi > in_size - 1) {
        hi = in_size - 1;
    }
    run.first_input = lo;
    run.first_tap = t - lo * stride;
    run.count = hi >= lo ? hi - lo + 1 : 0;
    return run;
}

/* item -> (batch * out_h + oy, channel range) */
static void item_range(const ariel_transpose_conv_params *p, int32_t item, int32_t *row, int32_t *c_begin,
                       int32_t *c_end)
{
    const int32_t blocks = (p->out_c + p->channel_block - 1) / p->channel_block;
    *row = item / blocks;
    *c_begin = (item % blocks) * p->channel_block;
    *c_end = *c_begin + p->channel_block < p->out_c ? *c_begin + p->channel_block : p->out_c;
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

/* int8: sum (x + input_offset) * w = sum x * w + input_offset * sum w, with sum w per (oc, ky, kx)
 * folded at compile time (tap_weight_sums), so the inner loop is a plain int8 dot product:
 * |x * w| <= 2^14 and in_c < 2^16 (the compiler's limit) keep its int32 sum exact. The totals run
 * in uint32, which wraps exactly as the reference's int32 scratch buffer does (any order gives the
 * same bits). Two output channels share each input load (`pair`). Offsets are int32: the compiler
 * refuses tensors of 2^31 bytes or more. */
static void taps_s8(const ariel_transpose_conv_params *p, const int8_t *image, const int8_t *weights, tap_run ys,
                    tap_run xs, int32_t oc, int pair, uint32_t *acc)
{
    const int32_t in_c = p->in_c;
    const int32_t tap_stride = p->filter_w * in_c;
    const int32_t channel_stride = p->filter_h * tap_stride; /* from one output channel's weights to the next */
    int32_t a, b, c;
    for (a = 0; a < ys.count; a++) {
        const int32_t iy = ys.first_input + a, ky = ys.first_tap - a * p->stride_h;
        const int8_t *x_row = image + iy * p->in_w * in_c;
        const int32_t tap_row = oc * p->filter_h + ky;
        const int8_t *w_row = weights + tap_row * tap_stride;
        for (b = 0; b < xs.count; b++) {
            const int32_t ix = xs.first_input + b, kx = xs.first_tap - b * p->stride_w;
            const int8_t *x = x_row + ix * in_c;
            const int8_t *w0 = w_row + kx * in_c;
            const int32_t *sums = p->tap_weight_sums + tap_row * p->filter_w + kx;
            int32_t dot0 = 0, dot1 = 0;
            if (pair) {
                const int8_t *w1 = w0 + channel_stride;
                for (c = 0; c < in_c; c++) {
                    const int32_t v = x[c];
                    dot0 += v * w0[c];
                    dot1 += v * w1[c];
                }
                acc[1] += (uint32_t)dot1 + (uint32_t)p->input_offset * (uint32_t)sums[p->filter_h * p->filter_w];
            } else {
                for (c = 0; c + 4 <= in_c; c += 4) {
                    dot0 += x[c] * w0[c] + x[c + 1] * w0[c + 1] + x[c + 2] * w0[c + 2] + x[c + 3] * w0[c + 3];
                }
                for (; c < in_c; c++) {
                    dot0 += x[c] * w0[c];
                }
            }
            acc[0] += (uint32_t)dot0 + (uint32_t)p->input_offset * (uint32_t)sums[0];
        }
    }
}

void ariel_transpose_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_transpose_conv_params *p = (const ariel_transpose_conv_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const int32_t *bias = (const int32_t *)buffers[2];
    int8_t *output = (int8_t *)buffers[3];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        item_range(p, item, &row, &c_begin, &c_end);
        {
            const int32_t n = row / p->out_h;
            const tap_run ys = taps_of(row % p->out_h, p->pad_top, p->stride_h, p->filter_h, p->in_h);
            const int8_t *image = input + n * p->in_h * p->in_w * p->in_c;
            for (ox = 0; ox < p->out_w; ox++) {
                const tap_run xs = taps_of(ox, p->pad_left, p->stride_w, p->filter_w, p->in_w);
                int8_t *out = output + (row * p->out_w + ox) * p->out_c;
                for (oc = c_begin; oc < c_end; oc += 2) {
                    const int pair = oc + 1 < c_end;
                    uint32_t acc[2];
                    int32_t k;
                    acc[0] = bias != 0 ? (uint32_t)bias[oc] : 0u;
                    acc[1] = bias != 0 && pair ? (uint32_t)bias[oc + 1] : 0u;
                    taps_s8(p, image, weights, ys, xs, oc, pair, acc);
                    for (k = 0; k <= pair; k++) {
                        /* 32-bit requantisation (ariel_kernels.h), exact for double rounding */
                        const int32_t q = ariel_rq((int32_t)acc[k], p->rq + (oc + k) * ARIEL_RQ_WORDS);
                        out[oc + k] = (int8_t)clamp32((int64_t)q + p->output_zero_point, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}

/* TFLite's requantisation of int64 accumulators: the multiplier reduced to 16 bits, one rounding;
 * the result is cast to int32 (wraps), as the reference does (shift in [-31, 14]). The product is
 * formed modulo 2^64, which is the reference's value for |acc| < 2^47. */
static int32_t requantize_wide(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t product = (int64_t)((uint64_t)acc * (uint64_t)reduced);
    const int64_t rounded = (int64_t)((uint64_t)product + ((uint64_t)1 << (total_shift - 1))) >> total_shift;
    return (int32_t)(uint32_t)(uint64_t)rounded;
}

/* 16x8: |x * w| <= 2^15 * 2^7, summed exactly in int64 (the bias is int64 too). Offsets are int32
 * (tensors of 2^31 bytes or more are refused by the compiler). */
void ariel_transpose_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_transpose_conv_params *p = (const ariel_transpose_conv_params *)params;
    const int16_t *input = (const int16_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const int64_t *bias = (const int64_t *)buffers[2];
    int16_t *output = (int16_t *)buffers[3];
    const int32_t tap_stride = p->filter_w * p->in_c;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        item_range(p, item, &row, &c_begin, &c_end);
        {
            const int32_t n = row / p->out_h;
            const tap_run ys = taps_of(row % p->out_h, p->pad_top, p->stride_h, p->filter_h, p->in_h);
            for (ox = 0; ox < p->out_w; ox++) {
                const tap_run xs = taps_of(ox, p->pad_left, p->stride_w, p->filter_w, p->in_w);
                int16_t *out = output + (row * p->out_w + ox) * p->out_c;
                for (oc = c_begin; oc < c_end; oc++) {
                    int64_t acc = bias != 0 ? bias[oc] : 0;
                    int32_t a, b, c;
                    for (a = 0; a < ys.count; a++) {
                        const int32_t iy = ys.first_input + a, ky = ys.first_tap - a * p->stride_h;
                        const int16_t *x_row = input + ((n * p->in_h + iy) * p->in_w) * p->in_c;
                        const int8_t *w_row = weights + (oc * p->filter_h + ky) * tap_stride;
                        for (b = 0; b < xs.count; b++) {
                            const int32_t ix = xs.first_input + b, kx = xs.first_tap - b * p->stride_w;
                            const int16_t *x = x_row + ix * p->in_c;
                            const int8_t *w = w_row + kx * p->in_c;
                            if (p->in_c <= 256) { /* |x * w| <= 2^22: 256 of them fit int32 */
                                int32_t partial = 0;
                                for (c = 0; c < p->in_c; c++) {
                                    partial += x[c] * w[c];
                                }
                                acc += partial;
                            } else {
                                for (c = 0; c < p->in_c; c++) {
                                    acc += x[c] * w[c];
                                }
                            }
                        }
                    }
                    out[oc] = (int16_t)clamp32(requantize_wide(acc, p->multiplier[oc], p->shift[oc]) +
                                                   (int64_t)p->output_zero_point,
                                               p->act_min, p->act_max);
                }
            }
        }
    }
}

/* float32: one product and one addition at a time, in the reference's order (see the top);
 * the bias is added last, then the clamp (which also turns +-inf into +-FLT_MAX, as LiteRT's). */
void ariel_transpose_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_transpose_conv_params *p = (const ariel_transpose_conv_params *)params;
    const float *input = (const float *)buffers[0];
    const float *weights = (const float *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    const int32_t tap_stride = p->filter_w * p->in_c;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        item_range(p, item, &row, &c_begin, &c_end);
        {
            const int32_t n = row / p->out_h;
            const tap_run ys = taps_of(row % p->out_h, p->pad_top, p->stride_h, p->filter_h, p->in_h);
            for (ox = 0; ox < p->out_w; ox++) {
                const tap_run xs = taps_of(ox, p->pad_left, p->stride_w, p->filter_w, p->in_w);
                float *out = output + ((int64_t)row * p->out_w + ox) * p->out_c;
                for (oc = c_begin; oc < c_end; oc++) {
                    float acc = 0.0f;
                    int32_t a, b, c;
                    for (a = 0; a < ys.count; a++) {
                        const int32_t iy = ys.first_input + a, ky = ys.first_tap - a * p->stride_h;
                        const float *x_row = input + (((int64_t)n * p->in_h + iy) * p->in_w) * p->in_c;
                        const float *w_row = weights + ((int64_t)oc * p->filter_h + ky) * tap_stride;
                        for (b = 0; b < xs.count; b++) {
                            const int32_t ix = xs.first_input + b, kx = xs.first_tap - b * p->stride_w;
                            const float *x = x_row + (int64_t)ix * p->in_c;
                            const float *w = w_row + (int64_t)kx * p->in_c;
                            for (c = 0; c < p->in_c; c++) {
                                acc += x[c] * w[c];
                            }
                        }
                    }
                    if (bias != 0) {
                        acc += bias[oc];
                    }
                    /* NaN passes through both comparisons, as in ActivationFunctionWithMinMax */
                    out[oc] = acc < p->float_min ? p->float_min : acc > p->float_max ? p->float_max : acc;
                }
            }
        }
    }
}
