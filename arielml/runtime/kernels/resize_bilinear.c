/* kernels/resize_bilinear.c - RESIZE_BILINEAR over NHWC tensors: float32 (f32), legacy uint8 (u8,
 * through the same float32 expression, as LiteRT's reference), int8 (s8) and int16 (s16) in
 * integers only (LiteRT's ResizeBilinearInteger).
 *
 * The compiler computed every output row's and column's two input indices and their weights exactly
 * as the reference does (arielml/ops/resize_bilinear.py); one work item = one output row (batch
 * folded in). */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    int32_t in_h, in_w, out_h, out_w, channels;
    const int32_t *row_lower, *row_upper; /* input row of each output row */
    const int32_t *col_lower, *col_upper; /* input column of each output column */
    /* per output row / column: {weight of lower, weight of upper}; float for f32 and u8,
     * int32_t (1024 - f, f) for s8 and s16 */
    const void *row_weights, *col_weights;
} ariel_resize_bilinear_params;
void ariel_resize_bilinear_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_resize_bilinear_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_resize_bilinear_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_resize_bilinear_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* float32 (and uint8 with the +0.5 and truncation): ((v00 wy0) wx0 + (v10 wy1) wx0) + (v01 wy0) wx1
 * + (v11 wy1) wx1, one float operation at a time in the reference's order. */
#define DEFINE_FLOAT_BILINEAR(NAME, T, FINISH)                                                         \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                   \
    {                                                                                                  \
        const ariel_resize_bilinear_params *p = (const ariel_resize_bilinear_params *)params;         \
        const T *input = (const T *)buffers[0];                                                        \
        T *output = (T *)buffers[1];                                                                   \
        const float *row_weights = (const float *)p->row_weights;                                      \
        const float *col_weights = (const float *)p->col_weights;                                      \
        int32_t item;                                                                                  \
        for (item = begin; item < end; item++) {                                                       \
            const int32_t n = item / p->out_h, y = item % p->out_h;                                    \
            const T *in_lower = input + ((int64_t)n * p->in_h + p->row_lower[y]) * p->in_w * p->channels; \
            const T *in_upper = input + ((int64_t)n * p->in_h + p->row_upper[y]) * p->in_w * p->channels; \
            const float wy0 = row_weights[2 * y], wy1 = row_weights[2 * y + 1];                        \
            T *out = output + (int64_t)item * p->out_w * p->channels;                                  \
            int32_t x, c;                                                                              \
            for (x = 0; x < p->out_w; x++) {                                                           \
                const int32_t x0 = p->col_lower[x] * p->channels, x1 = p->col_upper[x] * p->channels;  \
                const float wx0 = col_weights[2 * x], wx1 = col_weights[2 * x + 1];                    \
                for (c = 0; c < p->channels; c++) {                                                    \
                    float total = (float)in_lower[x0 + c] * wy0 * wx0 + (float)in_upper[x0 + c] * wy1 * wx0; \
                    total = total + (float)in_lower[x1 + c] * wy0 * wx1;                               \
                    total = total + (float)in_upper[x1 + c] * wy1 * wx1;                               \
                    out[x * p->channels + c] = FINISH;                                                 \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

DEFINE_FLOAT_BILINEAR(ariel_resize_bilinear_f32, float, total)
/* the weights of a row (column) sum to 1 (a negative one only where both indices are the same
 * pixel), so total + 0.5 stays inside [0, 256): the conversion is defined */
DEFINE_FLOAT_BILINEAR(ariel_resize_bilinear_u8, uint8_t, (uint8_t)(total + 0.5f))

/* int8 / int16: the weights are in 1/1024 steps, |wy0| + |wy1| <= 2048 and |wx0| + |wx1| <= 2048
 * (half-pixel centres can give a weight of up to 1536 and one of -512 on the same pixel), so
 * |total| <= |v| * 2^22: below 2^29 for int8, in int32 (ACC_T), and below 2^37 for int16, in int64.
 * The blend is factored as (v00 wy0 + v10 wy1) wx0 + (v01 wy0 + v11 wy1) wx1: the same integer as
 * the reference's four products. The sum is divided by 2^20 rounding half away from zero, as the
 * reference (its builds without TFLITE_SINGLE_ROUNDING). */
#define DEFINE_INTEGER_BILINEAR(NAME, T, ACC_T)                                                        \
    void NAME(const void *params, void *const *buffers, int32_t begin, int32_t end)                   \
    {                                                                                                  \
        const ariel_resize_bilinear_params *p = (const ariel_resize_bilinear_params *)params;         \
        const T *input = (const T *)buffers[0];                                                        \
        T *output = (T *)buffers[1];                                                                   \
        const int32_t *row_weights = (const int32_t *)p->row_weights;                                  \
        const int32_t *col_weights = (const int32_t *)p->col_weights;                                  \
        const int32_t input_row = p->in_w * p->channels;                                               \
        int32_t item;                                                                                  \
        for (item = begin; item < end; item++) {                                                       \
            const int32_t n = item / p->out_h, y = item % p->out_h;                                    \
            const T *in_lower = input + (n * p->in_h + p->row_lower[y]) * input_row;                   \
            const T *in_upper = input + (n * p->in_h + p->row_upper[y]) * input_row;                   \
            const ACC_T wy0 = row_weights[2 * y], wy1 = row_weights[2 * y + 1];                        \
            T *out = output + item * p->out_w * p->channels;                                           \
            int32_t x, c;                                                                              \
            for (x = 0; x < p->out_w; x++) {                                                           \
                const int32_t x0 = p->col_lower[x] * p->channels, x1 = p->col_upper[x] * p->channels;  \
                const ACC_T wx0 = col_weights[2 * x], wx1 = col_weights[2 * x + 1];                    \
                for (c = 0; c < p->channels; c++) {                                                    \
                    const ACC_T total = (in_lower[x0 + c] * wy0 + in_upper[x0 + c] * wy1) * wx0 +      \
                                        (in_lower[x1 + c] * wy0 + in_upper[x1 + c] * wy1) * wx1;       \
                    const ACC_T round = total > 0 ? ((ACC_T)1 << 19) : -((ACC_T)1 << 19);              \
                    *out++ = (T)((total + round) / ((ACC_T)1 << 20));                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    }

DEFINE_INTEGER_BILINEAR(ariel_resize_bilinear_s8, int8_t, int32_t)
DEFINE_INTEGER_BILINEAR(ariel_resize_bilinear_s16, int16_t, int64_t)
