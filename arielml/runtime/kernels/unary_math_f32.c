/* kernels/unary_math_f32.c - ABS, NEG, SQUARE, SQRT, RSQRT, EXP, LOG, SIN, COS, CEIL, FLOOR, ROUND,
 * ELU on float32 (arielml/ops/unary_math.py): the C library's single-precision function per element, as
 * TFLite's reference kernels call it. ROUND is TFLite's banker's rounding through floorf (-0.3
 * gives +0.0). out[i] depends on in[i] alone and is written after it is read: correct in place. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"
#include <math.h>

/* ariel:interface */
typedef struct {
    int32_t count; /* elements */
    int32_t block; /* elements per work item */
} ariel_unary_math_f32_params;

void ariel_abs_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_neg_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_square_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_sqrt_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_rsqrt_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_exp_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_log_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_sin_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cos_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_ceil_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_floor_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_round_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_elu_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* up when the remainder is above one half, or exactly one half with an odd floor; the floor of a
 * float with a fractional part is below 2^23, so the int32 parity test is exact where it matters */
static inline float round_to_nearest(float x)
{
    const float floor_x = floorf(x);
    const float diff = x - floor_x;
    if (diff < 0.5f || (diff == 0.5f && ((int32_t)floor_x & 1) == 0)) {
        return floor_x;
    }
    return floor_x + 1.0f;
}

#define ABS_F32(p, x) fabsf(x)
#define NEG_F32(p, x) (-(x))
#define SQUARE_F32(p, x) ((x) * (x))
#define SQRT_F32(p, x) sqrtf(x)
#define RSQRT_F32(p, x) (1.0f / sqrtf(x))
#define EXP_F32(p, x) expf(x)
#define LOG_F32(p, x) logf(x)
#define SIN_F32(p, x) sinf(x)
#define COS_F32(p, x) cosf(x)
#define CEIL_F32(p, x) ceilf(x)
#define FLOOR_F32(p, x) floorf(x)
#define ROUND_F32(p, x) round_to_nearest(x)
#define ELU_F32(p, x) ((x) < 0.0f ? expm1f(x) : (x))
ARIEL_UNARY_KERNEL(ariel_abs_f32, ariel_unary_math_f32_params, float, float, ABS_F32)
ARIEL_UNARY_KERNEL(ariel_neg_f32, ariel_unary_math_f32_params, float, float, NEG_F32)
ARIEL_UNARY_KERNEL(ariel_square_f32, ariel_unary_math_f32_params, float, float, SQUARE_F32)
ARIEL_UNARY_KERNEL(ariel_sqrt_f32, ariel_unary_math_f32_params, float, float, SQRT_F32)
ARIEL_UNARY_KERNEL(ariel_rsqrt_f32, ariel_unary_math_f32_params, float, float, RSQRT_F32)
ARIEL_UNARY_KERNEL(ariel_exp_f32, ariel_unary_math_f32_params, float, float, EXP_F32)
ARIEL_UNARY_KERNEL(ariel_log_f32, ariel_unary_math_f32_params, float, float, LOG_F32)
ARIEL_UNARY_KERNEL(ariel_sin_f32, ariel_unary_math_f32_params, float, float, SIN_F32)
ARIEL_UNARY_KERNEL(ariel_cos_f32, ariel_unary_math_f32_params, float, float, COS_F32)
ARIEL_UNARY_KERNEL(ariel_ceil_f32, ariel_unary_math_f32_params, float, float, CEIL_F32)
ARIEL_UNARY_KERNEL(ariel_floor_f32, ariel_unary_math_f32_params, float, float, FLOOR_F32)
ARIEL_UNARY_KERNEL(ariel_round_f32, ariel_unary_math_f32_params, float, float, ROUND_F32)
ARIEL_UNARY_KERNEL(ariel_elu_f32, ariel_unary_math_f32_params, float, float, ELU_F32)
