/* kernels/arm_dsp/fully_connected_s8.c - int8 FULLY_CONNECTED for cores with the Arm DSP extension
 * (Cortex-M4F, M7, M33): SIMD dot products (SXTB16 + SMLAD, two multiply-accumulates per
 * instruction) over four units at once, so every input word is loaded and widened once for four
 * weight rows. Requantisation is the portable one (ariel_rq, acc_limit clamp): a layer has few
 * outputs per multiply-accumulate. Layers with a weight offset (not int8 weights) take the portable
 * loop of ariel_fc_q8_portable.h, the oracle this file is tested against
 * (tests/test_kernels_arm_dsp.py).
 *
 * Why widening both operands the same way is exact: SXTB16 v gives the sign-extended bytes 0 and 2
 * of v as two int16 lanes, SXTB16 (v ROR 8) bytes 1 and 3; SMLAD adds the two lane products to the
 * accumulator. Input and weight words are split alike, so lane k of one meets lane k of the other:
 * the four byte products of a word are summed, as the portable loop sums them. Overflow as there:
 * every product is at most 128 * 128, and the compiler bounds depth (int32 sums are exact). */
#include <arm_acle.h>

#include "ariel_fc_q8_portable.h"
#include "arm_dsp_dot4.h"

/* sum x[i] * w_u[i] over `words` words for four weight rows w, w + depth, w + 2 depth, w + 3 depth
 * (acc[0..3]). A naked function in assembly (the compiler spilled the five pointers of the C loop):
 * 13 registers hold the input and weight pointers, depth, a scratch pointer, the loop end, four
 * accumulators and four widened words. Per 16 multiply-accumulates: 5 loads, 10 SXTB16, 8 SMLAD.
 * words >= 1. */
typedef struct {
    const int8_t *x; /*  0 */
    const int8_t *w; /*  4 */
    int32_t depth;   /*  8 */
    int32_t words;   /* 12 */
    int32_t *acc;    /* 16: four sums out */
} units_4;

__attribute__((naked, noinline)) static void dot_4_words(const units_4 *u __attribute__((unused)))
{
    __asm__ volatile(
        "push   {r4-r11, lr}\n\t"
        "ldr    r1, [r0, #4]\n\t"             /* w */
        "ldr    r2, [r0, #8]\n\t"             /* depth */
        "ldr    r3, [r0, #12]\n\t"
        "ldr    r12, [r0, #16]\n\t"           /* acc */
        "ldr    r0, [r0, #0]\n\t"             /* x */
        "push   {r12}\n\t"
        "add    r3, r0, r3, lsl #2\n\t"       /* x end */
        "movs   r4, #0\n\t"
        "movs   r5, #0\n\t"
        "movs   r6, #0\n\t"
        "movs   r7, #0\n\t"
        ARIEL_DSP_DOT4_LOOP
        "pop    {r12}\n\t"
        "stmia  r12, {r4, r5, r6, r7}\n\t"
        "pop    {r4-r11, pc}\n\t");
}

/* sum x[i] * w_u[i] for four weight rows w, w + depth, w + 2 depth, w + 3 depth */
static void dot_4_units(const int8_t *x, const int8_t *w, int32_t depth, int32_t *acc)
{
    const int32_t words = depth >> 2, done = 4 * words;
    int32_t i;
    acc[0] = acc[1] = acc[2] = acc[3] = 0;
    if (words > 0) {
        units_4 u;
        u.x = x, u.w = w, u.depth = depth, u.words = words, u.acc = acc;
        dot_4_words(&u);
    }
    for (i = done; i < depth; i++) { /* the last depth % 4 bytes */
        const int32_t v = x[i];
        acc[0] += v * w[i], acc[1] += v * w[depth + i], acc[2] += v * w[2 * depth + i], acc[3] += v * w[3 * depth + i];
    }
}

/* sum x[i] * w[i], two words per step */
static __attribute__((noinline)) int32_t dot_1_unit(const int8_t *x, const int8_t *w, int32_t depth)
{
    int32_t a = 0, b = 0;
    int32_t n = depth;
    for (; n >= 8; n -= 8, x += 8, w += 8) {
        const uint32_t x0 = load_word(x), w0 = load_word(w), x1 = load_word(x + 4), w1 = load_word(w + 4);
        a = __smlad(__sxtb16(x0), __sxtb16(w0), a);
        b = __smlad(widen_odd(x0), widen_odd(w0), b);
        a = __smlad(__sxtb16(x1), __sxtb16(w1), a);
        b = __smlad(widen_odd(x1), widen_odd(w1), b);
    }
    for (; n > 0; n--) {
        a += *x++ * *w++;
    }
    return a + b;
}

static inline void store_output(const ariel_fully_connected_q8_params *p, int8_t *out, int32_t unit, int32_t dot)
{
    int32_t acc = ariel_wrapping_add(dot, p->bias[unit]);
    int32_t v;
    acc = acc > p->acc_limit ? p->acc_limit : acc < ~p->acc_limit ? ~p->acc_limit : acc; /* ~l = -l - 1 */
    v = ariel_rq(acc, p->rq + unit * p->per_channel * ARIEL_RQ_WORDS) + p->output_zero_point;
    *out = (int8_t)(v < p->act_min ? p->act_min : v > p->act_max ? p->act_max : v);
}

void ariel_fully_connected_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_fully_connected_q8_params *p = (const ariel_fully_connected_q8_params *)params;
    const int8_t *input = (const int8_t *)buffers[0];
    const int8_t *weights = (const int8_t *)buffers[1];
    int8_t *output = (int8_t *)buffers[3];
    int32_t row, unit, item = begin;
    if (p->weight_offset != 0) {
        fully_connected_q8(p, buffers, begin, end, 0);
        return;
    }
    row = begin / p->units;
    unit = begin - row * p->units;
    while (item < end) {
        const int8_t *x = input + row * p->depth;
        /* the units of this row inside [item, end) */
        const int32_t stop = end - item < p->units - unit ? unit + (end - item) : p->units;
        for (; unit + 4 <= stop; unit += 4, item += 4) {
            int32_t acc[4];
            int32_t k;
            dot_4_units(x, weights + unit * p->depth, p->depth, acc);
            for (k = 0; k < 4; k++) {
                store_output(p, output + item + k, unit + k, acc[k]);
            }
        }
        for (; unit < stop; unit++, item++) {
            store_output(p, output + item, unit, dot_1_unit(x, weights + unit * p->depth, p->depth));
        }
        if (unit == p->units) {
            unit = 0;
            row++;
        }
    }
}
