/* ariel_kernels_data.h - params structs and entry points of the pooling and data movement kernels
 * (pool, concat, split, transpose, strided slice, pad, mean, resize).
 * Included by ariel_kernels.h; same ABI and rules as the kernels declared there.
 *
 * Data movement is dtype-generic: the kernels copy `element_size`-byte elements (1, 2, 4 or 8)
 * and never look at values. TRANSPOSE, STRIDED_SLICE and RESIZE_NEAREST_NEIGHBOR all lower to one
 * gather kernel whose per-axis offset tables the compiler computes. Pooling and MEAN compute, so
 * they come in one kernel per element type. */
#ifndef ARIEL_KERNELS_DATA_H
#define ARIEL_KERNELS_DATA_H

#include <stdint.h>

/* ---- AVERAGE_POOL_2D / MAX_POOL_2D (kernels/pool.c; float32: kernels/pool_f32.c) -------------
 * buffers: input NHWC, output NHWC. Work item k = output pixel k / blocks (batch folded into
 * rows, row-major) x channel block k % blocks of channel_block channels. Windows are clipped to
 * the input: padding takes no part in a maximum and is not counted in an average. The output
 * shares the input's quantisation (TFLite pools without requantising); only the fused activation
 * clamps. */
#define ARIEL_POOL_MAX_CHANNEL_BLOCK 16

typedef struct {
    int32_t batches, in_h, in_w, channels;
    int32_t out_h, out_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left;
    int32_t channel_block;    /* 1..ARIEL_POOL_MAX_CHANNEL_BLOCK */
    int32_t act_min, act_max; /* integer kernels: clamp in output units */
    const float *float_range; /* float kernels: {min, max} of the fused activation; else NULL */
} ariel_pool_params;

/* Where a work item reads and writes: kept incrementally so a range of items costs no division
 * per item (the Cortex-M0+ divides in software). */
typedef struct {
    int32_t blocks; /* channel blocks per pixel */
    int32_t batch, oy, ox, block;
} ariel_pool_cursor;

typedef struct {
    int32_t y0, y1, x0, x1; /* input rows [y0, y1) and columns [x0, x1) under the window */
    int32_t c0, c1;         /* channels [c0, c1) */
    int32_t image;          /* element offset of the batch's image in the input */
    int32_t out;            /* element offset of the item's first output */
} ariel_pool_window;

static inline void ariel_pool_seek(const ariel_pool_params *p, int32_t item, ariel_pool_cursor *c)
{
    int32_t pixel;
    c->blocks = (p->channels + p->channel_block - 1) / p->channel_block;
    pixel = item / c->blocks;
    c->block = item % c->blocks;
    c->ox = pixel % p->out_w;
    c->oy = (pixel / p->out_w) % p->out_h;
    c->batch = pixel / p->out_w / p->out_h;
}

static inline void ariel_pool_advance(const ariel_pool_params *p, ariel_pool_cursor *c)
{
    if (++c->block < c->blocks) {
        return;
    }
    c->block = 0;
    if (++c->ox < p->out_w) {
        return;
    }
    c->ox = 0;
    if (++c->oy < p->out_h) {
        return;
    }
    c->oy = 0;
    c->batch++;
}

static inline void ariel_pool_window_at(const ariel_pool_params *p, const ariel_pool_cursor *c, ariel_pool_window *w)
{
    const int32_t top = c->oy * p->stride_h - p->pad_top;
    const int32_t left = c->ox * p->stride_w - p->pad_left;
    w->y0 = top > 0 ? top : 0;
    w->y1 = top + p->filter_h < p->in_h ? top + p->filter_h : p->in_h;
    w->x0 = left > 0 ? left : 0;
    w->x1 = left + p->filter_w < p->in_w ? left + p->filter_w : p->in_w;
    w->c0 = c->block * p->channel_block;
    w->c1 = w->c0 + p->channel_block < p->channels ? w->c0 + p->channel_block : p->channels;
    w->image = c->batch * p->in_h * p->in_w * p->channels;
    w->out = ((c->batch * p->out_h + c->oy) * p->out_w + c->ox) * p->channels + w->c0;
}

void ariel_average_pool_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_average_pool_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_average_pool_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_average_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_max_pool_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_max_pool_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_max_pool_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_max_pool_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- gather by per-axis offset tables: TRANSPOSE, STRIDED_SLICE, RESIZE_NEAREST_NEIGHBOR ----
 * (kernels/data.c) buffers: input, output. The output has `rank` axes of sizes dims[a]; output
 * element (i_0, ..., i_{rank-1}) is input element base + sum_a offsets[table_start[a] + i_a].
 * Work item k = output row k / chunks (all axes but the last, row-major) x chunk k % chunks of
 * `chunk` elements along the last axis. last_contiguous: the last axis' offsets are 0, 1, 2, ...
 * (runs are copied with memcpy). */
