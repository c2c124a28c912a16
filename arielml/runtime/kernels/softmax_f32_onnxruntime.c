/* kernels/softmax_f32_onnxruntime.c - the float SOFTMAX of a DEQUANTIZE -> SOFTMAX -> QUANTIZE island
 * computed as onnxruntime's QLinearSoftmax (semantics "onnxruntime"; arielml/ops/ort_softmax.py says
 * what and how it was measured). Per row of the last axis: the stored input bytes recovered from
 * their dequantised values (x / x_scale is within 2^-16 of an integer), indexed relative to the row's
 * maximum into the compiler's table of exponentials, summed in float32 in order, and each output
 * round_half_even(t * floor(1 / y_scale) / sum) + zero point, saturated, given back dequantised (the
 * QUANTIZE after this maps it to that byte exactly). The output row holds the bytes between passes. */
#include "ariel_kernels.h"
#include "ariel_round_even.h"

/* ariel:interface */
typedef struct {
    int32_t rows, depth;
    float x_scale;
    int32_t x_zero;    /* stored zero point */
    int32_t raw_shift; /* 128: onnxruntime computes on uint8 values (the stored int8 + 128); 0: int8 */
    float y_scale_floor;
    int32_t y_zero;
    float y_scale;
    const float *table; /* 256 entries */
} ariel_softmax_ort_params;
void ariel_softmax_qlinear_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_softmax_qlinear_ort_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_softmax_qlinear_ort(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_softmax_ort_params *p = (const ariel_softmax_ort_params *)params;
    const int32_t top = p->raw_shift ? 255 : 127;
    int32_t row;
    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const float *x = (const float *)buffers[0] + row * p->depth;
        float *y = (float *)buffers[1] + row * p->depth;
        int32_t i, largest = -1000;
        float sum = 0.0f;
        for (i = 0; i < p->depth; i++) { /* the bytes onnxruntime sees, kept in y for now */
            const int32_t raw = ariel_round_half_even(x[i] / p->x_scale) + p->x_zero + p->raw_shift;
            y[i] = (float)raw;
            largest = raw > largest ? raw : largest;
        }
        for (i = 0; i < p->depth; i++) {
            sum += p->table[(uint8_t)(top - largest + (int32_t)y[i])];
        }
        for (i = 0; i < p->depth; i++) {
            const float t = p->table[(uint8_t)(top - largest + (int32_t)y[i])];
            int32_t v = ariel_round_half_even((t * p->y_scale_floor) / sum) + p->y_zero + p->raw_shift;
            v = (v > top ? top : v) - p->raw_shift;
            y[i] = (float)(v - p->y_zero) * p->y_scale;
        }
    }
}

/* the same on an int8 SOFTMAX (stored bytes in and out: an island the int8 kernel took) */
void ariel_softmax_qlinear_ort_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_softmax_ort_params *p = (const ariel_softmax_ort_params *)params;
    const int32_t top = p->raw_shift ? 255 : 127;
    int32_t row;
    end = end < p->rows ? end : p->rows;
    for (row = begin; row < end; row++) {
        const int8_t *x = (const int8_t *)buffers[0] + row * p->depth;
        int8_t *y = (int8_t *)buffers[1] + row * p->depth;
        int32_t i, largest = -1000;
        float sum = 0.0f;
        for (i = 0; i < p->depth; i++) {
            largest = x[i] > largest ? x[i] : largest;
        }
        largest += p->raw_shift;
        for (i = 0; i < p->depth; i++) {
            sum += p->table[(uint8_t)(top - largest + x[i] + p->raw_shift)];
        }
        for (i = 0; i < p->depth; i++) { /* x[i] is read before y[i] is written (in place allowed) */
            const float t = p->table[(uint8_t)(top - largest + x[i] + p->raw_shift)];
            int32_t v = ariel_round_half_even((t * p->y_scale_floor) / sum) + p->y_zero + p->raw_shift;
            y[i] = (int8_t)((v > top ? top : v) - p->raw_shift);
        }
    }
}
