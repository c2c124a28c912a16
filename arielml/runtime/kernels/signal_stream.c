/* kernels/signal_stream.c - TFLite Micro's streaming Signal operators (arielml/ops/signal_stream.py):
 * delay, framer, overlap-add, stacker. Their lines are hidden state tensors (updated in place) kept
 * compact, oldest sample first, instead of TFLite Micro's circular buffers: same samples out.
 * Work item = one row (a row's frames follow each other); the stacker is one item. */
#include <string.h>

#include "ariel_kernels.h"

/* ariel:interface */
/* buffers: the input, the hidden state (line, then counters where the op has them), the outputs */
typedef struct {
    int32_t rows;
    int32_t frame;    /* delay: samples per row; framer, overlap-add: frame_size; stacker: output values */
    int32_t step;     /* framer, overlap-add: frame_step; stacker: frames discarded per output */
    int32_t frames;   /* framer, overlap-add: frames per row and invocation */
    int32_t line;     /* held values per row (the line state's row length) */
    int32_t delay;    /* delay: delay_length */
    int32_t prefill;  /* framer: the line starts with frame_size - frame_step zeros */
    int32_t channels; /* stacker: values per input frame */
    int32_t stack;    /* stacker: frames per output (left + right + 1) */
    int32_t left;     /* stacker: extra copies of the first frame */
} ariel_signal_stream_params;

