/* kernels/unary.c - single-input elementwise kernels on integers: 8-bit lookup tables (every
 * per-tensor QUANTIZE / RELU family / LEAKY_RELU on int8 or uint8), requantisation of int16 and
 * int32 (QUANTIZE, the int16 RELU family), int16 LEAKY_RELU and TFLite Micro's int16 RELU6.
 * (float32 in or out: unary_f32.c.) Each computes out[i] from in[i] alone, reading in[i] first,
 * so it is correct in place when the two types have the same size. */
#include "ariel_elementwise_loops.h"

/* ---- 8-bit lookup tables, indexed by the input byte's bit pattern ---------------------------------- */
#define TABLE_8(p, x) (((const uint8_t *)(p)->table)[x])
#define TABLE_S16(p, x) (((const int16_t *)(p)->table)[x])
ARIEL_UNARY_KERNEL(ariel_table8_to_8, ariel_table8_params, uint8_t, uint8_t, TABLE_8)
ARIEL_UNARY_KERNEL(ariel_table8_to_s16, ariel_table8_params, uint8_t, int16_t, TABLE_S16)

/* ---- requantisation of int16 / int32 inputs ----------------------------------------------------------
 * (x - input zero point), the rescaled value and the output zero point wrap around in int32 as
 * TFLite's int32 arithmetic does (only an int32 input can get there); done unsigned to stay defined. */
static inline int32_t requantize(const ariel_requantize_params *p, int32_t x)
{
    const int32_t centred = (int32_t)((uint32_t)x - (uint32_t)p->input_zero_point);
    const int32_t scaled = (int32_t)ariel_requantize(centred, p->multiplier, p->shift, p->rounding);
    return ariel_ew_clamp(ariel_wrapping_add(scaled, p->output_zero_point), p->out_min, p->out_max);
}

ARIEL_UNARY_KERNEL(ariel_requantize_s16_s8, ariel_requantize_params, int16_t, int8_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s16_u8, ariel_requantize_params, int16_t, uint8_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s16_s16, ariel_requantize_params, int16_t, int16_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s16_s32, ariel_requantize_params, int16_t, int32_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s32_s8, ariel_requantize_params, int32_t, int8_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s32_u8, ariel_requantize_params, int32_t, uint8_t, requantize)
ARIEL_UNARY_KERNEL(ariel_requantize_s32_s16, ariel_requantize_params, int32_t, int16_t, requantize)

/* ---- int16 activations ---------------------------------------------------------------------------- */

/* TFLite Micro's int16 RELU6: a clamp of the stored values */
static inline int32_t clamp_s16(const ariel_activation_params *p, int32_t x)
{
    return ariel_ew_clamp(x, p->act_min, p->act_max);
}

/* TFLite's multiply takes a positive multiplier, so a negative alpha scales by |multiplier| and
 * negates. Overflow: |x - zero point| <= 65535 and the rescaled value is an int32. */
static inline int32_t leaky_relu_s16(const ariel_activation_params *p, int32_t x)
{
    const int32_t centred = x - p->input_zero_point;
    int64_t scaled;
    if (centred >= 0) {
        scaled = ariel_requantize(centred, p->identity_multiplier, p->identity_shift, p->rounding);
    } else {
        scaled = ariel_requantize(centred, p->alpha_multiplier, p->alpha_shift, p->rounding);
        scaled = p->alpha_negative ? -scaled : scaled;
    }
    return ariel_ew_clamp(scaled + p->output_zero_point, p->act_min, p->act_max);
}

ARIEL_UNARY_KERNEL(ariel_clamp_s16, ariel_activation_params, int16_t, int16_t, clamp_s16)
ARIEL_UNARY_KERNEL(ariel_leaky_relu_s16, ariel_activation_params, int16_t, int16_t, leaky_relu_s16)
