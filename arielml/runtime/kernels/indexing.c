/* kernels/indexing.c - data movement the offset-table gather of kernels/data.c cannot express:
 * SPACE_TO_BATCH_ND (its padding couples the output's batch axis with rows and columns), lookups whose indices are
 * a run-time tensor (GATHER, GATHER_ND, EMBEDDING_LOOKUP, with the hybrid int8/uint8 -> float32
 * EMBEDDING_LOOKUP), DYNAMIC_UPDATE_SLICE (start indices read at run time) and an output that is a
 * compile-time constant (SHAPE, BROADCAST_ARGS on static shapes).
 *
 * Run-time indices are never trusted: an index outside its axis makes the kernel write zero bytes
 * for that slice instead of reading outside the input (LiteRT and TFLite Micro fail the inference
 * there; the runtime has no error path, so the output is defined and memory stays intact).
 * Element pointers are aligned for their size (the arena is 8-byte aligned, every buffer starts on
 * an element boundary), so int64 indices are read as int64_t. */
#include <string.h>

#include "ariel_kernels.h"

/* ariel:interface */
/* ---- SPACE_TO_BATCH_ND (kernels/indexing.c) ---------------------------------------------------
 * buffers: input, output. The output seen as [batches, out_rows, out_cols, depth]: output pixel
 * (b, r, c) is the input pixel at element offset row_offsets[b * out_rows + r] +
 * col_offsets[b * out_cols + c] (depth elements, contiguous), or `fill` when either offset is -1
 * (padding). Work item k = output row k (b = k / out_rows). */
typedef struct {
    int32_t element_size;        /* bytes: 1, 2, 4 or 8 */
    int32_t depth;
    int32_t out_rows;
    int32_t out_cols;
    const int32_t *row_offsets;  /* [batches * out_rows] */
    const int32_t *col_offsets;  /* [batches * out_cols] */
    const uint8_t *fill;         /* [element_size], as stored in memory */
} ariel_space_to_batch_params;