void ariel_signal_delay(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_framer(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_overlap_add_s16(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_overlap_add_f32(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_signal_stacker(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

void ariel_signal_delay(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_stream_params *p = (const ariel_signal_stream_params *)params;
    int32_t row;
    for (row = begin; row < end; row++) {
        const int16_t *x = (const int16_t *)buffers[0] + (int64_t)row * p->frame;
        int16_t *line = (int16_t *)buffers[1] + (int64_t)row * p->line;
        int16_t *out = (int16_t *)buffers[2] + (int64_t)row * p->frame;
        /* the sequence is line[0..delay) then x; out takes its first `frame` values, the line its
         * last `delay` ones */
        if (p->frame >= p->delay) {
            memcpy(out, line, (size_t)p->delay * sizeof(int16_t));
            memcpy(out + p->delay, x, (size_t)(p->frame - p->delay) * sizeof(int16_t));
            memcpy(line, x + p->frame - p->delay, (size_t)p->delay * sizeof(int16_t));
        } else {
            memcpy(out, line, (size_t)p->frame * sizeof(int16_t));
            memmove(line, line + p->frame, (size_t)(p->delay - p->frame) * sizeof(int16_t));
            memcpy(line + p->delay - p->frame, x, (size_t)p->frame * sizeof(int16_t));
        }
    }
}

void ariel_signal_framer(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_stream_params *p = (const ariel_signal_stream_params *)params;
    const int32_t held_max = p->line; /* capacity - frame_step (at least 1 slot) */
    int32_t row, f;
    for (row = begin; row < end; row++) {
        const int16_t *x = (const int16_t *)buffers[0] + (int64_t)row * p->frames * p->step;
        int16_t *line = (int16_t *)buffers[1] + (int64_t)row * p->line;
        int32_t *held = (int32_t *)buffers[2] + row;
        int16_t *out = (int16_t *)buffers[3] + (int64_t)row * p->frames * p->frame;
        int32_t filled = p->prefill ? p->frame - p->step : *held;
        int32_t valid = 1;
        const int32_t kept = p->frame > p->step ? held_max : 0; /* line values the sequence keeps */
        for (f = 0; f < p->frames; f++) {
            /* sequence = line[0..kept) then the step's samples; the available ones are its last
             * filled + step */
            const int16_t *fresh = x + f * p->step;
            const int32_t available = filled + p->step;
            const int32_t length = kept + p->step;
            int16_t *frame_out = out + (int64_t)f * p->frame;
            int32_t i;
            if (available >= p->frame) {
                for (i = 0; i < p->frame; i++) {
                    const int32_t at = length - available + i;
                    frame_out[i] = at < kept ? line[at] : fresh[at - kept];
                }
                filled = available - p->step;
            } else {
                memset(frame_out, 0, (size_t)p->frame * sizeof(int16_t));
                valid = 0;
                filled = available;
            }
            /* keep the last `kept` values of the sequence */
            if (kept > p->step) {
                memmove(line, line + p->step, (size_t)(kept - p->step) * sizeof(int16_t));
                memcpy(line + kept - p->step, fresh, (size_t)p->step * sizeof(int16_t));
            } else if (kept > 0) {
                memcpy(line, fresh + p->step - kept, (size_t)kept * sizeof(int16_t));
            }
        }
        *held = filled;
        if (row == 0) { /* every row has the same history: row 0 reports */
            *(uint8_t *)buffers[4] = (uint8_t)valid;
        }
    }
}

void ariel_signal_overlap_add_s16(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_stream_params *p = (const ariel_signal_stream_params *)params;
    int32_t row, f, i;
    for (row = begin; row < end; row++) {
        const int16_t *x = (const int16_t *)buffers[0] + (int64_t)row * p->frames * p->frame;
        int16_t *acc = (int16_t *)buffers[1] + (int64_t)row * p->frame;
        int16_t *out = (int16_t *)buffers[2] + (int64_t)row * p->frames * p->step;
        for (f = 0; f < p->frames; f++) {
            for (i = 0; i < p->frame; i++) {
                const int32_t sum = (int32_t)acc[i] + x[f * p->frame + i];
                acc[i] = (int16_t)(sum < -32768 ? -32768 : sum > 32767 ? 32767 : sum);
            }
            memcpy(out + f * p->step, acc, (size_t)p->step * sizeof(int16_t));
            memmove(acc, acc + p->step, (size_t)(p->frame - p->step) * sizeof(int16_t));
            memset(acc + p->frame - p->step, 0, (size_t)p->step * sizeof(int16_t));
        }
    }
}

void ariel_signal_overlap_add_f32(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_stream_params *p = (const ariel_signal_stream_params *)params;
    int32_t row, f, i;
    for (row = begin; row < end; row++) {
        const float *x = (const float *)buffers[0] + (int64_t)row * p->frames * p->frame;
        float *acc = (float *)buffers[1] + (int64_t)row * p->frame;
        float *out = (float *)buffers[2] + (int64_t)row * p->frames * p->step;
        for (f = 0; f < p->frames; f++) {
            for (i = 0; i < p->frame; i++) {
                acc[i] += x[f * p->frame + i];
            }
            memcpy(out + f * p->step, acc, (size_t)p->step * sizeof(float));
            memmove(acc, acc + p->step, (size_t)(p->frame - p->step) * sizeof(float));
            for (i = p->frame - p->step; i < p->frame; i++) {
                acc[i] = 0.0f;
            }
        }
    }
}

void ariel_signal_stacker(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_signal_stream_params *p = (const ariel_signal_stream_params *)params;
    const int16_t *x = (const int16_t *)buffers[0];
    int16_t *line = (int16_t *)buffers[1]; /* p->frame values: the held frames, oldest first */
    int32_t *counters = (int32_t *)buffers[2]; /* held values, started */
    int16_t *out = (int16_t *)buffers[3];
    int32_t held = counters[0], copies = 1, k;
    (void)begin;
    (void)end;
    if (!counters[1]) { /* the first frame fills the left context too */
        copies += p->left;
        counters[1] = 1;
    }
    /* held + copies * channels <= frame: held is a multiple of channels below frame (see the op) */
    for (k = 0; k < copies; k++) {
        memcpy(line + held, x, (size_t)p->channels * sizeof(int16_t));
        held += p->channels;
    }
    if (held >= p->frame) {
        const int32_t drop = p->channels * p->step;
        memcpy(out, line, (size_t)p->frame * sizeof(int16_t));
        memmove(line, line + drop, (size_t)(held - drop) * sizeof(int16_t));
        held -= drop;
        *(uint8_t *)buffers[4] = 1;
    } else {
        memset(out, 0, (size_t)p->frame * sizeof(int16_t));
        *(uint8_t *)buffers[4] = 0;
    }
    counters[0] = held;
}
