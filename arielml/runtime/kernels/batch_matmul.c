/* kernels/batch_matmul.c - BATCH_MATMUL: float32 (f32), int8 (s8) and int16 (s16).
 *
 * out[b][i][j] = sum_k lhs[b][i][k] * rhs[b][k][j]. The compiler describes both operands by
 * strides (so adj_x / adj_y and broadcast batch axes, stride 0, cost nothing here) and repacks a
 * constant right-hand side as [cols][depth] so that k runs contiguously. One work item = one
 * output row i of one output batch b (item = b * rows + i); k is summed in ascending order, which
 * is LiteRT's order for float32. Offsets are int32: the compiler refuses tensors of 2^31 bytes. */
#include "ariel_kernels.h"

/* ariel:interface */
typedef struct {
    const int32_t *batch_dims;        /* 3 output batch axes (leading ones 1) */
    const int32_t *lhs_batch_strides; /* element strides along them, 0 where broadcast */
    const int32_t *rhs_batch_strides;
    int32_t rows, depth, cols;
    int32_t lhs_row_stride, lhs_depth_stride; /* element (i, k) of one lhs matrix */
    int32_t rhs_depth_stride, rhs_col_stride; /* element (k, j) of one rhs matrix */
    const void *packed_rhs;                   /* constant rhs repacked [batch][cols][depth], or 0 */
    /* int8 / int16 */
    int32_t lhs_offset, rhs_offset; /* -zero points (0 for int16) */
    int32_t output_zero_point, multiplier, shift, act_min, act_max; /* multiplier, shift: int16 */
    const int32_t *rq; /* int8: the requantisation record (ARIEL_RQ_WORDS) */
    const int32_t *rhs_column_terms; /* int8 with a packed rhs: lhs_offset * sum y + depth * offsets, or 0 */
} ariel_batch_matmul_params;
void ariel_batch_matmul_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_batch_matmul_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_batch_matmul_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* element offsets of the lhs row and the rhs matrix of work item `item`; the output row starts at
 * item * cols */
static void item_offsets(const ariel_batch_matmul_params *p, int32_t item, int32_t *lhs, int32_t *rhs)
{
    int32_t b = item / p->rows;
    int32_t a;
    *lhs = (item % p->rows) * p->lhs_row_stride;
    *rhs = 0;
    for (a = 2; a >= 0; a--) {
        const int32_t index = b % p->batch_dims[a];
        b /= p->batch_dims[a];
        *lhs += index * p->lhs_batch_strides[a];
        *rhs += index * p->rhs_batch_strides[a];
    }
}

static int32_t clamp32(int64_t v, int32_t lo, int32_t hi)
{
    return (int32_t)(v < lo ? lo : v > hi ? hi : v);
}

void ariel_batch_matmul_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_batch_matmul_params *p = (const ariel_batch_matmul_params *)params;
    const float *lhs = (const float *)buffers[0];
    const float *rhs = p->packed_rhs != 0 ? (const float *)p->packed_rhs : (const float *)buffers[1];
    float *output = (float *)buffers[2];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t lhs_at, rhs_at, j, k;
        float *out = output + item * p->cols;
        item_offsets(p, item, &lhs_at, &rhs_at);
        for (j = 0; j < p->cols; j++) {
            const float *x = lhs + lhs_at;
            const float *y = rhs + rhs_at + j * p->rhs_col_stride;
            float total = 0.0f;
            for (k = 0; k < p->depth; k++, x += p->lhs_depth_stride, y += p->rhs_depth_stride) {
                total += *x * *y;
            }
            out[j] = total;
        }
    }
}

/* int8 dot product of two contiguous runs, four at a time: |x * y| <= 2^14, so depth < 2^17 (the
 * compiler's limit) keeps the int32 sum exact */
static int32_t dot_s8(const int8_t *x, const int8_t *y, int32_t depth)
{
    int32_t sum = 0, k;
    for (k = 0; k + 4 <= depth; k += 4) {
        sum += x[k] * y[k] + x[k + 1] * y[k + 1] + x[k + 2] * y[k + 2] + x[k + 3] * y[k + 3];
    }
    for (; k < depth; k++) {
        sum += x[k] * y[k];
    }
    return sum;
}

/* the same, and the sum of y's run (for a run-time rhs, whose column sums are not known before) */
static int32_t dot_and_sum_s8(const int8_t *x, const int8_t *y, int32_t depth, int32_t *y_sum)
{
    int32_t sum = 0, total = 0, k;
    for (k = 0; k < depth; k++) {
        sum += x[k] * y[k];
        total += y[k];
    }
    *y_sum = total;
    return sum;
}

