/* kernels/pool_f32.c - AVERAGE_POOL_2D and MAX_POOL_2D on float32 NHWC tensors.
 *
 * As LiteRT's reference kernels, and arielml's numpy reference (ops/float_order.py), bit for bit:
 * the average sums in float, tap by tap in row-major window order, then divides by the number of
 * in-bounds taps in float (so a sum that overflows is +-inf here too); the maximum starts at
 * -FLT_MAX and takes a tap only when it is greater (a NaN never wins). Both results are clamped to
 * the activation range, [-FLT_MAX, FLT_MAX] without activation. */
#include <float.h>

#include "ariel_kernels.h"

static float clamp_f32(float v, const float *range)
{
    /* a NaN passes through, as in LiteRT's min(max(v, lo), hi) */
    return v < range[0] ? range[0] : v > range[1] ? range[1] : v;
}

void ariel_average_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pool_params *p = (const ariel_pool_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    ariel_pool_cursor cursor;
    int32_t item;

    ariel_pool_seek(p, begin, &cursor);
    for (item = begin; item < end; item++, ariel_pool_advance(p, &cursor)) {
        float acc[ARIEL_POOL_MAX_CHANNEL_BLOCK];
        ariel_pool_window w;
        int32_t n, y, x, c;
        float count;
        ariel_pool_window_at(p, &cursor, &w);
        n = w.c1 - w.c0;
        for (c = 0; c < n; c++) {
            acc[c] = 0.0f;
        }
        for (y = w.y0; y < w.y1; y++) {
            for (x = w.x0; x < w.x1; x++) {
                const float *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;
                for (c = 0; c < n; c++) {
                    acc[c] += px[c];
                }
            }
        }
        count = (float)((w.y1 - w.y0) * (w.x1 - w.x0));
        for (c = 0; c < n; c++) {
            output[w.out + c] = clamp_f32(acc[c] / count, p->float_range);
        }
    }
}

void ariel_max_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pool_params *p = (const ariel_pool_params *)params;
    const float *input = (const float *)buffers[0];
    float *output = (float *)buffers[1];
    ariel_pool_cursor cursor;
    int32_t item;

    ariel_pool_seek(p, begin, &cursor);
    for (item = begin; item < end; item++, ariel_pool_advance(p, &cursor)) {
        float best[ARIEL_POOL_MAX_CHANNEL_BLOCK];
        ariel_pool_window w;
        int32_t n, y, x, c;
        ariel_pool_window_at(p, &cursor, &w);
        n = w.c1 - w.c0;
        for (c = 0; c < n; c++) {
            best[c] = -FLT_MAX;
        }
        for (y = w.y0; y < w.y1; y++) {
            for (x = w.x0; x < w.x1; x++) {
                const float *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;
                for (c = 0; c < n; c++) {
                    best[c] = px[c] > best[c] ? px[c] : best[c]; /* false for NaN */
                }
            }
        }
        for (c = 0; c < n; c++) {
            output[w.out + c] = clamp_f32(best[c], p->float_range);
        }
    }
}
