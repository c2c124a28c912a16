/* kernels/data.c - data movement: the gather behind TRANSPOSE, STRIDED_SLICE and
 * RESIZE_NEAREST_NEIGHBOR, CONCATENATION, SPLIT / SPLIT_V, PAD / PADV2.
 *
 * These kernels move elements without interpreting them (CONCATENATION's uint8 requantisation is
 * a compile-time byte table), so one kernel serves every element type: the element size comes
 * in the params. Element pointers are aligned for their size (the arena is 8-byte aligned and
 * every buffer starts on an element boundary), so 2-, 4- and 8-byte elements are copied as
 * uint16_t / uint32_t / uint64_t. */
#include <string.h>

#include "ariel_kernels.h"

/* dst[j] = src[offsets[j]] for j < n, elements of `size` bytes */
static void gather_elements(uint8_t *dst, const uint8_t *src, const int32_t *offsets, int32_t n, int32_t size)
{
    int32_t j;
    switch (size) {
    case 1:
        for (j = 0; j < n; j++) {
            dst[j] = src[offsets[j]];
        }
        break;
    case 2:
        for (j = 0; j < n; j++) {
            ((uint16_t *)(void *)dst)[j] = ((const uint16_t *)(const void *)src)[offsets[j]];
        }
        break;
    case 4:
        for (j = 0; j < n; j++) {
            ((uint32_t *)(void *)dst)[j] = ((const uint32_t *)(const void *)src)[offsets[j]];
        }
        break;
    default: /* 8 */
        for (j = 0; j < n; j++) {
            ((uint64_t *)(void *)dst)[j] = ((const uint64_t *)(const void *)src)[offsets[j]];
        }
        break;
    }
}

/* ---- gather ----------------------------------------------------------------------------------- */

void ariel_gather(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_gather_params *p = (const ariel_gather_params *)params;
    const uint8_t *input = (const uint8_t *)buffers[0];
    uint8_t *output = (uint8_t *)buffers[1];
    const int32_t last = p->rank - 1;
    const int32_t width = p->dims[last];
    const int32_t chunks = (width + p->chunk - 1) / p->chunk;
    const int32_t *last_offsets = p->offsets + p->table_start[last];
    int32_t index[ARIEL_GATHER_MAX_RANK]; /* position of the current row on the axes before the last */
    int32_t row, chunk, item, a;
    int32_t row_offset = p->base;
    uint8_t *dst;

    if (chunks == 0) {
        return; /* an empty output (the compiler still gives it one work item) */
    }
    row = begin / chunks;
    chunk = begin % chunks;
    /* output elements are written in item order, so the destination just moves on */
    dst = output + (row * width + chunk * p->chunk) * p->element_size;
    /* decode the first row once; later rows advance like an odometer */
    for (a = last - 1; a >= 0; a--) {
        index[a] = row % p->dims[a];
        row /= p->dims[a];
        row_offset += p->offsets[p->table_start[a] + index[a]];
    }
    for (item = begin; item < end; item++) {
        const int32_t j0 = chunk * p->chunk;
        const int32_t j1 = j0 + p->chunk < width ? j0 + p->chunk : width;
        if (p->last_contiguous) {
            memcpy(dst, input + (row_offset + j0) * p->element_size, (size_t)((j1 - j0) * p->element_size));
        } else {
            gather_elements(dst, input + row_offset * p->element_size, last_offsets + j0, j1 - j0, p->element_size);
        }
        dst += (j1 - j0) * p->element_size;
        if (++chunk < chunks) {
            continue;
        }
        chunk = 0;
        for (a = last - 1; a >= 0; a--) { /* next row */
            const int32_t *table = p->offsets + p->table_start[a];
            row_offset -= table[index[a]];
            if (++index[a] < p->dims[a]) {
                row_offset += table[index[a]];
                break;
            }
            index[a] = 0;
            row_offset += table[0];
        }
    }
}

/* ---- CONCATENATION ---------------------------------------------------------------------------- */

void ariel_concatenation(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_concatenation_params *p = (const ariel_concatenation_params *)params;
    uint8_t *output = (uint8_t *)buffers[p->num_inputs];
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t row = item / p->num_inputs;
        const int32_t i = item % p->num_inputs;
        const int32_t n = p->row_bytes[i];
        const uint8_t *src = (const uint8_t *)buffers[i] + row * n;
        uint8_t *dst = output + row * p->out_row_bytes + p->row_start[i];
        if (p->table_offset[i] < 0) {
            memcpy(dst, src, (size_t)n);
        } else {
            const uint8_t *table = p->tables + p->table_offset[i];
            int32_t j;
            for (j = 0; j < n; j++) {
                dst[j] = table[src[j]];
            }
        }
    }
}

