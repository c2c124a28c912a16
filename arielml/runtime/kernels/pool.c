/* kernels/pool.c - AVERAGE_POOL_2D and MAX_POOL_2D on int8, uint8 and int16 NHWC tensors (the
 * float32 variants live in pool_f32.c, so integer models stay free of floating point).
 *
 * Each work item pools one output pixel over a block of channels, tap by tap over the clipped
 * window, with one accumulator per channel of the block. */
#include "ariel_kernels.h"

/* Overflow (average): the int32 sum of a window holds taps * 32768 at most; the compiler refuses
 * windows of 65536 taps or more. Rounding: half away from zero, with C's truncating division, as
 * TFLite's reference kernels divide. The window always holds at least one input position. */
#define DEFINE_AVERAGE_POOL(NAME, T)                                                                  \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                  \
    {                                                                                                 \
        const ariel_pool_params *p = (const ariel_pool_params *)params;                              \
        const T *input = (const T *)buffers[0];                                                       \
        T *output = (T *)buffers[1];                                                                  \
        ariel_pool_cursor cursor;                                                                     \
        int32_t item;                                                                                 \
        ariel_pool_seek(p, begin, &cursor);                                                           \
        for (item = begin; item < end; item++, ariel_pool_advance(p, &cursor)) {                      \
            int32_t acc[ARIEL_POOL_MAX_CHANNEL_BLOCK];                                                \
            ariel_pool_window w;                                                                      \
            int32_t count, n, y, x, c;                                                                \
            ariel_pool_window_at(p, &cursor, &w);                                                     \
            n = w.c1 - w.c0;                                                                          \
            for (c = 0; c < n; c++) {                                                                 \
                acc[c] = 0;                                                                           \
            }                                                                                         \
            for (y = w.y0; y < w.y1; y++) {                                                           \
                for (x = w.x0; x < w.x1; x++) {                                                       \
                    const T *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;           \
                    for (c = 0; c < n; c++) {                                                         \
                        acc[c] += px[c];                                                              \
                    }                                                                                 \
                }                                                                                     \
            }                                                                                         \
            count = (w.y1 - w.y0) * (w.x1 - w.x0);                                                    \
            for (c = 0; c < n; c++) {                                                                 \
                const int32_t mean = acc[c] > 0 ? (acc[c] + count / 2) / count                       \
                                                : (acc[c] - count / 2) / count;                       \
                output[w.out + c] = (T)(mean < p->act_min ? p->act_min                               \
                                                          : mean > p->act_max ? p->act_max : mean);   \
            }                                                                                         \
        }                                                                                             \
    }

#define DEFINE_MAX_POOL(NAME, T, LOWEST)                                                              \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                  \
    {                                                                                                 \
        const ariel_pool_params *p = (const ariel_pool_params *)params;                              \
        const T *input = (const T *)buffers[0];                                                       \
        T *output = (T *)buffers[1];                                                                  \
        ariel_pool_cursor cursor;                                                                     \
        int32_t item;                                                                                 \
        ariel_pool_seek(p, begin, &cursor);                                                           \
        for (item = begin; item < end; item++, ariel_pool_advance(p, &cursor)) {                      \
            int32_t best[ARIEL_POOL_MAX_CHANNEL_BLOCK];                                               \
            ariel_pool_window w;                                                                      \
            int32_t n, y, x, c;                                                                       \
            ariel_pool_window_at(p, &cursor, &w);                                                     \
            n = w.c1 - w.c0;                                                                          \
            for (c = 0; c < n; c++) {                                                                 \
                best[c] = (LOWEST);                                                                   \
            }                                                                                         \
            for (y = w.y0; y < w.y1; y++) {                                                           \
                for (x = w.x0; x < w.x1; x++) {                                                       \
                    const T *px = input + w.image + (y * p->in_w + x) * p->channels + w.c0;           \
                    for (c = 0; c < n; c++) {                                                         \
                        best[c] = px[c] > best[c] ? px[c] : best[c];                                  \
                    }                                                                                 \
                }                                                                                     \
            }                                                                                         \
            for (c = 0; c < n; c++) {                                                                 \
                const int32_t v = best[c];                                                            \
                output[w.out + c] = (T)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v); \
            }                                                                                         \
        }                                                                                             \
    }

DEFINE_AVERAGE_POOL(ariel_average_pool_s8, int8_t)
DEFINE_AVERAGE_POOL(ariel_average_pool_u8, uint8_t)
DEFINE_AVERAGE_POOL(ariel_average_pool_s16, int16_t)
DEFINE_MAX_POOL(ariel_max_pool_s8, int8_t, INT8_MIN)
DEFINE_MAX_POOL(ariel_max_pool_u8, uint8_t, 0)
DEFINE_MAX_POOL(ariel_max_pool_s16, int16_t, INT16_MIN)
