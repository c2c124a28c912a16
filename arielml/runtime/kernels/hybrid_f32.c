/* kernels/hybrid_f32.c - hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: float32 input and
 * output, int8 weights (zero point 0), float bias. First half: per-tensor weights, computed as
 * LiteRT computes them (arielml/ops/hybrid.py has the reasoning and the measurements):
 *   - each batch's input is quantised on the fly to symmetric int8 with scale range / 127, where
 *     range = max(|min|, |max|) and min, max come from the pairwise scan of std::minmax_element
 *     (the scan decides where a NaN ends up, so it is replayed exactly);
 *   - q = clamp(round_half_away(x * (127 / range)), -127, 127), where LiteRT's x86 build gives -127
 *     for NaN and -inf, and for +inf 127 among the first size - size % 8 values of the batch (its
 *     8-wide loop) but -127 in the last size % 8 (its scalar tail: the undefined int cast's
 *     INT32_MIN); reproduced here without undefined behaviour;
 *   - int32 accumulation of q * w (padding taps add nothing), then
 *     out = clamp((0.0f + (float)acc * (input_scale * filter_scale)) + bias).
 * FULLY_CONNECTED gives the bias for an all-zero input (LiteRT's own test, below), else quantises
 * each row the same way and computes bias + (float)acc * scale, then LiteRT's vector activation
 * (only the activation's own bounds; NaN becomes the lower bound).
 * Each call computes a batch's (row's) scales from the input once and reuses them for its work
 * items of that batch, so any split of the work gives the same scales. Taps per output <= 133143
 * (checked by the compiler): |acc| < 2^31.
 * Per-channel CONV_2D and DEPTHWISE_CONV_2D quantise asymmetrically: see the second half. The
 * quantisation helpers are shared with the hybrid LSTM (runtime/include/ariel_hybrid_quant.h). */
#include "ariel_hybrid_quant.h"
#include "ariel_kernels.h"

void ariel_conv_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_hybrid_params *p = (const ariel_conv_hybrid_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const float *input = (const float *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    const int32_t image_size = g->in_h * g->in_w * g->in_c;
    const int32_t window = g->filter_h * g->filter_w * g->in_c;
    const int32_t tail = image_size - image_size % 8; /* LiteRT's 8-wide loop ends here */
    int32_t scaled_batch = -1; /* the batch whose scales are below (they depend on its input only) */
    int32_t quantised = 0;     /* 0: every q is 0 */
    float inverse = 0.0f, scale = 0.0f;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const float *image = input + batch * image_size;
            if (batch != scaled_batch) {
                float input_scale;
                quantised = batch_scales(image, image_size, &inverse, &input_scale);
                scale = input_scale * p->filter_scale;
                scaled_batch = batch;
            }
            for (ox = 0; ox < g->out_w; ox++) {
                int32_t acc[ARIEL_CONV_MAX_CHANNEL_BLOCK];
                int32_t ky, kx, c, at;
                for (oc = c_begin; oc < c_end; oc++) {
                    acc[oc - c_begin] = 0;
                }
                for (ky = 0; quantised && ky < g->filter_h; ky++) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                    for (kx = 0; kx < g->filter_w; kx++) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                        const int32_t tap = (ky * g->filter_w + kx) * g->in_c;
                        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                            continue; /* padding taps add nothing */
                        }
                        at = (iy * g->in_w + ix) * g->in_c; /* index in the batch */
                        for (c = 0; c < g->in_c; c++) {
                            /* each input quantised once, used by the whole channel block */
                            const int32_t q = quantise(image[at + c], inverse, at + c, tail);
                            const int8_t *w = weights + tap + c;
                            for (oc = c_begin; oc < c_end; oc++) {
                                acc[oc - c_begin] += q * (int32_t)w[oc * window];
                            }
                        }
                    }
                }
                for (oc = c_begin; oc < c_end; oc++) {
                    float y = 0.0f + (float)acc[oc - c_begin] * scale;
                    if (bias != 0) {
                        y += bias[oc];
                    }
                    /* std::min(std::max(y, lo), hi): NaN passes through */
                    output[(row * g->out_w + ox) * g->out_c + oc] =
                        y < p->act_min ? p->act_min : y > p->act_max ? p->act_max : y;
                }
            }
        }
    }
}

/* std::max(lo, std::min(y, hi)) with only the bounds the activation has */
static float vector_activation(float y, const ariel_fully_connected_hybrid_params *p)
{
    if (p->has_max && p->act_max < y) {
        y = p->act_max;
    }
    if (p->has_min && !(p->act_min < y)) {
        y = p->act_min; /* also for NaN */
    }
    return y;
}

