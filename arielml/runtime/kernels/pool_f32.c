/* kernels/pool_f32.c - AVERAGE_POOL_2D and MAX_POOL_2D on float32 NHWC tensors.
 *
 * The average sums in double, tap by tap in row-major window order, and divides by the number of
 * in-bounds taps before rounding to float: the same operations, in the same order, as arielml's
 * numpy reference, so the two agree bit for bit. */
#include <math.h>

#include "ariel_kernels.h"

static float clamp_f32(float v, const float *range)
{
    /* a NaN passes through, as in numpy's clip */
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
        double acc[ARIEL_POOL_MAX_CHANNEL_BLOCK];
        ariel_pool_window w;
        int32_t n, y, x, c;
        double count;
        ariel_pool_window_at(p, &cursor, &w);
        n = w.c1 - w.c0;
        for (c = 0; c < n; c++) {
            acc[c] = 0.0;
        }
        for (y = w.y0; y < w.y1; y++) {
            for (x = w.x0; x < w.x1; x++) {
                const float *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;
                for (c = 0; c < n; c++) {
                    acc[c] += (double)px[c];
                }
            }
        }
        count = (double)((w.y1 - w.y0) * (w.x1 - w.x0));
        for (c = 0; c < n; c++) {
            output[w.out + c] = clamp_f32((float)(acc[c] / count), p->float_range);
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
            best[c] = -INFINITY;
        }
        for (y = w.y0; y < w.y1; y++) {
            for (x = w.x0; x < w.x1; x++) {
                const float *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;
                for (c = 0; c < n; c++) {
                    /* px != px: a NaN wins and stays, as numpy's maximum propagates it */
                    best[c] = (px[c] > best[c] || px[c] != px[c]) ? px[c] : best[c];
                }
            }
        }
        for (c = 0; c < n; c++) {
            output[w.out + c] = clamp_f32(best[c], p->float_range);
        }
    }
}