/* int8: sum (x + lhs_offset) * (y + rhs_offset), which wraps in int32 in the reference; computed
 * in uint32 (the same bits, in any order). When both operands run contiguously along k it is
 * expanded as sum x y + rhs_offset * sum x + (lhs_offset * sum y + depth * lhs_offset * rhs_offset):
 * for a constant rhs (packed k-contiguous) the bracket is folded per column at compile time
 * (rhs_column_terms) and the inner loop is a plain dot product; for a run-time rhs with adj_y
 * (attention's Q K^T) sum y is taken in the same loop. */
void ariel_batch_matmul_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_batch_matmul_params *p = (const ariel_batch_matmul_params *)params;
    const int8_t *lhs = (const int8_t *)buffers[0];
    const int8_t *rhs = p->packed_rhs != 0 ? (const int8_t *)p->packed_rhs : (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[2];
    const int contiguous = p->lhs_depth_stride == 1 && p->rhs_depth_stride == 1;
    const uint32_t offsets_term = (uint32_t)p->depth * (uint32_t)p->lhs_offset * (uint32_t)p->rhs_offset;
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t lhs_at, rhs_at, j, k;
        int8_t *out = output + item * p->cols;
        uint32_t row_term = 0;
        item_offsets(p, item, &lhs_at, &rhs_at);
        if (contiguous) {
            for (k = 0; k < p->depth; k++) {
                row_term += (uint32_t)lhs[lhs_at + k];
            }
            row_term *= (uint32_t)p->rhs_offset;
        }
        for (j = 0; j < p->cols; j++) {
            const int8_t *x = lhs + lhs_at;
            const int8_t *y = rhs + rhs_at + j * p->rhs_col_stride;
            uint32_t total = 0;
            if (contiguous && p->rhs_column_terms != 0) {
                /* rhs_column_terms is indexed like the packed rhs: [rhs batch][column] */
                total = (uint32_t)dot_s8(x, y, p->depth) + row_term +
                        (uint32_t)p->rhs_column_terms[(rhs_at + j * p->rhs_col_stride) / p->depth];
            } else if (contiguous) {
                int32_t y_sum;
                total = (uint32_t)dot_and_sum_s8(x, y, p->depth, &y_sum) + row_term +
                        (uint32_t)p->lhs_offset * (uint32_t)y_sum + offsets_term;
            } else {
                for (k = 0; k < p->depth; k++, x += p->lhs_depth_stride, y += p->rhs_depth_stride) {
                    total += (uint32_t)((*x + p->lhs_offset) * (*y + p->rhs_offset));
                }
            }
            /* 32-bit requantisation record (ariel_kernels.h): exact for double rounding */
            out[j] = (int8_t)clamp32((int64_t)ariel_rq((int32_t)total, p->rq) + p->output_zero_point, p->act_min,
                                     p->act_max);
        }
    }
}

/* TFLite's requantisation of int64 accumulators (multiplier reduced to 16 bits, one rounding), the
 * result cast to int32 as the reference casts it; shift in [-31, 14]. */
static int32_t requantize_wide(int64_t acc, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int32_t total_shift = 15 - shift;
    const int64_t product = (int64_t)((uint64_t)acc * (uint64_t)reduced);
    const int64_t rounded = (int64_t)((uint64_t)product + ((uint64_t)1 << (total_shift - 1))) >> total_shift;
    return (int32_t)(uint32_t)(uint64_t)rounded;
}

/* int16 (zero points 0): |x * y| <= 2^30, summed exactly in int64 */
void ariel_batch_matmul_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_batch_matmul_params *p = (const ariel_batch_matmul_params *)params;
    const int16_t *lhs = (const int16_t *)buffers[0];
    const int16_t *rhs = p->packed_rhs != 0 ? (const int16_t *)p->packed_rhs : (const int16_t *)buffers[1];
    int16_t *output = (int16_t *)buffers[2];
    int32_t item;
    for (item = begin; item < end; item++) {
        int32_t lhs_at, rhs_at, j, k;
        int16_t *out = output + item * p->cols;
        item_offsets(p, item, &lhs_at, &rhs_at);
        for (j = 0; j < p->cols; j++) {
            const int16_t *x = lhs + lhs_at;
            const int16_t *y = rhs + rhs_at + j * p->rhs_col_stride;
            int64_t total = 0;
            for (k = 0; k < p->depth; k++, x += p->lhs_depth_stride, y += p->rhs_depth_stride) {
                total += (int32_t)*x * *y;
            }
            out[j] = (int16_t)clamp32((int64_t)requantize_wide(total, p->multiplier, p->shift) + p->output_zero_point,
                                      p->act_min, p->act_max);
        }
    }
}