void ariel_space_to_batch(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- lookups by run-time indices: GATHER, GATHER_ND, EMBEDDING_LOOKUP (kernels/indexing.c) -----
 * buffers: input, indices, output. The input is a sequence of blocks of block_slices slices of
 * slice_elements elements; the indices are `batches` groups of `lookups` tuples of `depth`
 * coordinates (int16, int32 or int64). Output slice r (row-major over [block, lookup]) copies input slice
 * block * block_slices + sum_j index_j * strides[j] of block r / lookups, where the tuple is
 * lookup r % lookups of batch (r / lookups) / blocks_per_batch. A coordinate outside [0, dims[j])
 * makes the output slice zero bytes. TABLE / ROW_SCALES: the input is int8 (uint8 read as int8, as
 * LiteRT does) and the output float32 = value * scale, one float32 multiplication: looked up in a
 * table of the 256 products made at compile time (one scale), or multiplied (a scale per row).
 * Work item k = output slices
 * [k * slices_per_item, (k + 1) * slices_per_item). */
#define ARIEL_INDEXED_MAX_DEPTH 8
enum { ARIEL_INDEXED_COPY = 0, ARIEL_INDEXED_TABLE = 1, ARIEL_INDEXED_ROW_SCALES = 2 };

typedef struct {
    int32_t lookups;          /* index tuples per batch */
    int32_t blocks_per_batch; /* GATHER: the product of the axes between batch_dims and axis */
    int32_t total_slices;     /* output slices */
    int32_t slices_per_item;
    int32_t depth;            /* 1..ARIEL_INDEXED_MAX_DEPTH */
    int32_t index_size;       /* 2 (int16), 4 (int32) or 8 (int64) */
    int32_t slice_elements;
    int32_t block_slices;
    int32_t element_size;     /* input bytes per element */
    int32_t dequantize;       /* ARIEL_INDEXED_COPY, ARIEL_INDEXED_TABLE or ARIEL_INDEXED_ROW_SCALES */
    const float *values;      /* TABLE: the 256 products q * scale at q + 128; ROW_SCALES: a scale per input slice */
    const int32_t *dims;      /* [depth] */
    const int32_t *strides;   /* [depth], in slices */
} ariel_indexed_gather_params;

void ariel_indexed_gather(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- DYNAMIC_UPDATE_SLICE (kernels/indexing.c) --------------------------------------------------
 * buffers: operand, update, start indices (int32 or int64, one per axis), output (may be the
 * operand's buffer: then only the update is written). Each start is clamped to
 * [0, dims[a] - update_dims[a]] as LiteRT does. Work item k = output row k (all axes but the
 * last, row-major). */
#define ARIEL_UPDATE_MAX_RANK 8

typedef struct {
    int32_t rank;         /* 1..ARIEL_UPDATE_MAX_RANK */
    int32_t element_size;
    int32_t index_size;   /* 4 or 8 */
    const int32_t *dims;        /* [rank] operand = output */
    const int32_t *update_dims; /* [rank] */
} ariel_dynamic_update_slice_params;

void ariel_dynamic_update_slice(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- an output known at compile time: SHAPE, BROADCAST_ARGS (kernels/indexing.c) ---------------
 * buffers: the operator's inputs (unread), then the output, buffers[output_buffer]. One work item:
 * copies `bytes`. */
typedef struct {
    int32_t output_buffer;
    int32_t nbytes;
    const uint8_t *bytes;
} ariel_constant_output_params;

void ariel_constant_output(const void *params, void *const *buffers, int32_t begin, int32_t end);

/* ---- BROADCAST_ARGS on run-time shapes (kernels/indexing.c) -------------------------------------
 * buffers: shape a, shape b, output (all int32 or all int64, element_size 4 or 8). The output (rank
 * = the longer length) is the broadcast shape, aligned on the right. Dimensions that do not
 * broadcast (neither 1 nor equal) give 0 there (LiteRT aborts). One work item. */
typedef struct {
    int32_t element_size;
    int32_t rank_a;
    int32_t rank_b;
} ariel_broadcast_args_params;

void ariel_broadcast_args(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

/* ---- SPACE_TO_BATCH_ND ------------------------------------------------------------------------- */

static void fill_elements(uint8_t *dst, const uint8_t *value, int32_t n, int32_t size)
{
    int32_t j;
    switch (size) {
    case 1:
        memset(dst, *value, (size_t)n);
        break;
    case 2:
        for (j = 0; j < n; j++) {
            ((uint16_t *)(void *)dst)[j] = *(const uint16_t *)(const void *)value;
        }
        break;
    case 4:
        for (j = 0; j < n; j++) {
            ((uint32_t *)(void *)dst)[j] = *(const uint32_t *)(const void *)value;
        }
        break;
    default:
        for (j = 0; j < n; j++) {
            ((uint64_t *)(void *)dst)[j] = *(const uint64_t *)(const void *)value;
        }
        break;
    }
}

void ariel_space_to_batch(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_space_to_batch_params *p = (const ariel_space_to_batch_params *)params;
    const uint8_t *input = (const uint8_t *)buffers[0];
    uint8_t *output = (uint8_t *)buffers[1];
    const int32_t pixel_bytes = p->depth * p->element_size;
    int32_t item, c;

    if (p->out_rows == 0 || p->out_cols == 0) {
        return; /* an empty output (the compiler still gives it one work item) */
    }
    for (item = begin; item < end; item++) {
        const int32_t row = p->row_offsets[item];
        const int32_t *cols = p->col_offsets + (item / p->out_rows) * p->out_cols;
        uint8_t *dst = output + item * p->out_cols * pixel_bytes;
        for (c = 0; c < p->out_cols; c++, dst += pixel_bytes) {
            if (row < 0 || cols[c] < 0) {
                fill_elements(dst, p->fill, p->depth, p->element_size);
            } else {
                memcpy(dst, input + (row + cols[c]) * p->element_size, (size_t)pixel_bytes);
            }
        }
    }
}

/* ---- lookups by run-time indices --------------------------------------------------------------- */

static int64_t read_index(const uint8_t *indices, int32_t i, int32_t index_size)
{
    if (index_size == 8) {
        return ((const int64_t *)(const void *)indices)[i];
    }
    return index_size == 4 ? (int64_t)((const int32_t *)(const void *)indices)[i]
                           : (int64_t)((const int16_t *)(const void *)indices)[i];
}

/* Index i of the tensor, or -1 when it lies outside [0, dim). Compared in its own width, so an int64
 * index never wraps into range, and 32-bit indices need no 64-bit arithmetic (slow on a Cortex-M0+). */
static inline int32_t checked_index(const uint8_t *indices, int32_t i, int32_t index_size, int32_t dim)
{
    if (index_size == 4) {
        const int32_t v = ((const int32_t *)(const void *)indices)[i];
        return (uint32_t)v < (uint32_t)dim ? v : -1;
    }
    if (index_size == 2) {
        const int32_t v = ((const int16_t *)(const void *)indices)[i];
        return (uint32_t)v < (uint32_t)dim ? v : -1;
    }
    {
        const int64_t v = ((const int64_t *)(const void *)indices)[i];
        return v >= 0 && v < dim ? (int32_t)v : -1;
    }
}

/* src and dst are aligned for `bytes` when it is 2 or 4 (slices start at multiples of their size) */
static void copy_slice(uint8_t *dst, const uint8_t *src, int32_t bytes)
{
    switch (bytes) { /* one element: no memcpy call (GATHER along the last axis) */
    case 1:
        *dst = *src;
        break;
    case 2:
        *(uint16_t *)(void *)dst = *(const uint16_t *)(const void *)src;
        break;
    case 4:
        *(uint32_t *)(void *)dst = *(const uint32_t *)(const void *)src;
        break;
    default:
        memcpy(dst, src, (size_t)bytes);
        break;
    }
}

static void zero_slice(uint8_t *dst, int32_t bytes)
{
    static const uint32_t zeros = 0u; /* word-aligned, as copy_slice needs */
    if (bytes <= 4) {
        copy_slice(dst, (const uint8_t *)(const void *)&zeros, bytes);
    } else {
        memset(dst, 0, (size_t)bytes);
    }
}

/* One output slice from its tuple of `depth` coordinates (the general case: GATHER_ND, dequantising
 * lookups). */
static void lookup_slice(const ariel_indexed_gather_params *p, const uint8_t *input, const uint8_t *tuple_indices,
                         int32_t block_start, uint8_t *dst)
{
    const int32_t slice_bytes = p->slice_elements * p->element_size;
    /* in range, every coordinate times its stride stays inside the input, whose size the compiler
     * checked fits int32: no overflow */
    int32_t slice = block_start;
    int32_t j;
    for (j = 0; j < p->depth; j++) {
        const int32_t coordinate = checked_index(tuple_indices, j, p->index_size, p->dims[j]);
        if (coordinate < 0) {
            zero_slice(dst, p->dequantize ? 4 * p->slice_elements : slice_bytes); /* LiteRT fails here */
            return;
        }
        slice += coordinate * p->strides[j];
    }
    if (p->dequantize == ARIEL_INDEXED_TABLE) {
        const int8_t *src = (const int8_t *)(const void *)(input + slice * slice_bytes);
        float *out = (float *)(void *)dst;
        for (j = 0; j < p->slice_elements; j++) {
            out[j] = p->values[src[j] + 128];
        }
    } else if (p->dequantize == ARIEL_INDEXED_ROW_SCALES) {
        const int8_t *src = (const int8_t *)(const void *)(input + slice * slice_bytes);
        const float scale = p->values[slice];
        float *out = (float *)(void *)dst;
        for (j = 0; j < p->slice_elements; j++) {
            out[j] = (float)src[j] * scale; /* (float)int8 is exact: one rounding, as LiteRT's */
        }
    } else {
        copy_slice(dst, input + slice * slice_bytes, slice_bytes);
    }
}

void ariel_indexed_gather(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_indexed_gather_params *p = (const ariel_indexed_gather_params *)params;
    const uint8_t *input = (const uint8_t *)buffers[0];
    const uint8_t *indices = (const uint8_t *)buffers[1];
    uint8_t *output = (uint8_t *)buffers[2];
    const int32_t slice_bytes = p->slice_elements * p->element_size;
    const int32_t out_slice_bytes = p->dequantize ? 4 * p->slice_elements : slice_bytes;
    const int32_t tuple_bytes = p->depth * p->index_size;
    const int32_t fast = p->depth == 1 && p->dequantize == ARIEL_INDEXED_COPY; /* GATHER, EMBEDDING_LOOKUP */
    int32_t r = begin * p->slices_per_item;
    int32_t stop = end * p->slices_per_item;
    uint8_t *dst = output + r * out_slice_bytes;
    int32_t block, lookup, block_in_batch, block_start;
    const uint8_t *batch_indices;

    if (stop > p->total_slices) {
        stop = p->total_slices;
    }
    if (r >= stop) {
        return;
    }
    /* output slice r = (block, lookup); the divisions once per call, then counters */
    block = r / p->lookups;
    lookup = r - block * p->lookups;
    block_in_batch = block % p->blocks_per_batch;
    block_start = block * p->block_slices;
    batch_indices = indices + (block / p->blocks_per_batch) * p->lookups * tuple_bytes;
    while (r < stop) {
        const int32_t run = p->lookups - lookup < stop - r ? p->lookups - lookup : stop - r;
        int32_t k;
        if (fast && p->index_size == 4) {
            const int32_t *ix = (const int32_t *)(const void *)batch_indices + lookup;
            const uint32_t dim = (uint32_t)p->dims[0];
            for (k = 0; k < run; k++, dst += out_slice_bytes) {
                const int32_t coordinate = ix[k];
                if ((uint32_t)coordinate < dim) {
                    copy_slice(dst, input + (block_start + coordinate) * slice_bytes, slice_bytes);
                } else {
                    zero_slice(dst, out_slice_bytes); /* LiteRT fails here; we write zeros */
                }
            }
        } else if (fast) {
            for (k = 0; k < run; k++, dst += out_slice_bytes) {
                const int32_t coordinate = checked_index(batch_indices, lookup + k, p->index_size, p->dims[0]);
                if (coordinate >= 0) {
                    copy_slice(dst, input + (block_start + coordinate) * slice_bytes, slice_bytes);
                } else {
                    zero_slice(dst, out_slice_bytes);
                }
            }
        } else {
            for (k = 0; k < run; k++, dst += out_slice_bytes) {
                lookup_slice(p, input, batch_indices + (lookup + k) * tuple_bytes, block_start, dst);
            }
        }
        r += run;
        lookup = 0; /* the next block */
        block_start += p->block_slices;
        if (++block_in_batch == p->blocks_per_batch) {
            block_in_batch = 0;
            batch_indices += p->lookups * tuple_bytes;
        }
    }
}

/* ---- DYNAMIC_UPDATE_SLICE ------------------------------------------------------------------------ */

void ariel_dynamic_update_slice(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_dynamic_update_slice_params *p = (const ariel_dynamic_update_slice_params *)params;
    const uint8_t *operand = (const uint8_t *)buffers[0];
    const uint8_t *update = (const uint8_t *)buffers[1];
    const uint8_t *raw_start = (const uint8_t *)buffers[2];
    uint8_t *output = (uint8_t *)buffers[3];
    const int32_t size = p->element_size;
    const int32_t last = p->rank - 1;
    const int32_t row_bytes = p->dims[last] * size;
    int32_t start[ARIEL_UPDATE_MAX_RANK];
    int32_t index[ARIEL_UPDATE_MAX_RANK];
    int32_t a, item;

    for (a = 0; a < p->rank; a++) {
        const int64_t raw = read_index(raw_start, a, p->index_size);
        const int64_t high = (int64_t)(p->dims[a] - p->update_dims[a]);
        start[a] = (int32_t)(raw < 0 ? 0 : raw > high ? high : raw);
    }
    item = begin;
    for (a = last - 1; a >= 0; a--) {
        index[a] = item % p->dims[a];
        item /= p->dims[a];
    }
    for (item = begin; item < end; item++) {
        int32_t inside = p->update_dims[last] > 0;
        int32_t update_row = 0;
        if (output != operand) {
            memcpy(output + item * row_bytes, operand + item * row_bytes, (size_t)row_bytes);
        }
        for (a = 0; a < last; a++) {
            const int32_t i = index[a] - start[a];
            inside &= i >= 0 && i < p->update_dims[a];
            update_row = update_row * p->update_dims[a] + i;
        }
        if (inside) {
            memcpy(output + item * row_bytes + start[last] * size,
                   update + update_row * p->update_dims[last] * size, (size_t)(p->update_dims[last] * size));
        }
        for (a = last - 1; a >= 0; a--) {
            if (++index[a] < p->dims[a]) {
                break;
            }
            index[a] = 0;
        }
    }
}

/* ---- constant output ---------------------------------------------------------------------------- */

void ariel_constant_output(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_constant_output_params *p = (const ariel_constant_output_params *)params;
    if (begin < end) {
        memcpy(buffers[p->output_buffer], p->bytes, (size_t)p->nbytes);
    }
}

/* ---- BROADCAST_ARGS ------------------------------------------------------------------------------ */

static void write_index(uint8_t *out, int32_t i, int32_t size, int64_t value)
{
    if (size == 8) {
        ((int64_t *)(void *)out)[i] = value;
    } else {
        ((int32_t *)(void *)out)[i] = (int32_t)value;
    }
}

void ariel_broadcast_args(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_broadcast_args_params *p = (const ariel_broadcast_args_params *)params;
    const uint8_t *a = (const uint8_t *)buffers[0];
    const uint8_t *b = (const uint8_t *)buffers[1];
    uint8_t *out = (uint8_t *)buffers[2];
    const int32_t rank = p->rank_a > p->rank_b ? p->rank_a : p->rank_b;
    int32_t i;

    if (begin >= end) {
        return;
    }
    for (i = 0; i < rank; i++) { /* output axis i is axis i - (rank - rank_x) of x, or 1 before it */
        const int32_t ia = i - (rank - p->rank_a);
        const int32_t ib = i - (rank - p->rank_b);
        const int64_t da = ia >= 0 ? read_index(a, ia, p->element_size) : 1;
        const int64_t db = ib >= 0 ? read_index(b, ib, p->element_size) : 1;
        write_index(out, i, p->element_size, da == 1 ? db : db == 1 || da == db ? da : 0);
    }
}
