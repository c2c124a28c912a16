/* kernels/cast.c - CAST between bool, int8, uint8, int16, uint16, int32, uint32 and int64 (arielml/ops/cast_fill.py;
 * pairs with float32 in cast_f32.c): two's-complement truncation to the output width (through the
 * unsigned type of that width, so the conversion is defined), x != 0 for bool; bool is 0 or 1.
 * out[i] depends on in[i] alone and is written after it is read. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
typedef struct {
    int32_t count; /* elements */
    int32_t block; /* elements per work item */
} ariel_cast_params;

void ariel_cast_b_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_b_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s8_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u8_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s16_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u16_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s32_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_u32_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_b(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_u16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_u32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_cast_s64_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define TO_B(p, x) ((uint8_t)((x) != 0))
#define TO_S8(p, x) ((int8_t)(uint8_t)(x))
#define TO_U8(p, x) ((uint8_t)(x))
#define TO_S16(p, x) ((int16_t)(uint16_t)(x))
#define TO_U16(p, x) ((uint16_t)(x))
#define TO_S32(p, x) ((int32_t)(uint32_t)(x))
#define TO_U32(p, x) ((uint32_t)(x))
#define TO_S64(p, x) ((int64_t)(uint64_t)(x))

#define CASTS_FROM(SUFFIX, T)                                                          \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_b, ariel_cast_params, T, uint8_t, TO_B)     \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_s8, ariel_cast_params, T, int8_t, TO_S8)    \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_u8, ariel_cast_params, T, uint8_t, TO_U8)   \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_s16, ariel_cast_params, T, int16_t, TO_S16) \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_u16, ariel_cast_params, T, uint16_t, TO_U16) \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_s32, ariel_cast_params, T, int32_t, TO_S32) \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_u32, ariel_cast_params, T, uint32_t, TO_U32) \
    ARIEL_UNARY_KERNEL(ariel_cast_##SUFFIX##_s64, ariel_cast_params, T, int64_t, TO_S64)
CASTS_FROM(b, uint8_t)
CASTS_FROM(s8, int8_t)
CASTS_FROM(u8, uint8_t)
CASTS_FROM(s16, int16_t)
CASTS_FROM(u16, uint16_t)
CASTS_FROM(s32, int32_t)
CASTS_FROM(u32, uint32_t)
CASTS_FROM(s64, int64_t)
