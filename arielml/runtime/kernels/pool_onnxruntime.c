/* kernels/pool_onnxruntime.c - AVERAGE_POOL_2D as onnxruntime computes a DQ -> AveragePool -> Q
 * group (semantics "onnxruntime"; arielml/ops/ort_pool.py says what each mode reproduces). The input
 * is int8 (stored bytes) or, for a float island, the dequantised floats; the output likewise (an island
 * gets the dequantised value of the result, which the QUANTIZE after it maps back exactly). Work items
 * and windows as kernels/pool.c. Float32 throughout: soft-float on cores without an FPU. */
#include "ariel_kernels.h"
#include "ariel_round_even.h"

/* ariel:interface */
typedef struct {
    ariel_pool_params pool;
    float x_scale, y_scale;
    int32_t x_zero, y_zero; /* stored zero points */
    int32_t raw_shift;      /* 128: onnxruntime computes on uint8 values (stored int8 + 128) */
    int32_t mode;           /* 0 QLinearAveragePool, 1 float average + QuantizeLinear, 2 global average */
    int32_t integer;        /* 1: int8 in and out; 0: a float island's floats */
} ariel_pool_ort_params;
void ariel_average_pool_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

static int32_t ort_code(const ariel_pool_ort_params *p, const void *input, int32_t index)
{
    if (p->integer) {
        return ((const int8_t *)input)[index];
    }
    return ariel_round_half_even(((const float *)input)[index] / p->x_scale) + p->x_zero;
}

static float ort_value(const ariel_pool_ort_params *p, const void *input, int32_t index)
{
    if (p->integer) {
        return (float)(((const int8_t *)input)[index] - p->x_zero) * p->x_scale;
    }
    return ((const float *)input)[index];
}

static int32_t ort_quantize_mean(const ariel_pool_ort_params *p, float mean)
{
    const float quotient = mean / p->y_scale;
    if (p->mode == 0) { /* nearbyintf(y / y_scale + zero point), saturated to the type it computes on */
        const int32_t top = p->raw_shift ? 255 : 127;
        int32_t raw = ariel_round_half_even(quotient + (float)(p->y_zero + p->raw_shift));
        raw = raw > top ? top : raw < top - 255 ? top - 255 : raw;
        return raw - p->raw_shift;
    } else { /* QuantizeLinear */
        const float lo = (float)(-128 - p->y_zero), hi = (float)(127 - p->y_zero);
        const float q = quotient < lo ? lo : quotient > hi ? hi : quotient;
        return ariel_round_half_even(q) + p->y_zero;
    }
}

void ariel_average_pool_ort(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pool_ort_params *p = (const ariel_pool_ort_params *)params;
    const ariel_pool_params *g = &p->pool;
    const void *input = buffers[0];
    ariel_pool_cursor cursor;
    int32_t item;
    ariel_pool_seek(g, begin, &cursor);
    for (item = begin; item < end; item++, ariel_pool_advance(g, &cursor)) {
        ariel_pool_window w;
        int32_t c;
        ariel_pool_window_at(g, &cursor, &w);
        for (c = w.c0; c < w.c1; c++) {
            const int32_t out = w.out + (c - w.c0);
            const int32_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
            int32_t y, x, q;
            if (p->mode == 2) { /* the whole image: QLinearGlobalAveragePool's integer sum */
                int32_t sum = 0;
                for (y = w.y0; y < w.y1; y++) {
                    for (x = w.x0; x < w.x1; x++) {
                        sum += ort_code(p, input, w.image + (y * g->in_w + x) * g->channels + c);
                    }
                }
                {
                    union {
                        float value;
                        int32_t bits;
                    } scale;
                    scale.value = p->x_scale / (p->y_scale * (float)count);
                    q = ariel_scale_round_even(sum - p->x_zero * count, scale.bits) + p->y_zero;
                    q = q < -128 ? -128 : q > 127 ? 127 : q;
                }
            } else { /* float32 sum, rows then columns, divided by the in-bounds count */
                float total = 0.0f;
                for (y = w.y0; y < w.y1; y++) {
                    for (x = w.x0; x < w.x1; x++) {
                        total += ort_value(p, input, w.image + (y * g->in_w + x) * g->channels + c);
                    }
                }
                q = ort_quantize_mean(p, total / (float)count);
            }
            if (p->integer) {
                ((int8_t *)buffers[1])[out] = (int8_t)q;
            } else {
                ((float *)buffers[1])[out] = (float)(q - p->y_zero) * p->y_scale;
            }
        }
    }
}
