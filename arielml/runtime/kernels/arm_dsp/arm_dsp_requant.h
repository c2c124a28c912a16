/* kernels/arm_dsp/arm_dsp_requant.h - the requantisation of conv_s8.c's CONV_2D and DEPTHWISE_CONV_2D
 * loops (included once, by conv_s8.c, after ariel_conv_q8_portable.h). */
#ifndef ARIEL_ARM_DSP_REQUANT_H
#define ARIEL_ARM_DSP_REQUANT_H

/* ---- requantisation ---------------------------------------------------------------------------
 * Double rounding (conv: ARIEL_ROUND_DOUBLE always) of a record {multiplier m, left, right, nudge16}.
 * For right >= 2 (then left = 0) the result of ariel_mul_double(x, m, -right) is
 *     floor((x m + 2^30 - 2^31 n + 2^31 h) / 2^(31 + right)),  n = [x < 0], h = 2^(right - 1):
 * gemmlowp's high multiply is floor((x m + 2^30) / 2^31) for either sign (its nudge 1 - 2^30 for
 * negative products, then truncation toward zero, is the same floor), and its rounding divide adds h
 * less 1 for negative values before an arithmetic shift. With x < 0 and a high part of 0 (only when
 * |x m| <= 2^30) the value is 0 with or without n, so n may follow the sign of x rather than of the
 * high part. Nested floors by powers of two merge, so the result is
 *     (hi32(x m + (n ? -2^30 : 2^30)) + 2^(right - 2)) >> (right - 1),
 * one SMLAL: |x m| < 2^62, the high word is below 2^30 in magnitude and adding 2^(right - 2) <= 2^29
 * cannot overflow. Right shifts of 0 and 1 (scales >= 1/4, rare) take ariel_rq. Checked against
 * ariel_mul_double on 60 M random and edge triples (right 2..31, multipliers 0 to 2^31 - 1) and by
 * the emulated tests. */
static inline int32_t requantize(int32_t acc, const int32_t *rq)
{
    const int32_t right = rq[2];
    if (right < 2) {
        return ariel_rq(acc, rq);
    }
    {
        const int32_t nudge = (int32_t)(((uint32_t)acc & 0x80000000u) | 0x40000000u); /* -2^30 or 2^30 */
        const int64_t product = (int64_t)acc * rq[0] + nudge;
        return ((int32_t)(product >> 32) + (int32_t)((1u << right) >> 2)) >> (right - 1);
    }
}

/* requantise the window sum of output channel oc and store it */
static inline void put(const ariel_conv_params *p, int8_t *out, int32_t sum, int32_t oc)
{
    int32_t v = requantize(ariel_wrapping_add(sum, p->bias[oc]), p->rq + oc * ARIEL_RQ_WORDS) + p->output_zero_point;
    v = v < p->act_min ? p->act_min : v;
    *out = (int8_t)(v > p->act_max ? p->act_max : v);
}

/* requantize()'s fast form for right >= 2: round = 2^(right - 2) rides in the high word of the SMLAL's
 * addend, so the result is that high word >> (right - 1) (5 instructions) */
static inline int32_t requant_high(int32_t acc, int32_t multiplier, int32_t round, int32_t shift)
{
    int32_t lo, hi;
    __asm__("and    %[lo], %[a], #0x80000000\n\t"  /* (hi:lo) = round 2^32 + (acc < 0 ? -2^30 : 2^30) */
            "orr    %[lo], %[lo], #0x40000000\n\t"
            "add    %[hi], %[round], %[a], asr #31\n\t"
            "smlal  %[lo], %[hi], %[a], %[m]\n\t"
            : [lo] "=&r"(lo), [hi] "=&r"(hi)
            : [a] "r"(acc), [m] "r"(multiplier), [round] "r"(round));
    return hi >> shift;
}

