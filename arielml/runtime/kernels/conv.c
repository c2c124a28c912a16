/* kernels/conv.c - legacy uint8 (u8) and int16-activation (s16, int8 weights) CONV_2D and
 * DEPTHWISE_CONV_2D over NHWC tensors; int8 is in conv_s8.c, float32 in conv_f32.c (so that integer
 * models contain no floating point). The 8-bit loops are in ariel_conv_q8_portable.h. */
#include "ariel_conv_q8_portable.h"

void ariel_conv_u8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    conv_q8((const ariel_conv_params *)params, buffers, begin, end, 1);
}


void ariel_depthwise_conv_u8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    depthwise_q8((const ariel_conv_params *)params, buffers, begin, end, 1);
}

/* ---- 16x8: int16 activations (zero point 0: padded taps add nothing), int8 weights --------------- */

/* TFLite's requantisation of int64 accumulators: the multiplier reduced to 16 bits, one rounding.
 * The product wraps in 64 bits as the reference's int64 arithmetic does; shift is in [-31, 14]. */
static int64_t requantize_wide(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t product = (int64_t)((uint64_t)acc * (uint64_t)reduced);
    const int64_t rounded = (int64_t)((uint64_t)product + ((uint64_t)1 << (total_shift - 1))) >> total_shift;
    return rounded < INT32_MIN ? INT32_MIN : rounded > INT32_MAX ? INT32_MAX : rounded;
}

static int16_t finish_s16(const ariel_conv_params *p, int64_t acc, const void *bias, int32_t oc)
{
    const int32_t k = oc * p->per_channel;
    int64_t v;
    if (bias != 0) {
        const int64_t b = p->bias_is_int64 ? ((const int64_t *)bias)[oc] : (int64_t)((const int32_t *)bias)[oc];
        acc = (int64_t)((uint64_t)acc + (uint64_t)b);
    }
    if (p->wide) {
        v = requantize_wide(acc, p->multiplier[k], p->shift[k]);
    } else { /* int32 accumulator: wraps */
        v = ariel_requantize((int32_t)(uint32_t)(uint64_t)acc, p->multiplier[k], p->shift[k], p->rounding);
    }
    return (int16_t)clamp32(v + p->output_zero_point, p->act_min, p->act_max);
}

/* |x * w| <= 2^15 * 2^7; the int64 sum is exact for any window the compiler accepts */
void ariel_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int16_t *input = (const int16_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const void *bias = buffers[2];
    int16_t *output = (int16_t *)buffers[3];
    const int32_t group_in = g->in_c / g->groups;
    const int32_t group_out = g->out_c / g->groups;
    const int32_t window = g->filter_h * g->filter_w * group_in;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int16_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            for (ox = 0; ox < g->out_w; ox++) {
                for (oc = c_begin; oc < c_end; oc++) {
                    const int8_t *w = weights + oc * window;
                    const int32_t channel0 = (oc / group_out) * group_in;
                    int64_t acc = 0;
                    int32_t ky, kx, c;
                    for (ky = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                        for (kx = 0; kx < g->filter_w; kx++, w += group_in) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                            const int16_t *x;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            x = image + (iy * g->in_w + ix) * g->in_c + channel0;
                            for (c = 0; c < group_in; c++) {
                                acc += x[c] * w[c];
                            }
                        }
                    }
                    output[(row * g->out_w + ox) * g->out_c + oc] = finish_s16(p, acc, bias, oc);
                }
            }
        }
    }
}

void ariel_depthwise_conv_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const int16_t *input = (const int16_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const void *bias = buffers[2];
    int16_t *output = (int16_t *)buffers[3];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int16_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            for (ox = 0; ox < g->out_w; ox++) {
                for (oc = c_begin; oc < c_end; oc++) {
                    const int32_t ic = oc / g->depth_multiplier;
                    int64_t acc = 0; /* at most filter_h * filter_w products of <= 2^22 */
                    int32_t ky, kx;
                    for (ky = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->filter_w; kx++) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                            if (ix >= 0 && ix < g->in_w) {
                                acc += image[(iy * g->in_w + ix) * g->in_c + ic] *
                                       weights[(ky * g->filter_w + kx) * g->out_c + oc];
                            }
                        }
                    }
                    output[(row * g->out_w + ox) * g->out_c + oc] = finish_s16(p, acc, bias, oc);
                }
            }
        }
    }
}
