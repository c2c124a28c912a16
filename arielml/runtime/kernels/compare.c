/* kernels/compare.c - EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL on int16, int32,
 * int64, bool (EQUAL / NOT_EQUAL) and quantised int8 / uint8, and LOGICAL_AND / LOGICAL_OR, with
 * broadcasting (arielml/ops/compare.py; float32 in compare_f32.c). bool is one byte, 0 or 1.
 * Quantised 8-bit inputs are compared through their scaled values (input + offset) * 2^8 * scale,
 * which the compiler tabulates per input for every byte ((uint8_t)x indexes a_table / b_table).
 * Broadcasting: the cursor of ariel_elementwise_loops.h over ariel_binary_params. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
/* params: ariel_binary_params (ariel_kernels_elementwise.h): count, block, rank, dims, a_strides,
 * b_strides; the _q8 kernels also a_table and b_table. buffers: a, b, bool output. */
void ariel_equal_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_equal_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_equal_q8(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* int16 EQUAL / NOT_EQUAL: also a_offset, b_offset, left_shift and the ariel_rq records a_rq, b_rq */
void ariel_equal_q16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_q16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_equal_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);     /* bool */
void ariel_not_equal_u8(const void *params, void *const *buffers, int32_t begin, int32_t end); /* bool */
void ariel_equal_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_equal_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_equal_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_equal_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_equal_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_equal_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_equal_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_equal_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_equal_s64(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_logical_and(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_logical_or(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define EQ(p, a, b) ((uint8_t)((a) == (b)))
#define NE(p, a, b) ((uint8_t)((a) != (b)))
#define GT(p, a, b) ((uint8_t)((a) > (b)))
#define GE(p, a, b) ((uint8_t)((a) >= (b)))
#define LT(p, a, b) ((uint8_t)((a) < (b)))
#define LE(p, a, b) ((uint8_t)((a) <= (b)))

/* 8-bit quantised: compare the tabulated scaled values of the two bytes */
#define EQ_Q8(p, a, b) EQ(p, (p)->a_table[a], (p)->b_table[b])
#define NE_Q8(p, a, b) NE(p, (p)->a_table[a], (p)->b_table[b])
#define GT_Q8(p, a, b) GT(p, (p)->a_table[a], (p)->b_table[b])
#define GE_Q8(p, a, b) GE(p, (p)->a_table[a], (p)->b_table[b])
#define LT_Q8(p, a, b) LT(p, (p)->a_table[a], (p)->b_table[b])
#define LE_Q8(p, a, b) LE(p, (p)->a_table[a], (p)->b_table[b])
ARIEL_BINARY_KERNEL(ariel_equal_q8, uint8_t, uint8_t, EQ_Q8)
ARIEL_BINARY_KERNEL(ariel_not_equal_q8, uint8_t, uint8_t, NE_Q8)
ARIEL_BINARY_KERNEL(ariel_greater_q8, uint8_t, uint8_t, GT_Q8)
ARIEL_BINARY_KERNEL(ariel_greater_equal_q8, uint8_t, uint8_t, GE_Q8)
ARIEL_BINARY_KERNEL(ariel_less_q8, uint8_t, uint8_t, LT_Q8)
ARIEL_BINARY_KERNEL(ariel_less_equal_q8, uint8_t, uint8_t, LE_Q8)

/* int16 EQUAL / NOT_EQUAL: (x + offset) * 2^8 (|.| < 2^24) scaled by a multiplier below one, in
 * 32-bit operations (ariel_rq) */
static inline int32_t scaled_a(const ariel_binary_params *p, int32_t x)
{
    return ariel_rq((x + p->a_offset) * (1 << p->left_shift), p->a_rq);
}

static inline int32_t scaled_b(const ariel_binary_params *p, int32_t x)
{
    return ariel_rq((x + p->b_offset) * (1 << p->left_shift), p->b_rq);
}

#define EQ_Q16(p, a, b) EQ(p, scaled_a(p, a), scaled_b(p, b))
#define NE_Q16(p, a, b) NE(p, scaled_a(p, a), scaled_b(p, b))
ARIEL_BINARY_KERNEL(ariel_equal_q16, int16_t, uint8_t, EQ_Q16)
ARIEL_BINARY_KERNEL(ariel_not_equal_q16, int16_t, uint8_t, NE_Q16)

ARIEL_BINARY_KERNEL(ariel_equal_u8, uint8_t, uint8_t, EQ)
ARIEL_BINARY_KERNEL(ariel_not_equal_u8, uint8_t, uint8_t, NE)

#define COMPARISONS_OF(SUFFIX, T)                                   \
    ARIEL_BINARY_KERNEL(ariel_equal_##SUFFIX, T, uint8_t, EQ)         \
    ARIEL_BINARY_KERNEL(ariel_not_equal_##SUFFIX, T, uint8_t, NE)     \
    ARIEL_BINARY_KERNEL(ariel_greater_##SUFFIX, T, uint8_t, GT)       \
    ARIEL_BINARY_KERNEL(ariel_greater_equal_##SUFFIX, T, uint8_t, GE) \
    ARIEL_BINARY_KERNEL(ariel_less_##SUFFIX, T, uint8_t, LT)          \
    ARIEL_BINARY_KERNEL(ariel_less_equal_##SUFFIX, T, uint8_t, LE)
COMPARISONS_OF(s16, int16_t)
COMPARISONS_OF(s32, int32_t)
COMPARISONS_OF(s64, int64_t)

#define AND_B(p, a, b) ((uint8_t)((a) & (b)))
#define OR_B(p, a, b) ((uint8_t)((a) | (b)))
ARIEL_BINARY_KERNEL(ariel_logical_and, uint8_t, uint8_t, AND_B)
ARIEL_BINARY_KERNEL(ariel_logical_or, uint8_t, uint8_t, OR_B)
