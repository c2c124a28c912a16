/* kernels/conv.c - CONV_2D and DEPTHWISE_CONV_2D, int8 NHWC, per-channel requantisation.
 *
 * Taps that fall into the padding are skipped: TFLite pads with the input zero point, whose
 * offset value (x + input_offset) is 0, so they would add nothing. */
#include "ariel_kernels.h"

static int8_t finish(const ariel_conv_s8_params *p, int32_t acc, const int32_t *bias, int32_t oc)
{
    if (bias != 0) {
        acc = ariel_wrapping_add(acc, bias[oc]);
    }
    return ariel_clamp_s8(ariel_requantize(acc, p->multiplier[oc], p->shift[oc], p->rounding) + p->output_zero_point,
                          p->act_min, p->act_max);
}

/* Overflow: each product is at most 255 * 128 in magnitude, so the int32 window sum is exact
 * while filter_h * filter_w * (in_c / groups) <= 65793 (the compiler rejects larger windows). */
void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_s8_params *p = (const ariel_conv_s8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const int32_t *bias = (const int32_t *)buffers[2];
    int8_t *output = (int8_t *)buffers[3];
    const int32_t blocks = (p->out_c + p->channel_block - 1) / p->channel_block;
    const int32_t group_in = p->in_c / p->groups;
    const int32_t group_out = p->out_c / p->groups;
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t row = item / blocks; /* batch * out_h + y */
        const int32_t c_begin = (item % blocks) * p->channel_block;
        const int32_t c_end = c_begin + p->channel_block < p->out_c ? c_begin + p->channel_block : p->out_c;
        const int32_t batch = row / p->out_h;
        const int32_t oy = row % p->out_h;
        const int8_t *image = input + batch * p->in_h * p->in_w * p->in_c;
        int8_t *out_row = output + row * p->out_w * p->out_c;
        int32_t ox;
        for (ox = 0; ox < p->out_w; ox++) {
            int32_t oc;
            for (oc = c_begin; oc < c_end; oc++) {
                const int32_t channel0 = (oc / group_out) * group_in;
                int32_t acc = 0;
                int32_t ky;
                for (ky = 0; ky < p->filter_h; ky++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    int32_t kx;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->filter_w; kx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        const int8_t *x;
                        const int8_t *w;
                        int32_t c;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        x = image + (iy * p->in_w + ix) * p->in_c + channel0;
                        w = weights + ((oc * p->filter_h + ky) * p->filter_w + kx) * group_in;
                        for (c = 0; c < group_in; c++) {
                            acc += (x[c] + p->input_offset) * w[c];
                        }
                    }
                }
                out_row[ox * p->out_c + oc] = finish(p, acc, bias, oc);
            }
        }
    }
}

/* Overflow: at most filter_h * filter_w products of magnitude <= 255 * 128 per output. */
void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_s8_params *p = (const ariel_conv_s8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const int32_t *bias = (const int32_t *)buffers[2];
    int8_t *output = (int8_t *)buffers[3];
    const int32_t blocks = (p->out_c + p->channel_block - 1) / p->channel_block;
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t row = item / blocks;
        const int32_t c_begin = (item % blocks) * p->channel_block;
        const int32_t c_end = c_begin + p->channel_block < p->out_c ? c_begin + p->channel_block : p->out_c;
        const int32_t batch = row / p->out_h;
        const int32_t oy = row % p->out_h;
        const int8_t *image = input + batch * p->in_h * p->in_w * p->in_c;
        int8_t *out_row = output + row * p->out_w * p->out_c;
        int32_t ox;
        for (ox = 0; ox < p->out_w; ox++) {
            int32_t oc;
            for (oc = c_begin; oc < c_end; oc++) {
                const int32_t ic = oc / p->depth_multiplier;
                int32_t acc = 0;
                int32_t ky;
                for (ky = 0; ky < p->filter_h; ky++) {
                    const int32_t iy = oy * p->stride_h - p->pad_top + ky * p->dilation_h;
                    int32_t kx;
                    if (iy < 0 || iy >= p->in_h) {
                        continue;
                    }
                    for (kx = 0; kx < p->filter_w; kx++) {
                        const int32_t ix = ox * p->stride_w - p->pad_left + kx * p->dilation_w;
                        if (ix < 0 || ix >= p->in_w) {
                            continue;
                        }
                        acc += (image[(iy * p->in_w + ix) * p->in_c + ic] + p->input_offset) *
                               weights[(ky * p->filter_w + kx) * p->out_c + oc];
                    }
                }
                out_row[ox * p->out_c + oc] = finish(p, acc, bias, oc);
            }
        }
    }
}
