/* kernels/compare_f32.c - EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL on float32
 * with broadcasting (arielml/ops/compare.py): C's comparisons, so NaN compares false (true for
 * NOT_EQUAL) and -0.0 equals 0.0, as in TFLite. Output bool, one byte 0 or 1. */
#include "ariel_kernels.h"
#include "ariel_elementwise_loops.h"

/* ariel:interface */
/* params: ariel_binary_params (count, block, rank, dims, a_strides, b_strides); buffers: a, b, bool output */
void ariel_equal_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_not_equal_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_greater_equal_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_less_equal_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

#define EQ(p, a, b) ((uint8_t)((a) == (b)))
#define NE(p, a, b) ((uint8_t)((a) != (b)))
#define GT(p, a, b) ((uint8_t)((a) > (b)))
#define GE(p, a, b) ((uint8_t)((a) >= (b)))
#define LT(p, a, b) ((uint8_t)((a) < (b)))
#define LE(p, a, b) ((uint8_t)((a) <= (b)))
ARIEL_BINARY_KERNEL(ariel_equal_f32, float, uint8_t, EQ)
ARIEL_BINARY_KERNEL(ariel_not_equal_f32, float, uint8_t, NE)
ARIEL_BINARY_KERNEL(ariel_greater_f32, float, uint8_t, GT)
ARIEL_BINARY_KERNEL(ariel_greater_equal_f32, float, uint8_t, GE)
ARIEL_BINARY_KERNEL(ariel_less_f32, float, uint8_t, LT)
ARIEL_BINARY_KERNEL(ariel_less_equal_f32, float, uint8_t, LE)