#define ARIEL_GATHER_MAX_RANK 8

typedef struct {
    int32_t rank;            /* 1..ARIEL_GATHER_MAX_RANK */
    int32_t element_size;    /* bytes: 1, 2, 4 or 8 */
    int32_t chunk;           /* last-axis elements per work item, >= 1 */
    int32_t base;            /* input element offset common to every output element */
    int32_t last_contiguous;
    const int32_t *dims;        /* [rank] */
    const int32_t *table_start; /* [rank] */
    const int32_t *offsets;     /* input element offsets, one table per axis, concatenated */
} ariel_gather_params;

void ariel_gather(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- CONCATENATION (kernels/data.c) -----------------------------------------------------------
 * buffers: the num_inputs inputs, then the output. Seen as [outer, row] byte matrices, input i
 * fills bytes [row_start[i], row_start[i] + row_bytes[i]) of every output row. Work item k =
 * (output row k / num_inputs, input k % num_inputs). A uint8 input whose quantisation differs from
 * the output's is mapped through its 256-entry table (tables + table_offset[i]; -1 = plain copy):
 * the requantisation is a function of one byte, so it is tabulated at compile time. */
typedef struct {
    int32_t num_inputs;
    int32_t outer;
    int32_t out_row_bytes;
    const int32_t *row_bytes;    /* [num_inputs] */
    const int32_t *row_start;    /* [num_inputs] */
    const int32_t *table_offset; /* [num_inputs] */
    const uint8_t *tables;
} ariel_concatenation_params;

void ariel_concatenation(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- SPLIT / SPLIT_V (kernels/data.c) ----------------------------------------------------------
 * buffers: the input, then the num_outputs outputs. The input seen as [outer, in_row_bytes];
 * output i takes bytes [row_start[i], row_start[i] + row_bytes[i]) of every row. Work item k =
 * (input row k / num_outputs, output k % num_outputs). */
typedef struct {
    int32_t num_outputs;
    int32_t outer;
    int32_t in_row_bytes;
    const int32_t *row_bytes; /* [num_outputs] */
    const int32_t *row_start; /* [num_outputs] */
} ariel_split_params;

void ariel_split(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- PAD / PADV2 (kernels/data.c) ---------------------------------------------------------------
 * buffers: input, output. Work item k = output row k (all axes but the last, row-major): a row
 * outside the input along some axis is all padding, otherwise padding, one input row, padding.
 * fill_byte >= 0: every byte of the pad value equals it (memset); -1: copy `value` per element. */
#define ARIEL_PAD_MAX_RANK 5

typedef struct {
    int32_t rank; /* 1..ARIEL_PAD_MAX_RANK */
    int32_t element_size;
    int32_t fill_byte;
    const int32_t *out_dims;   /* [rank] */
    const int32_t *in_dims;    /* [rank] */
    const int32_t *pad_before; /* [rank] */
    const uint8_t *value;      /* element_size bytes: the pad value as stored in memory */
} ariel_pad_params;

void ariel_pad(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- MEAN (kernels/mean.c; float32: kernels/mean_f32.c) ---------------------------------------
 * buffers: input, output. Work item k = output element k. Output element k reads the input at
 * offset(k) + every reduced offset: offset(k) walks kept_dims/kept_strides (row-major), the reduced
 * elements walk reduced_dims/reduced_strides in row-major order (the order float sums are taken).
 * Quantised: sum - input_zero_point * count, times multiplier/shift (1/count folded in, rounded
 * twice as LiteRT's MEAN does), plus output_zero_point, clamped to [act_min, act_max]. */
#define ARIEL_MEAN_MAX_RANK 8

typedef struct {
    int32_t kept_rank;    /* 1..ARIEL_MEAN_MAX_RANK */
    int32_t reduced_rank; /* 1..ARIEL_MEAN_MAX_RANK */
    int32_t count;        /* reduced elements per output */
    const int32_t *kept_dims, *kept_strides;
    const int32_t *reduced_dims, *reduced_strides;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} ariel_mean_params;

void ariel_mean_s8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mean_u8(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mean_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mean_s32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mean_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- ARIEL_COPY_ROWS (compiler-made: the halo rows a band keeps, passes/bands.py) ---------------
 * buffers: source rows, destination rows (of the same buffer, the destination lower). Work item k
 * = rows [k * item_rows, (k + 1) * item_rows): one row each, or all rows in one item when source
 * and destination overlap (memmove). */
typedef struct {
    int32_t item_bytes; /* row bytes x rows per item */
} ariel_copy_rows_params;

void ariel_copy_rows(const void *params, void *const *buffers, int32_t begin, int32_t end);

#endif /* ARIEL_KERNELS_DATA_H */