/* The SMMLAR form, for blocks whose every channel has a right shift r in 1..RQ_SMMLAR_MAX_RIGHT and no
 * left shift, and whose 2 x = 2 (bias + window sum) fits int32 (prepare_smmlar checks the bounds):
 *     SMMLAR(2 x, m, K - n) >> r,   n = [x < 0],  K = 2^(r - 1) + zp 2^r
 * is the requantised value with the output zero point zp added. Why: SMMLAR gives
 * floor((2 x m + 2^31 + (K - n) 2^32) / 2^32) = floor((x m + 2^30 + (K - n) 2^31) / 2^31), and the
 * shift gives floor((x m + 2^30 - 2^31 n + 2^31 2^(r - 1)) / 2^(31 + r)) + zp: requantize()'s merged
 * form (with h = 2^(r - 1); n may follow the sign of x as argued there, for r >= 1 too) with zp
 * folded in as a multiple of 2^(31 + r). Bounds: |x m / 2^31| < |x| < 2^30 and
 * |K| <= 2^21 + 128 2^22 <= 2^29, so SMMLAR's result and the shift stay in int32. 4 instructions
 * with the doubling (ADD with LSL #1 folds it into the bias: the entry holds 2 bias), against 7 for
 * requant_high and the zero point. Checked by the emulated tests against the reference. */
#define RQ_SMMLAR_MAX_RIGHT 22
static inline int32_t requant_smmlar(int32_t twice, int32_t multiplier, int32_t k, int32_t shift)
{
    int32_t v;
    __asm__("add    %0, %1, %2, asr #31\n\t"
            "smmlar %0, %2, %3, %0"
            : "=&r"(v)
            : "r"(k), "r"(twice), "r"(multiplier));
    return v >> shift;
}

/* The requantisation of one output channel, prepared once per work item: requantize()'s fast form
 * for right shifts 2..31 (any multiplier, 0 included: the formula holds for it), ariel_rq for 0 and 1
 * (shift = -1). The output zero point is added after. */
typedef struct {
    int32_t bias, multiplier, round, shift;
} rq_entry;

/* How a channel block's outputs are finished, chosen once per block so the per-output loops carry
 * neither the ariel_rq branch nor clamps that cannot bite: RQ_ANY when a channel needs ariel_rq,
 * else by the activation range (after SSAT to int8, a bound of -128 or 127 is no clamp). */
enum { RQ_SSAT, RQ_MIN_SSAT, RQ_MAX_SSAT, RQ_CLAMP, RQ_ANY };

