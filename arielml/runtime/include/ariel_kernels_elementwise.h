/* ariel_kernels_elementwise.h - params structs and entry points of the elementwise arithmetic
 * (ADD, SUB, MUL, MAXIMUM, MINIMUM with broadcasting), QUANTIZE / DEQUANTIZE, and the RELU family
 * and LEAKY_RELU kernels. Included by ariel_kernels.h; same ABI and rules as the kernels there.
 * Files: kernels/elementwise.c (integer binary), elementwise_f32.c (float binary), unary.c
 * (integer single-input), unary_f32.c (float input or output); an integer model's library links
 * only the integer files, so it contains no floating point. Loops: ariel_elementwise_loops.h.
 *
 * Work items: every kernel here splits its output into blocks of `block` consecutive elements
 * (the last block may be shorter); item k covers output elements [k * block, (k + 1) * block).
 * Kernels that map element i of input 0 to element i of the output read it before writing, so
 * they are correct in place (output buffer == input 0 buffer). */
#ifndef ARIEL_KERNELS_ELEMENTWISE_H
#define ARIEL_KERNELS_ELEMENTWISE_H

#include <stdint.h>

#define ARIEL_MAX_BROADCAST_RANK 6

/* ---- ADD, SUB, MUL, MAXIMUM, MINIMUM ----------------------------------------------------------
 * buffers: a, b, output. The compiler merges dimensions, so `rank` is usually 1 (no broadcasting)
 * or 2-3; dims/strides are outermost first; a stride is 0 along a dimension the input broadcasts.
 * One struct serves every binary kernel; a kernel reads only the fields its arithmetic needs. */
typedef struct {
    int32_t count; /* output elements */
    int32_t block; /* output elements per work item */
    int32_t rank;  /* 1..ARIEL_MAX_BROADCAST_RANK */
    const int32_t *dims;
    const int32_t *a_strides; /* in elements */
    const int32_t *b_strides;
    /* quantised ADD / SUB (TFLite's general path) and MUL */
    int32_t a_offset; /* -zero point of a */
    int32_t b_offset;
    int32_t left_shift; /* ADD/SUB: 20 for 8-bit, 15 for int16 */
    int32_t a_multiplier, a_shift;
    int32_t b_multiplier, b_shift;
    int32_t output_multiplier, output_shift; /* MUL: the one multiplier */
    int32_t output_offset;                   /* output zero point */
    int32_t rounding;                        /* ARIEL_ROUND_SINGLE / ARIEL_ROUND_DOUBLE */
    /* int16 ADD / SUB with power-of-two scales: right shifts of a and b */
    int32_t a_right_shift, b_right_shift;
    int32_t subtract; /* ADD/SUB kernels: 1 = a - b */
    /* clamps of the fused activation: integer kernels use act_*, float kernels float_* */
    int32_t act_min, act_max;
    float float_min, float_max;
    /* quantised ADD/SUB/MUL, 32-bit requantisation (ariel_rq records, rounding as data): rq is the
     * output's (MUL: the one), a_rq / b_rq the inputs' (int16 ADD/SUB); 8-bit ADD/SUB read each
     * input's scaled value from a 256-entry table indexed by the stored byte (uint8_t)x, with SUB's
     * sign folded into b_table */
    const int32_t *rq;
    const int32_t *a_rq, *b_rq;
    const int32_t *a_table, *b_table;
} ariel_binary_params;

/* quantised ADD/SUB (general path) */
void ariel_add_sub_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_add_sub_q_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_add_sub_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* int16 ADD/SUB, power-of-two scales (LiteRT's default for int16) */
void ariel_add_sub_pot_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* quantised MUL */
void ariel_mul_q_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_q_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* not quantised: float32 and wrapping int32, then the activation clamp */
void ariel_add_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_sub_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_add_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_sub_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* MAXIMUM / MINIMUM compare the stored values (TFLite ignores quantisation here) */
void ariel_maximum_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_maximum_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_maximum_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_maximum_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_maximum_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_minimum_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_minimum_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_minimum_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_minimum_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_minimum_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- 8-bit lookup tables (unary.c; float output: unary_f32.c) ----------------------------------
 * Any per-tensor unary operator on an int8 or uint8 input (requantising QUANTIZE, DEQUANTIZE, the
 * quantised RELU family, LEAKY_RELU) is a 256-entry table the compiler fills by running the numpy
 * reference on every input value, so the C result is the reference by construction. The table is
 * indexed by the input byte's bit pattern (uint8_t)x. buffers: input, output. */
typedef struct {
    int32_t count;
    int32_t block;
    const void *table; /* 256 entries of the output type */
} ariel_table8_params;

void ariel_table8_to_8(const void *params, void *const *buffers, int32_t begin, int32_t end);   /* int8/uint8 out */
void ariel_table8_to_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_table8_to_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- requantisation of int16 / int32 inputs (unary.c) -----------------------------------------
 * QUANTIZE int16/int32 -> int8/uint8/int16/int32 and the int16 RELU family:
 * out = clamp((x - input_zero_point) * M + output_zero_point, out_min, out_max), with int32
 * wrap-around where TFLite's int32 arithmetic wraps. buffers: input, output. */
typedef struct {
    int32_t count;
    int32_t block;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
    int32_t rounding;
    int32_t out_min, out_max;
} ariel_requantize_params;

void ariel_requantize_s16_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s16_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s16_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s16_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s32_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s32_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_requantize_s32_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- QUANTIZE float32 -> int, DEQUANTIZE int -> float32 (unary_f32.c) --------------------------
 * Per tensor (channels = 1, inner = count) or per channel: element i belongs to channel
 * (i / inner) % channels. buffers: input, output. */
typedef struct {
    int32_t count;
    int32_t block;
    int32_t channels;
    int32_t inner; /* elements after the channel axis */
    const float *scales;
    const int32_t *zero_points;
    int32_t out_min, out_max; /* QUANTIZE: the output type's range */
} ariel_affine_params;

void ariel_quantize_f32_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_quantize_f32_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_quantize_f32_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_dequantize_s8_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_dequantize_u8_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_dequantize_s16_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- RELU family and LEAKY_RELU on float32 (unary_f32.c) and int16 (unary.c) -------
 * float32 clamp: x < lower ? lower : (x > upper ? upper : x) (keeps NaN, as TFLite).
 * float32 LEAKY_RELU: x > 0 ? x : x * alpha.
 * int16 LEAKY_RELU: (x - input_zero_point) scaled by the identity multiplier when >= 0, by
 * |alpha multiplier| (negated afterwards when alpha < 0) otherwise; + output zero point, clamped.
 * int16 stored-value clamp (TFLite Micro's RELU6): clamp(x, act_min, act_max).
 * buffers: input, output. */
typedef struct {
    int32_t count;
    int32_t block;
    float lower, upper; /* float clamp */
    float alpha;        /* float LEAKY_RELU */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift; /* |multiplier| of input_scale * alpha / output_scale */
    int32_t alpha_negative;                /* 1 when alpha < 0 */
    int32_t rounding;
    int32_t act_min, act_max;
} ariel_activation_params;

void ariel_clamp_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_clamp_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_leaky_relu_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_leaky_relu_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);

#endif /* ARIEL_KERNELS_ELEMENTWISE_H */
