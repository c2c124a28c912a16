/* kernels/unary_math.c - ABS and NEG on int16 / int32 / int64 (arielml/ops/unary_math.py; 8-bit
 * inputs use the lookup-table kernels of unary.c, float32 unary_math_f32.c). Stored-value ABS and
 * NEG wrap at the type's minimum (computed unsigned, so the wrap is defined); quantised int16 ABS
 * rescales |x - input zero point| (<= 65535) by input_scale / output_scale. out[i] depends on
 * in[i] alone and is written after it is read: correct in place. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
typedef struct {
    int32_t count; /* elements */
    int32_t block; /* elements per work item */
    /* quantised ABS */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t rescale;   /* 1 when the scales differ */
    const int32_t *rq; /* the rescale's ariel_rq record (32-bit operations, rounding as data) */
    int32_t out_min, out_max;
    /* int16 EXP: 513 samples; the top 9 bits of x pick a segment, the low 7 interpolate */
    const int16_t *table;
} ariel_unary_math_params;

void ariel_abs_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_abs_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_abs_q_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_lut_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_neg_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_neg_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_neg_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

static inline int32_t abs_q(const ariel_unary_math_params *p, int32_t x)
{
    int32_t value = x - p->input_zero_point;
    value = value < 0 ? -value : value;
    if (p->rescale) {
        value = ariel_rq(value, p->rq);
    }
    return ariel_ew_clamp((int64_t)value + p->output_zero_point, p->out_min, p->out_max);
}

/* TFLite's int16 table lookup: |slope * offset| < 2^16 * 2^7; the sum wraps to int16 as TFLite's does */
static inline int16_t lut_s16(const ariel_unary_math_params *p, int32_t x)
{
    const int32_t index = 256 + (x >> 7);
    const int32_t offset = x & 0x7F;
    const int32_t base = p->table[index];
    const int32_t slope = (int16_t)(uint16_t)(p->table[index + 1] - base);
    return (int16_t)(uint16_t)(base + ((slope * offset + 64) >> 7));
}

#define ABS_S16(p, x) ((int16_t)(uint16_t)((x) < 0 ? 0u - (uint32_t)(x) : (uint32_t)(x)))
#define ABS_S32(p, x) ((int32_t)((x) < 0 ? 0u - (uint32_t)(x) : (uint32_t)(x)))
#define NEG_S16(p, x) ((int16_t)(uint16_t)(0u - (uint32_t)(x)))
#define NEG_S32(p, x) ((int32_t)(0u - (uint32_t)(x)))
#define NEG_S64(p, x) ((int64_t)(0u - (uint64_t)(x)))
ARIEL_UNARY_KERNEL(ariel_abs_s16, ariel_unary_math_params, int16_t, int16_t, ABS_S16)
ARIEL_UNARY_KERNEL(ariel_abs_s32, ariel_unary_math_params, int32_t, int32_t, ABS_S32)
ARIEL_UNARY_KERNEL(ariel_abs_q_s16, ariel_unary_math_params, int16_t, int16_t, abs_q)
ARIEL_UNARY_KERNEL(ariel_lut_s16, ariel_unary_math_params, int16_t, int16_t, lut_s16)
ARIEL_UNARY_KERNEL(ariel_neg_s16, ariel_unary_math_params, int16_t, int16_t, NEG_S16)
ARIEL_UNARY_KERNEL(ariel_neg_s32, ariel_unary_math_params, int32_t, int32_t, NEG_S32)
ARIEL_UNARY_KERNEL(ariel_neg_s64, ariel_unary_math_params, int64_t, int64_t, NEG_S64)
