/* kernels/cast_f32.c - CAST from and to float32 (arielml/ops/cast_fill.py): integers convert to the
 * nearest float (C's conversion); float32 to an integer truncates toward zero and saturates to the
 * type's range, NaN giving the maximum (LiteRT) or 0 (TFLite Micro), as chosen by nan_to_max;
 * float32 to bool is x != 0 (NaN is true). */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
typedef struct {
    int32_t count;      /* elements */
    int32_t block;      /* elements per work item */
    int32_t nan_to_max; /* float32 -> integer: 1 = NaN gives the maximum, 0 = NaN gives 0 */
} ariel_cast_f32_params;

void ariel_cast_b_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_f32_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* [min, max_plus_one) are exact floats (powers of two or their negatives): values at or beyond
 * them saturate, the rest truncate in range */
static inline int32_t saturate_32(const ariel_cast_f32_params *p, float x, float min, float max_plus_one,
                                  int32_t lo, int32_t hi)
{
    if (x != x) {
        return p->nan_to_max ? hi : 0;
    }
    return x >= max_plus_one ? hi : x < min ? lo : (int32_t)x;
}

static inline int64_t saturate_64(const ariel_cast_f32_params *p, float x)
{
    if (x != x) {
        return p->nan_to_max ? INT64_MAX : 0;
    }
    return x >= 9223372036854775808.0f ? INT64_MAX : x < -9223372036854775808.0f ? INT64_MIN : (int64_t)x;
}

#define TO_F32(p, x) ((float)(x))
#define F32_TO_B(p, x) ((uint8_t)((x) != 0.0f))
#define F32_TO_S8(p, x) ((int8_t)saturate_32(p, x, -128.0f, 128.0f, INT8_MIN, INT8_MAX))
#define F32_TO_U8(p, x) ((uint8_t)saturate_32(p, x, 0.0f, 256.0f, 0, UINT8_MAX))
#define F32_TO_S16(p, x) ((int16_t)saturate_32(p, x, -32768.0f, 32768.0f, INT16_MIN, INT16_MAX))
#define F32_TO_S32(p, x) saturate_32(p, x, -2147483648.0f, 2147483648.0f, INT32_MIN, INT32_MAX)
#define F32_TO_S64(p, x) saturate_64(p, x)
#define F32_TO_F32(p, x) (x)
ARIEL_UNARY_KERNEL(ariel_cast_b_f32, ariel_cast_f32_params, uint8_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_s8_f32, ariel_cast_f32_params, int8_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_u8_f32, ariel_cast_f32_params, uint8_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_s16_f32, ariel_cast_f32_params, int16_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_s32_f32, ariel_cast_f32_params, int32_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_s64_f32, ariel_cast_f32_params, int64_t, float, TO_F32)
ARIEL_UNARY_KERNEL(ariel_cast_f32_b, ariel_cast_f32_params, float, uint8_t, F32_TO_B)
ARIEL_UNARY_KERNEL(ariel_cast_f32_s8, ariel_cast_f32_params, float, int8_t, F32_TO_S8)
ARIEL_UNARY_KERNEL(ariel_cast_f32_u8, ariel_cast_f32_params, float, uint8_t, F32_TO_U8)
ARIEL_UNARY_KERNEL(ariel_cast_f32_s16, ariel_cast_f32_params, float, int16_t, F32_TO_S16)
ARIEL_UNARY_KERNEL(ariel_cast_f32_s32, ariel_cast_f32_params, float, int32_t, F32_TO_S32)
ARIEL_UNARY_KERNEL(ariel_cast_f32_s64, ariel_cast_f32_params, float, int64_t, F32_TO_S64)
ARIEL_UNARY_KERNEL(ariel_cast_f32_f32, ariel_cast_f32_params, float, float, F32_TO_F32)