/* ---- SPLIT / SPLIT_V -------------------------------------------------------------------------- */

void ariel_split(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_split_params *p = (const ariel_split_params *)params;
    const uint8_t *input = (const uint8_t *)buffers[0];
    int32_t item;

    for (item = begin; item < end; item++) {
        const int32_t row = item / p->num_outputs;
        const int32_t i = item % p->num_outputs;
        const int32_t n = p->row_bytes[i];
        memcpy((uint8_t *)buffers[1 + i] + row * n, input + row * p->in_row_bytes + p->row_start[i], (size_t)n);
    }
}

/* ---- PAD / PADV2 ------------------------------------------------------------------------------ */

static void fill(const ariel_pad_params *p, uint8_t *dst, int32_t elements)
{
    if (p->fill_byte >= 0) {
        memset(dst, p->fill_byte, (size_t)(elements * p->element_size));
    } else {
        int32_t j;
        for (j = 0; j < elements; j++) {
            memcpy(dst + j * p->element_size, p->value, (size_t)p->element_size);
        }
    }
}

void ariel_pad(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_pad_params *p = (const ariel_pad_params *)params;
    const uint8_t *input = (const uint8_t *)buffers[0];
    uint8_t *output = (uint8_t *)buffers[1];
    const int32_t last = p->rank - 1;
    const int32_t size = p->element_size;
    const int32_t width = p->out_dims[last];
    const int32_t before = p->pad_before[last];
    const int32_t inner = p->in_dims[last];
    int32_t index[ARIEL_PAD_MAX_RANK];
    int32_t row = begin;
    int32_t item;
    int32_t a;

    for (a = last - 1; a >= 0; a--) {
        index[a] = row % p->out_dims[a];
        row /= p->out_dims[a];
    }
    for (item = begin; item < end; item++) {
        uint8_t *dst = output + item * width * size;
        int32_t in_row = 0; /* input row under this output row, when there is one */
        int32_t inside = 1;
        for (a = 0; a < last; a++) {
            const int32_t i = index[a] - p->pad_before[a];
            inside &= i >= 0 && i < p->in_dims[a];
            in_row = in_row * p->in_dims[a] + i;
        }
        if (inside) {
            fill(p, dst, before);
            memcpy(dst + before * size, input + in_row * inner * size, (size_t)(inner * size));
            fill(p, dst + (before + inner) * size, width - before - inner);
        } else {
            fill(p, dst, width);
        }
        for (a = last - 1; a >= 0; a--) { /* next row */
            if (++index[a] < p->out_dims[a]) {
                break;
            }
            index[a] = 0;
        }
    }
}

/* ---- copy rows -------------------------------------------------------------------------------- */

void ariel_copy_rows(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_copy_rows_params *p = (const ariel_copy_rows_params *)params;
    const int32_t n = p->item_bytes;
    uint8_t *dst = (uint8_t *)buffers[1] + begin * n;
    const uint8_t *src = (const uint8_t *)buffers[0] + begin * n;
    const int32_t bytes = (end - begin) * n;
    int32_t i;
    /* The destination is lower than the source (the kept rows move to the buffer's start), so a
     * forward copy is right even when they overlap. Band rows start on word boundaries when the row
     * is a multiple of 4 bytes: then words (a C library's memmove may go byte by byte) */
    if (((uintptr_t)dst | (uintptr_t)src | (uintptr_t)bytes) % 4 == 0) {
        uint32_t *d = (uint32_t *)(void *)dst;
        const uint32_t *s = (const uint32_t *)(const void *)src;
        const int32_t words = bytes / 4;
        for (i = 0; i + 4 <= words; i += 4) {
            const uint32_t a = s[i], b = s[i + 1], c = s[i + 2], e = s[i + 3];
            d[i] = a, d[i + 1] = b, d[i + 2] = c, d[i + 3] = e;
        }
        for (; i < words; i++) {
            d[i] = s[i];
        }
    } else {
        for (i = 0; i < bytes; i++) {
            dst[i] = src[i];
        }
    }
}