typedef struct {
    rq_entry e[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t mode;
    int32_t smmlar; /* entries in the SMMLAR form (prepare_smmlar) */
} rq_table;

/* the RQ_ mode of the activation range alone */
static int32_t clamp_mode(const ariel_conv_params *p)
{
    const int32_t lo = p->act_min, hi = p->act_max;
    return lo == -128 ? (hi == 127 ? RQ_SSAT : RQ_MIN_SSAT) : (hi == 127 ? RQ_MAX_SSAT : RQ_CLAMP);
}

/* fills table[0..n) for channels c.. and returns the block's RQ_ mode */
static int32_t prepare_rq(const ariel_conv_params *p, int32_t c, int32_t n, rq_entry *table)
{
    int32_t k, mode = clamp_mode(p);
    for (k = 0; k < n; k++) {
        const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
        const int32_t right = rq[2];
        table[k].bias = p->bias[c + k];
        if (right >= 2) {
            table[k].multiplier = rq[0];
            table[k].round = (int32_t)(1u << (right - 2));
            table[k].shift = right - 1;
        } else {
            table[k].multiplier = c + k; /* the channel whose record ariel_rq reads */
            table[k].shift = -1;
            mode = RQ_ANY;
        }
    }
    return mode;
}

/* switches a table filled by prepare_rq to the SMMLAR form ({2 bias, m, K, r}) when every channel
 * allows it; window_bytes: the bytes of one channel's window (|sum| <= window_bytes 2^14 <= 2^29, and
 * |bias| <= 2^28: |x| < 2^30) */
static void prepare_smmlar(const ariel_conv_params *p, int32_t c, int32_t n, int32_t window_bytes, rq_table *t)
{
    const uint32_t zp = (uint32_t)p->output_zero_point;
    int32_t k;
    t->smmlar = 0;
    if (window_bytes > (1 << 15)) {
        return;
    }
    for (k = 0; k < n; k++) {
        const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
        const int32_t bias = p->bias[c + k];
        if (rq[1] != 0 || rq[2] < 1 || rq[2] > RQ_SMMLAR_MAX_RIGHT || bias > (1 << 28) || bias < -(1 << 28)) {
            return;
        }
    }
    for (k = 0; k < n; k++) {
        const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
        const int32_t r = rq[2];
        t->e[k].bias = 2 * p->bias[c + k];
        t->e[k].multiplier = rq[0];
        t->e[k].round = (int32_t)((1u << (r - 1)) + zp * (1u << r)); /* K */
        t->e[k].shift = r;
    }
    t->mode = clamp_mode(p);
    t->smmlar = 1;
}

/* ariel_rq out of line: rare, and inlined it would take the registers of the loops around it */
static NOINLINE int32_t requant_rare(const ariel_conv_params *p, int32_t acc, int32_t channel)
{
    return ariel_rq(acc, p->rq + channel * ARIEL_RQ_WORDS);
}

/* one output of a channel, before the zero point and the activation clamp */
static inline int32_t requant_entry(const ariel_conv_params *p, const rq_entry *e, int32_t sum)
{
    const int32_t acc = ariel_wrapping_add(sum, e->bias);
    return e->shift >= 0 ? requant_high(acc, e->multiplier, e->round, e->shift) : requant_rare(p, acc, e->multiplier);
}

/* the activation clamp of an output (zero point added) as `mode` needs it (mode is a constant) */
static inline __attribute__((always_inline)) int32_t finish(int32_t v, int32_t lo, int32_t hi, int32_t mode)
{
    if (mode == RQ_SSAT) {
        return __ssat(v, 8);
    }
    if (mode == RQ_MIN_SSAT) { /* act_min -128: SSAT is the lower bound */
        return __ssat(v > hi ? hi : v, 8);
    }
    if (mode == RQ_MAX_SSAT) { /* act_max 127: SSAT is the upper bound */
        return __ssat(v < lo ? lo : v, 8);
    }
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* one output of a fast table's entry, zero point included, before the clamp (`smmlar` a constant) */
static inline __attribute__((always_inline)) int32_t requant_fast(const rq_entry *e, int32_t sum, int32_t zp,
                                                                  int32_t smmlar)
{
    if (smmlar) {
        return requant_smmlar((int32_t)((uint32_t)e->bias + ((uint32_t)sum << 1)), e->multiplier, e->round, e->shift);
    }
    return requant_high(ariel_wrapping_add(sum, e->bias), e->multiplier, e->round, e->shift) + zp;
}

/* requant_pixels_2 for blocks without ariel_rq channels, `mode` and `smmlar` constants */
static inline __attribute__((always_inline)) void requant_pixels_2_fast(const ariel_conv_params *p,
                                                                        const rq_entry *table, const int32_t *sums0,
                                                                        const int32_t *sums1, int8_t *out0,
                                                                        int8_t *out1, int32_t n, int32_t mode,
                                                                        int32_t smmlar)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t k;
    for (k = 0; k < n; k++) {
        const rq_entry e = table[k]; /* read once: the int8_t stores may alias it for the compiler */
        const int32_t v0 = finish(requant_fast(&e, sums0[k], zp, smmlar), lo, hi, mode);
        const int32_t v1 = finish(requant_fast(&e, sums1[k], zp, smmlar), lo, hi, mode);
        out0[k] = (int8_t)v0;
        out1[k] = (int8_t)v1;
    }
}

/* requantise the window sums of two pixels (sums0[k], sums1[k]: the channel of table->e[k]) into
 * out0[k], out1[k] */
static NOINLINE void requant_pixels_2(const ariel_conv_params *p, const rq_table *table, const int32_t *sums0,
                                      const int32_t *sums1, int8_t *out0, int8_t *out1, int32_t n)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t k;
    if (table->smmlar) { /* SSAT alone, or both bounds (fewer copies of the loop: the XIP cache) */
        if (table->mode == RQ_SSAT) {
            requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_SSAT, 1);
        } else {
            requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_CLAMP, 1);
        }
        return;
    }
    switch (table->mode) {
    case RQ_SSAT:
        requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_SSAT, 0);
        return;
    case RQ_MIN_SSAT:
        requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_MIN_SSAT, 0);
        return;
    case RQ_MAX_SSAT:
        requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_MAX_SSAT, 0);
        return;
    case RQ_CLAMP:
        requant_pixels_2_fast(p, table->e, sums0, sums1, out0, out1, n, RQ_CLAMP, 0);
        return;
    default:
        break;
    }
    for (k = 0; k < n; k++) {
        const rq_entry e = table->e[k];
        int32_t v0 = requant_entry(p, &e, sums0[k]) + zp;
        int32_t v1 = requant_entry(p, &e, sums1[k]) + zp;
        v0 = v0 < lo ? lo : v0;
        v1 = v1 < lo ? lo : v1;
        v0 = v0 > hi ? hi : v0;
        v1 = v1 > hi ? hi : v1;
        out0[k] = (int8_t)v0;
        out1[k] = (int8_t)v1;
    }
}

