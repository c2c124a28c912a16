/* ariel_kernels_nonlinear.h - params structs and entry points of the softmax, log-softmax, logistic, tanh, hard-swish (tables prepared at compile time) kernels.
 * Included by ariel_kernels.h; same ABI and rules as the kernels declared there.
 *
 * Work items: SOFTMAX / LOG_SOFTMAX = rows of the last axis (a row is read whole before any of
 * its outputs is written, and no item touches another row); LOGISTIC / TANH / HARD_SWISH = blocks
 * of `block` consecutive elements (the last one may be shorter), each element read before written.
 * Their int8/uint8 variants are 256-entry tables run by ariel_table8_to_8 (unary.c): every TFLite
 * path for them maps one input code to one output code, so the compiler evaluates the reference. */
#ifndef ARIEL_KERNELS_NONLINEAR_H
#define ARIEL_KERNELS_NONLINEAR_H

#include <stdint.h>

/* ---- int16 LOGISTIC / TANH: TFLite's interpolated sigmoid table ---------------------------
 * buffers: input int16, output int16 (Q0.15). */
enum { ARIEL_SIGMOID_LOGISTIC = 0, ARIEL_SIGMOID_TANH = 1 };

typedef struct {
    int32_t count;
    int32_t block;
    int32_t function;          /* ARIEL_SIGMOID_* */
    int32_t multiplier;        /* <= 32767: input code -> 1/(3*4096) per unit */
    int32_t shift;             /* 0..31, rounding right shift after the multiply */
    const int32_t *sigmoid;    /* 256 entries, sigmoid(i/24) in 0.16 (values <= 65535) */
} ariel_sigmoid_s16_params;

void ariel_sigmoid_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- float32 pointwise ---------------------------------------------------------------------- */
typedef struct {
    int32_t count;
    int32_t block;
} ariel_pointwise_f32_params;

void ariel_logistic_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_tanh_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_hard_swish_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- SOFTMAX, int8/uint8 input -------------------------------------------------------------
 * buffers: input [rows x depth] (int8 or uint8), output (int8, uint8 or int16). exp_table[d] is
 * exp(-d * beta * input_scale) in Q0.31 for a difference of d codes below the row maximum, 0 where
 * the difference is below TFLite's diff_min (those terms do not count). */
typedef struct {
    int32_t rows;
    int32_t depth; /* <= 4095, so the Q12.19 sum of exponentials (each <= 2^19) stays < 2^31 */
    const int32_t *exp_table; /* 256 entries */
} ariel_softmax_q8_params;

void ariel_softmax_s8_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_softmax_u8_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_softmax_s8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_softmax_u8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- LOG_SOFTMAX, int8/uint8 in and out (scale 16/256, zero point 127 / 255) --------------- */
typedef struct {
    int32_t rows;
    int32_t depth; /* <= 4095, as for softmax */
    int32_t multiplier; /* input difference -> Q5.26 */
    int32_t shift;
    int32_t reverse_multiplier; /* Q5.26 -> input difference */
    int32_t reverse_shift;
    int32_t diff_min;
    int32_t rounding;
    const int32_t *exp_table; /* as for softmax */
} ariel_log_softmax_q8_params;

void ariel_log_softmax_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_log_softmax_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- SOFTMAX, int16 in and out (scale 1/32768): interpolated exp and 1/(1+x) tables -------- */
typedef struct {
    int32_t rows;
    int32_t depth; /* <= 65536: the sum of exponentials (each <= 32767) stays < 2^31 */
    int32_t multiplier;
    int32_t shift;
    int32_t rounding;
    const int16_t *exp_table;        /* 513 entries */
    const int16_t *reciprocal_table; /* 513 entries */
} ariel_softmax_s16_params;

void ariel_softmax_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- SOFTMAX / LOG_SOFTMAX, float32 --------------------------------------------------------- */
typedef struct {
    int32_t rows;
    int32_t depth;
    float beta; /* softmax only */
} ariel_softmax_f32_params;

void ariel_softmax_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_log_softmax_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

#endif /* ARIEL_KERNELS_NONLINEAR_H */