void ariel_fully_connected_hybrid_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_hybrid_params *p = (const ariel_fully_connected_hybrid_params *)params;
    const float *input = (const float *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    const int32_t tail = p->depth - p->depth % 8; /* LiteRT's 8-wide loop ends here */
    int32_t row = begin / p->units;
    int32_t unit = begin - row * p->units;
    int32_t scaled_row = -1; /* the row whose scales are below */
    int32_t quantised = 0;
    float inverse = 0.0f, scale = 0.0f;
    /* an all-zero input skips the product (output = bias); same answer for every work split */
    const int32_t zero_input = begin < end && is_zero_vector(input, p->rows * p->depth);
    int32_t item;
    for (item = begin; item < end; item++) {
        const float *x = input + row * p->depth;
        const int8_t *w = weights + unit * p->depth;
        int32_t acc = 0;
        int32_t d;
        float y;
        if (zero_input) {
            output[item] = vector_activation(bias != 0 ? bias[unit] : 0.0f, p);
        } else {
            if (row != scaled_row) {
                float input_scale;
                quantised = batch_scales(x, p->depth, &inverse, &input_scale);
                scale = input_scale * p->filter_scale;
                scaled_row = row;
            }
            for (d = 0; quantised && d < p->depth; d++) {
                acc += quantise(x[d], inverse, d, tail) * (int32_t)w[d];
            }
            y = (bias != 0 ? bias[unit] : 0.0f) + (float)acc * scale;
            output[item] = vector_activation(y, p);
        }
        if (++unit == p->units) {
            unit = 0;
            row++;
        }
    }
}

/* ---- per-channel CONV_2D and DEPTHWISE_CONV_2D: asymmetric input quantisation ------------------
 * (ops/hybrid.py, asymmetric_quantize: matched with LiteRT on finite inputs). All in float32:
 * rmin = min(0, min), rmax = max(0, max); scale = (rmax - rmin) / 255; the zero point from the end
 * with the smaller error, clamped to [-128, 127], rounded half away; q = clamp(round(zero point +
 * x / scale), -128, 127) with NaN giving -128. Returns 0 when rmin == rmax (every q - zero point is 0).
 * The helpers are in ariel_hybrid_quant.h. */

void ariel_conv_hybrid_pc_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_hybrid_pc_params *p = (const ariel_conv_hybrid_pc_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const float *input = (const float *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    const int32_t image_size = g->in_h * g->in_w * g->in_c;
    const int32_t window = g->filter_h * g->filter_w * g->in_c;
    int32_t scaled_batch = -1, quantised = 0, zero_point = 0;
    float inverse = 0.0f, input_scale = 1.0f;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const float *image = input + batch * image_size;
            if (batch != scaled_batch) {
                quantised = asymmetric_scales(image, image_size, &inverse, &input_scale, &zero_point);
                scaled_batch = batch;
            }
            for (ox = 0; ox < g->out_w; ox++) {
                int32_t acc[ARIEL_CONV_MAX_CHANNEL_BLOCK]; /* |w * (q - zero point)| <= 127 * 255 per tap */
                int32_t ky, kx, c, at;
                for (oc = c_begin; oc < c_end; oc++) {
                    acc[oc - c_begin] = 0;
                }
                for (ky = 0; quantised && ky < g->filter_h; ky++) {
                    const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                    for (kx = 0; kx < g->filter_w; kx++) {
                        const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                        const int32_t tap = (ky * g->filter_w + kx) * g->in_c;
                        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                            continue; /* taps outside the input add nothing */
                        }
                        at = (iy * g->in_w + ix) * g->in_c;
                        for (c = 0; c < g->in_c; c++) {
                            const int32_t centred =
                                quantise_asymmetric(image[at + c], inverse, zero_point) - zero_point;
                            const int8_t *w = weights + tap + c;
                            for (oc = c_begin; oc < c_end; oc++) {
                                acc[oc - c_begin] += centred * (int32_t)w[oc * window];
                            }
                        }
                    }
                }
                for (oc = c_begin; oc < c_end; oc++) {
                    float y = ((float)acc[oc - c_begin] * p->channel_scales[oc]) * input_scale;
                    y += bias != 0 ? bias[oc] : 0.0f;
                    output[(row * g->out_w + ox) * g->out_c + oc] =
                        y < p->act_min ? p->act_min : y > p->act_max ? p->act_max : y;
                }
            }
        }
    }
}

void ariel_depthwise_conv_hybrid_pc_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_hybrid_pc_params *p = (const ariel_conv_hybrid_pc_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const float *input = (const float *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    const int32_t image_size = g->in_h * g->in_w * g->in_c;
    int32_t scaled_batch = -1, quantised = 0, zero_point = 0;
    float inverse = 0.0f, input_scale = 1.0f;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const float *image = input + batch * image_size;
            if (batch != scaled_batch) { /* the scales depend on the batch's input only */
                quantised = asymmetric_scales(image, image_size, &inverse, &input_scale, &zero_point);
                scaled_batch = batch;
            }
            for (ox = 0; ox < g->out_w; ox++) {
                for (oc = c_begin; oc < c_end; oc++) {
                    const int32_t ic = oc / g->depth_multiplier;
                    int32_t acc = 0;
                    int32_t ky, kx;
                    float y;
                    for (ky = 0; quantised && ky < g->filter_h; ky++) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                        if (iy < 0 || iy >= g->in_h) {
                            continue;
                        }
                        for (kx = 0; kx < g->filter_w; kx++) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                            if (ix >= 0 && ix < g->in_w) {
                                const float v = image[(iy * g->in_w + ix) * g->in_c + ic];
                                acc += (quantise_asymmetric(v, inverse, zero_point) - zero_point) *
                                       (int32_t)weights[(ky * g->filter_w + kx) * g->out_c + oc];
                            }
                        }
                    }
                    y = (float)acc * (p->channel_scales[oc] * input_scale);
                    y += bias != 0 ? bias[oc] : 0.0f;
                    output[(row * g->out_w + ox) * g->out_c + oc] =
                        y < p->act_min ? p->act_min : y > p->act_max ? p->act_max : y;
                }
            }
        }
    }
}
