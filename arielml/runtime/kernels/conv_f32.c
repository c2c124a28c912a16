/* kernels/conv_f32.c - CONV_2D and DEPTHWISE_CONV_2D, float32 (and hybrid models, whose int8
 * weights the compiler dequantised into params.weights). Kept apart from conv.c so that integer
 * models contain no floating point. */
#include "ariel_kernels.h"

/* Accumulates in float in tap order, then adds the bias (0 without one), as LiteRT's reference
 * kernels: the numpy reference does the same for depthwise (bit-exact); for CONV_2D it sums in
 * float64 and rounds once unless a partial sum could overflow (ops/float_order.py), so results agree
 * within the float32 rounding error of the window sum. Per-tensor hybrid CONV_2D has its own kernel,
 * hybrid_f32.c. */

static float clamp_f32(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void ariel_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_f32_params *p = (const ariel_conv_f32_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const float *input = (const float *)buffers[0];
    const float *weights = p->weights != 0 ? p->weights : (const float *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
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
            const float *image = input + batch * g->in_h * g->in_w * g->in_c;
            for (ox = 0; ox < g->out_w; ox++) {
                for (oc = c_begin; oc < c_end; oc++) {
                    const float *w = weights + oc * window;
                    const int32_t channel0 = (oc / group_out) * group_in;
                    float acc = 0.0f;
                    int32_t ky, kx, c;
                    for (ky = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky * g->dilation_h;
                        for (kx = 0; kx < g->filter_w; kx++, w += group_in) {
                            const int32_t ix = ox * g->stride_w - g->pad_left + kx * g->dilation_w;
                            const float *x;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
                                continue;
                            }
                            x = image + (iy * g->in_w + ix) * g->in_c + channel0;
                            for (c = 0; c < group_in; c++) {
                                acc += x[c] * w[c];
                            }
                        }
                    }
                    acc += bias != 0 ? bias[oc] : 0.0f; /* as LiteRT: -0 + 0 without a bias is +0 */
                    output[(row * g->out_w + ox) * g->out_c + oc] = clamp_f32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

void ariel_depthwise_conv_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_f32_params *p = (const ariel_conv_f32_params *)params;
    const ariel_conv_geometry *g = &p->g;
    const float *input = (const float *)buffers[0];
    const float *weights = p->weights != 0 ? p->weights : (const float *)buffers[1];
    const float *bias = (const float *)buffers[2];
    float *output = (float *)buffers[3];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end, ox, oc;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const float *image = input + batch * g->in_h * g->in_w * g->in_c;
            for (ox = 0; ox < g->out_w; ox++) {
                for (oc = c_begin; oc < c_end; oc++) {
                    const int32_t ic = oc / g->depth_multiplier;
                    float acc = 0.0f;
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
                    acc += bias != 0 ? bias[oc] : 0.0f; /* as LiteRT: -0 + 0 without a bias is +0 */
                    output[(row * g->out_w + ox) * g->out_c + oc] = clamp_f32(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
