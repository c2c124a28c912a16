/* kernels/unary_f32.c - single-input elementwise kernels with float32 input or output: QUANTIZE
 * from float32, DEQUANTIZE to float32 (8-bit per tensor: a table of floats), the float32 RELU
 * family and LEAKY_RELU. Each computes out[i] from in[i] alone, reading in[i] first. */
#include "ariel_elementwise_loops.h"

/* DEQUANTIZE of a per-tensor 8-bit input: a table of the 256 float results */
#define TABLE_F32(p, x) (((const float *)(p)->table)[x])
ARIEL_UNARY_KERNEL(ariel_table8_to_f32, ariel_table8_params, uint8_t, float, TABLE_F32)

/* TFLite: round(x / scale) + zero point, the division in single precision, the rounding half away
 * from zero, the sum in int32, clamped to the output type. The rounding is done exactly: inside the
 * int32 range t = (int)q truncates, and q - t is exact (Sterbenz: t and q have the same sign and
 * |t| <= |q| < 2|t|, or t = 0). Outside it, and for NaN, TFLite's cast is undefined: the x86 build
 * we match gives INT32_MIN. The int32 addition of the zero point wraps there (so +-inf and NaN give
 * the type's minimum for a zero point >= 0, its maximum for a negative one). Both are done here
 * without undefined behaviour, in int64. */
static inline int32_t quantize(const ariel_affine_params *p, float x, float scale, int32_t zero_point)
{
    const float q = x / scale;
    int64_t sum;
    if (q > -2147483648.0f && q < 2147483648.0f) { /* false for NaN */
        const int32_t t = (int32_t)q;
        const float fraction = q - (float)t;
        sum = (int64_t)t + (fraction >= 0.5f ? 1 : fraction <= -0.5f ? -1 : 0);
    } else {
        sum = INT32_MIN;
    }
    sum += zero_point;
    if (sum < INT32_MIN) {
        sum += 4294967296LL;
    } else if (sum > INT32_MAX) {
        sum -= 4294967296LL;
    }
    return ariel_ew_clamp(sum, p->out_min, p->out_max);
}

/* TFLite: float(double(scale) * (x - zero point)). |x - zero point| <= 65535 is exact in float,
 * and the exact product (24 + 17 bits) fits a double, so one correctly rounded float multiply
 * gives the same value as TFLite's double multiply followed by the conversion to float. */
static inline float dequantize(const ariel_affine_params *p, int32_t x, float scale, int32_t zero_point)
{
    (void)p;
    return scale * (float)(x - zero_point);
}

ARIEL_AFFINE_KERNEL(ariel_quantize_f32_s8, float, int8_t, quantize)
ARIEL_AFFINE_KERNEL(ariel_quantize_f32_u8, float, uint8_t, quantize)
ARIEL_AFFINE_KERNEL(ariel_quantize_f32_s16, float, int16_t, quantize)
ARIEL_AFFINE_KERNEL(ariel_dequantize_s8_f32, int8_t, float, dequantize)
ARIEL_AFFINE_KERNEL(ariel_dequantize_u8_f32, uint8_t, float, dequantize)
ARIEL_AFFINE_KERNEL(ariel_dequantize_s16_f32, int16_t, float, dequantize)

/* ---- float32 RELU family and LEAKY_RELU ------------------------------------------------------------ */

/* TFLite: x < lower ? lower : (x > upper ? upper : x), which keeps NaN */
static inline float clamp_f32(const ariel_activation_params *p, float x)
{
    return x < p->lower ? p->lower : x > p->upper ? p->upper : x;
}

static inline float leaky_relu_f32(const ariel_activation_params *p, float x)
{
    return x > 0.0f ? x : x * p->alpha;
}

ARIEL_UNARY_KERNEL(ariel_clamp_f32, ariel_activation_params, float, float, clamp_f32)
ARIEL_UNARY_KERNEL(ariel_leaky_relu_f32, ariel_activation_params, float, float, leaky_relu_f32)