/* requantise n sums of one pixel, `mode` and `smmlar` constants */
static inline __attribute__((always_inline)) void requant_run_fast(const ariel_conv_params *p, const rq_entry *table,
                                                                   const int32_t *sums, int8_t *out, int32_t n,
                                                                   int32_t mode, int32_t smmlar)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t k;
    for (k = 0; k < n; k++) {
        const rq_entry e = table[k];
        out[k] = (int8_t)finish(requant_fast(&e, sums[k], zp, smmlar), lo, hi, mode);
    }
}

/* requant_pixel's fast loops by mode; 0 when the block needs ariel_rq */
static int requant_run(const ariel_conv_params *p, const rq_table *table, const int32_t *sums, int8_t *out, int32_t n)
{
    if (table->smmlar) {
        if (table->mode == RQ_SSAT) {
            requant_run_fast(p, table->e, sums, out, n, RQ_SSAT, 1);
        } else {
            requant_run_fast(p, table->e, sums, out, n, RQ_CLAMP, 1);
        }
        return 1;
    }
    switch (table->mode) {
    case RQ_SSAT:
        requant_run_fast(p, table->e, sums, out, n, RQ_SSAT, 0);
        return 1;
    case RQ_MIN_SSAT:
        requant_run_fast(p, table->e, sums, out, n, RQ_MIN_SSAT, 0);
        return 1;
    case RQ_MAX_SSAT:
        requant_run_fast(p, table->e, sums, out, n, RQ_MAX_SSAT, 0);
        return 1;
    case RQ_CLAMP:
        requant_run_fast(p, table->e, sums, out, n, RQ_CLAMP, 0);
        return 1;
    default:
        return 0;
    }
}

/* the same for one pixel */
static NOINLINE void requant_pixel(const ariel_conv_params *p, const rq_table *table, const int32_t *sums, int8_t *out,
                                   int32_t n)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t k;
    if (requant_run(p, table, sums, out, n)) {
        return;
    }
    for (k = 0; k < n; k++) {
        int32_t v = requant_entry(p, &table->e[k], sums[k]) + zp;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[k] = (int8_t)v;
    }
}

#endif
