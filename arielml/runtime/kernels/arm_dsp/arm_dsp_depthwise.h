/* kernels/arm_dsp/arm_dsp_depthwise.h - conv_s8.c's DEPTHWISE_CONV_2D loops (included once, by conv_s8.c,
 * after its requantisation helpers, which these loops use). */
#ifndef ARIEL_ARM_DSP_DEPTHWISE_H
#define ARIEL_ARM_DSP_DEPTHWISE_H

/* ---- DEPTHWISE_CONV_2D ----------------------------------------------------------------------------
 * Depth multiplier 1 (the compiler's channel-major packed_weights hold a channel's taps together):
 * 3x3 windows without dilation (MobileNet's layers) take depthwise_3x3_groups (the channel sweep at
 * strides 1 and 2 on rows of 12 output pixels or more, four channels per word otherwise), other windows of up to
 * DW_SIMD_MAX_TAPS taps depthwise_dm1_simd; the rest the portable loops. Stack: the sweep ~2.4 KB,
 * the four-channel kernel ~1.9 KB (each says what). */

/* ---- 3x3 depthwise, four channels per word (rows of under 12 pixels, strides over 2) --------------
 * The earlier kernel, kept where the channel sweep below loses: on rows of under 12 output pixels its
 * per-row set-up and leftover steps cost more than they save (and strides over 2 have no sweep loop).
 * A work item's channel block is taken four channels (a "group") at a time. The group's input words
 * under the three filter rows are copied once per strip of output pixels into a small column-major
 * table on the stack (strip[3 * column + filter row]), padded columns and rows written as the zero
 * point, so every window reads its 9 words at fixed offsets and edges cost nothing extra. SXTB16 splits
 * a word into channels (c, c + 2) and, rotated, (c + 1, c + 3) as int16 lanes; the group's weights are
 * widened the same way once per call (dwg_table), and SMLABB / SMLATT multiply lane by lane (a depthwise
 * sum never mixes channels). Two output pixels share each loaded weight pair: 8 accumulators.
 *
 * Requantisation is fused into the pixel loop. For the common case (every channel of the block with a
 * right shift r in 1..22, no left shift, |bias| <= 2^29: "fast" blocks) the weights are doubled in the
 * table and the accumulators start at 2 * bias, so they hold X = 2x with x = bias + window sum; then
 *     SMMLAR(X, m, K - n) >> r,   n = [x < 0],  K = 2^(r - 1) + zp 2^r
 * is the requantised value plus the output zero point zp. Why: SMMLAR gives
 * floor((2 x m + 2^31 + (K - n) 2^32) / 2^32) = floor((x m + 2^30 + (K - n) 2^31) / 2^31), so the shift
 * gives floor((x m + 2^30 - 2^31 n + 2^31 2^(r - 1)) / 2^(31 + r)) + zp: requantize()'s merged form
 * (conv_s8.c's requantisation comment; n may follow the sign of x there) with zp folded in as a
 * multiple of 2^(31 + r). Bounds: |window sum| <= 9 * 128 * 128 < 2^18 (inputs are raw bytes, the
 * input offset is in the bias), so |x| < 2^30 and X fits int32; doubled weights fit the int16 lanes;
 * |x m / 2^31| < 2^30 and |K| < 2^(r + 7) <= 2^29, so SMMLAR's result and the shift stay in int32.
 * Other blocks ("slow": rare scales) keep the plain weights and requantise through requant_entry. */
#define DWG_STRIP_COLUMNS 67 /* a strip: 65 pixels at stride 1, 33 at stride 2 */
#define DWG_FAST_MAX_RIGHT 22
#define DWG_GROUPS (ARIEL_CONV_MAX_CHANNEL_BLOCK / 4)

/* one channel group's widened weights and requantisation constants, together so that one base register
 * reaches them all by immediate offsets */
typedef struct {
    uint32_t weights[9][2]; /* per tap: lanes (c, c + 2), (c + 1, c + 3) */
    int32_t start[4];       /* accumulator start: 2 * bias (fast blocks), 0 (slow) */
    int32_t rq[4][3];       /* fast blocks, per lane: multiplier, K, shift */
} dwg_group;

/* one channel block's groups */
typedef struct {
    dwg_group group[DWG_GROUPS];
    rq_entry slow[ARIEL_CONV_MAX_CHANNEL_BLOCK]; /* slow blocks: prepare_rq's entries */
    int32_t fast, mode;
} dwg_table;

/* widens and (fast blocks) doubles the weights of channels [c, c + n), prepares their constants */
static void dwg_prepare(const ariel_conv_params *p, int32_t c, int32_t n, dwg_table *t)
{
    const int8_t *w = p->packed_weights + c * 9;
    const int32_t zp = p->output_zero_point;
    int32_t k, tap, fast = 1, scale;
    for (k = 0; k < n; k++) {
        const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
        const int32_t bias = p->bias[c + k];
        fast = fast && rq[1] == 0 && rq[2] >= 1 && rq[2] <= DWG_FAST_MAX_RIGHT && bias <= (1 << 29) &&
               bias >= -(1 << 29);
    }
    t->fast = fast;
    /* slow blocks requantise through prepare_rq's entries; fast ones need only the clamp form */
    t->mode = fast ? clamp_mode(p) : prepare_rq(p, c, n, t->slow);
    for (k = n; !fast && (k & 3) != 0; k++) {
        /* dwg_run_slow requantises all four lanes of the last group, the ones past the block's channels
         * discarded: their entries must be harmless, not stack left-overs (a negative shift there sent
         * requant_rare to a channel read from garbage) */
        t->slow[k].bias = 0, t->slow[k].multiplier = 0, t->slow[k].round = 0, t->slow[k].shift = 0;
    }
    scale = 1 + fast; /* weights times 2 in fast blocks */
    for (k = 0; k < n; k += 4, w += 36) {
        dwg_group *gr = &t->group[k >> 2];
        const int32_t lanes = n - k < 4 ? n - k : 4, lane_step[4] = {0, 9, 18, 27};
        int32_t lane;
        if (lanes == 4) {
            for (tap = 0; tap < 9; tap++) { /* lanes (0, 2) and (1, 3), each int16 */
                gr->weights[tap][0] = (uint16_t)(w[tap] * scale) | (uint32_t)(w[18 + tap] * scale) << 16;
                gr->weights[tap][1] = (uint16_t)(w[9 + tap] * scale) | (uint32_t)(w[27 + tap] * scale) << 16;
            }
        } else {
            for (tap = 0; tap < 9; tap++) {
                int32_t v[4] = {0, 0, 0, 0};
                for (lane = 0; lane < lanes; lane++) {
                    v[lane] = w[lane_step[lane] + tap] * scale;
                }
                gr->weights[tap][0] = (uint16_t)v[0] | (uint32_t)v[2] << 16;
                gr->weights[tap][1] = (uint16_t)v[1] | (uint32_t)v[3] << 16;
            }
        }
        for (lane = 0; lane < 4; lane++) {
            const int32_t ch = c + k + lane;
            gr->start[lane] = 0, gr->rq[lane][0] = 0, gr->rq[lane][1] = 0, gr->rq[lane][2] = 0;
            if (lane < lanes && fast) {
                const int32_t r = p->rq[ch * ARIEL_RQ_WORDS + 2];
                gr->start[lane] = 2 * p->bias[ch];
                gr->rq[lane][0] = p->rq[ch * ARIEL_RQ_WORDS];
                gr->rq[lane][1] = (int32_t)((1u << (r - 1)) + (uint32_t)zp * (1u << r));
                gr->rq[lane][2] = r;
            }
        }
    }
}

/* one tap of four channels for one pixel: the strip word x, the tap's lanes (even, odd) */
#define DWG_TAP(x, even, odd, s0, s1, s2, s3)                                                                   \
    do {                                                                                                        \
        const uint32_t x_ = (x);                                                                                \
        const int32_t e_ = (int32_t)__sxtb16(x_), o_ = (int32_t)widen_odd(x_);                                  \
        s0 = __smlabb(e_, (int32_t)(even), s0);                                                                 \
        s2 = __smlatt(e_, (int32_t)(even), s2);                                                                 \
        s1 = __smlabb(o_, (int32_t)(odd), s1);                                                                  \
        s3 = __smlatt(o_, (int32_t)(odd), s3);                                                                  \
    } while (0)

/* tap t = 3 * ky + kx of the window whose first column starts at strip word 0 */
#define DWG_WORD(x, t) ((x)[3 * ((t) % 3) + (t) / 3])

/* The same in assembly for the hot loops (GCC hoists the SXTB16s of a plain C body and spills them).
 * T is the tap as a string ("0".."8"); the assembler computes the offsets: the tap's weight lanes at
 * w + 8 T, its strip word at 4 (3 (T % 3) + T / 3), pixel 1's STEP bytes further. Every loaded register
 * is first read two or more instructions later (no load-use stall on the M33). */
#define DWG_OFFSET(T) "4*(3*((" T ")%%3)+(" T ")/3)" /* %% : a percent sign in asm text */
#define DWG_ASM_PAIR_TAP(T, STEP)                                                                               \
    "ldr    %[s2], [%[x], #" DWG_OFFSET(T) "]\n\t"                                                              \
    "ldr    %[s0], [%[w], #8*" T "]\n\t"                                                                        \
    "sxtb16 %[s3], %[s2]\n\t"                                                                                   \
    "ldr    %[s1], [%[w], #8*" T "+4]\n\t"                                                                      \
    "smlabb %[a0], %[s3], %[s0], %[a0]\n\t"                                                                     \
    "smlatt %[a2], %[s3], %[s0], %[a2]\n\t"                                                                     \
    "sxtb16 %[s2], %[s2], ror #8\n\t"                                                                           \
    "ldr    %[s3], [%[x], #" DWG_OFFSET(T) "+" STEP "]\n\t"                                                     \
    "smlabb %[a1], %[s2], %[s1], %[a1]\n\t"                                                                     \
    "smlatt %[a3], %[s2], %[s1], %[a3]\n\t"                                                                     \
    "sxtb16 %[s2], %[s3]\n\t"                                                                                   \
    "sxtb16 %[s3], %[s3], ror #8\n\t"                                                                           \
    "smlabb %[b0], %[s2], %[s0], %[b0]\n\t"                                                                     \
    "smlatt %[b2], %[s2], %[s0], %[b2]\n\t"                                                                     \
    "smlabb %[b1], %[s3], %[s1], %[b1]\n\t"                                                                     \
    "smlatt %[b3], %[s3], %[s1], %[b3]\n\t"
#define DWG_ASM_PAIR(STEP)                                                                                      \
    DWG_ASM_PAIR_TAP("0", STEP) DWG_ASM_PAIR_TAP("1", STEP) DWG_ASM_PAIR_TAP("2", STEP)                         \
    DWG_ASM_PAIR_TAP("3", STEP) DWG_ASM_PAIR_TAP("4", STEP) DWG_ASM_PAIR_TAP("5", STEP)                         \
    DWG_ASM_PAIR_TAP("6", STEP) DWG_ASM_PAIR_TAP("7", STEP) DWG_ASM_PAIR_TAP("8", STEP)
#define DWG_ASM_ONE_TAP(T)                                                                                      \
    "ldr    %[s2], [%[x], #" DWG_OFFSET(T) "]\n\t"                                                              \
    "ldr    %[s0], [%[w], #8*" T "]\n\t"                                                                        \
    "ldr    %[s1], [%[w], #8*" T "+4]\n\t"                                                                      \
    "sxtb16 %[s3], %[s2]\n\t"                                                                                   \
    "sxtb16 %[s2], %[s2], ror #8\n\t"                                                                           \
    "smlabb %[a0], %[s3], %[s0], %[a0]\n\t"                                                                     \
    "smlatt %[a2], %[s3], %[s0], %[a2]\n\t"                                                                     \
    "smlabb %[a1], %[s2], %[s1], %[a1]\n\t"                                                                     \
    "smlatt %[a3], %[s2], %[s1], %[a3]\n\t"

/* a fast block's output (requant_smmlar), clamped as `mode` says */
static inline __attribute__((always_inline)) int32_t dwg_requant(int32_t acc, int32_t m, int32_t k, int32_t shift,
                                                                 int32_t lo, int32_t hi, int32_t mode)
{
    return finish(requant_smmlar(acc, m, k, shift), lo, hi, mode);
}

/* lane j's constants read once for both pixels' outputs */
#define DWG_PUT_PAIR(j, acc0, acc1)                                                                             \
    do {                                                                                                        \
        const int32_t m_ = gr->rq[j][0], k_ = gr->rq[j][1], s_ = gr->rq[j][2];                                  \
        out[j] = (int8_t)dwg_requant(acc0, m_, k_, s_, lo, hi, mode);                                           \
        out[out_step + j] = (int8_t)dwg_requant(acc1, m_, k_, s_, lo, hi, mode);                                \
    } while (0)

/* n output pixels of one group of a fast block, 3 * stride strip words apart; channel lane j of pixel
 * i goes to out[i * out_step + j], clamped as `mode` (a constant) says. Strides 1 and 2 take two
 * pixels a round (stride a constant in the assembly):
 * 18 strip loads, 18 weight loads, 36 SXTB16, 72 SMLAxy for 72 multiply-accumulates, then 8 outputs at
 * ~7 instructions each; other strides and a last odd pixel one at a time. */
static inline __attribute__((always_inline)) void dwg_run_fast(const ariel_conv_params *p, const dwg_table *t,
                                                               int32_t group, const uint32_t *strip, int32_t stride,
                                                               int32_t n, int8_t *out, int32_t out_step, int32_t mode)
{
    const dwg_group *gr = &t->group[group];
    const uint32_t *w = gr->weights[0];
    const int32_t *start = gr->start;
    const int32_t lo = p->act_min, hi = p->act_max, step = 3 * stride;
    int32_t i = 0;
#if defined(__OPTIMIZE__) /* the pair's 14 registers: without optimisation r7 is the frame pointer (13 left) */
    if (stride == 1 || stride == 2) {
        for (; i + 1 < n; i += 2, strip += 2 * step, out += 2 * out_step) {
            int32_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3];
            int32_t b0 = a0, b1 = a1, b2 = a2, b3 = a3;
            uint32_t s0, s1, s2, s3;
            if (stride == 1) {
                __asm__(DWG_ASM_PAIR("12")
                        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1),
                          [b2] "+r"(b2), [b3] "+r"(b3), [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2),
                          [s3] "=&r"(s3)
                        : [x] "r"(strip), [w] "r"(w)
                        : "memory"); /* reads the strip and the group's weights */
            } else {
                __asm__(DWG_ASM_PAIR("24")
                        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [b0] "+r"(b0), [b1] "+r"(b1),
                          [b2] "+r"(b2), [b3] "+r"(b3), [s0] "=&r"(s0), [s1] "=&r"(s1), [s2] "=&r"(s2),
                          [s3] "=&r"(s3)
                        : [x] "r"(strip), [w] "r"(w)
                        : "memory"); /* reads the strip and the group's weights */
            }
            DWG_PUT_PAIR(0, a0, b0);
            DWG_PUT_PAIR(1, a1, b1);
            DWG_PUT_PAIR(2, a2, b2);
            DWG_PUT_PAIR(3, a3, b3);
        }
    }
#endif
    for (; i < n; i++, strip += step, out += out_step) {
        int32_t a0 = start[0], a1 = start[1], a2 = start[2], a3 = start[3];
        uint32_t s0, s1, s2, s3;
        __asm__(DWG_ASM_ONE_TAP("0") DWG_ASM_ONE_TAP("1") DWG_ASM_ONE_TAP("2") DWG_ASM_ONE_TAP("3")
                DWG_ASM_ONE_TAP("4") DWG_ASM_ONE_TAP("5") DWG_ASM_ONE_TAP("6") DWG_ASM_ONE_TAP("7")
                DWG_ASM_ONE_TAP("8")
                : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [s0] "=&r"(s0), [s1] "=&r"(s1),
                  [s2] "=&r"(s2), [s3] "=&r"(s3)
                : [x] "r"(strip), [w] "r"(w)
                : "memory");
        out[0] = (int8_t)dwg_requant(a0, gr->rq[0][0], gr->rq[0][1], gr->rq[0][2], lo, hi, mode);
        out[1] = (int8_t)dwg_requant(a1, gr->rq[1][0], gr->rq[1][1], gr->rq[1][2], lo, hi, mode);
        out[2] = (int8_t)dwg_requant(a2, gr->rq[2][0], gr->rq[2][1], gr->rq[2][2], lo, hi, mode);
        out[3] = (int8_t)dwg_requant(a3, gr->rq[3][0], gr->rq[3][1], gr->rq[3][2], lo, hi, mode);
    }
}

/* the same for a slow block: one pixel at a time, requant_entry per output */
static NOINLINE void dwg_run_slow(const ariel_conv_params *p, const dwg_table *t, int32_t group, const uint32_t *strip,
                                  int32_t stride, int32_t n, int8_t *out, int32_t out_step)
{
    const uint32_t(*w)[2] = t->group[group].weights;
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t i, tap, j;
    for (i = 0; i < n; i++, strip += 3 * stride, out += out_step) {
        int32_t a[4] = {0, 0, 0, 0};
        for (tap = 0; tap < 9; tap++) {
            DWG_TAP(DWG_WORD(strip, tap), w[tap][0], w[tap][1], a[0], a[1], a[2], a[3]);
        }
        for (j = 0; j < 4; j++) { /* lanes past the block's channels are computed, not stored by the caller */
            int32_t v = requant_entry(p, &t->slow[4 * group + j], a[j]) + zp;
            v = v < lo ? lo : v;
            out[j] = (int8_t)(v > hi ? hi : v);
        }
    }
}

/* `groups` whole groups from `group` over n pixels (group k's strip at strip + k * group_words, its
 * outputs 4 k bytes further); the clamp form and the block's kind chosen once for all of them */
static NOINLINE void dwg_run(const ariel_conv_params *p, const dwg_table *t, int32_t group, int32_t groups,
                             const uint32_t *strip, int32_t group_words, int32_t stride, int32_t n, int8_t *out,
                             int32_t out_step)
{
    const int32_t last = group + groups;
    if (!t->fast) {
        for (; group < last; group++, strip += group_words, out += 4) {
            dwg_run_slow(p, t, group, strip, stride, n, out, out_step);
        }
    } else if (t->mode == RQ_SSAT) { /* SSAT alone, ReLU's lower bound, or both bounds */
        for (; group < last; group++, strip += group_words, out += 4) {
            dwg_run_fast(p, t, group, strip, stride, n, out, out_step, RQ_SSAT);
        }
    } else if (t->mode == RQ_MAX_SSAT) {
        for (; group < last; group++, strip += group_words, out += 4) {
            dwg_run_fast(p, t, group, strip, stride, n, out, out_step, RQ_MAX_SSAT);
        }
    } else {
        for (; group < last; group++, strip += group_words, out += 4) {
            dwg_run_fast(p, t, group, strip, stride, n, out, out_step, RQ_CLAMP);
        }
    }
}

/* dwg_run for one group of fewer than four channels (the block's last): through a small buffer, so
 * that no byte beyond its `lanes` channels is written */
static NOINLINE void dwg_run_narrow(const ariel_conv_params *p, const dwg_table *t, int32_t group, int32_t lanes,
                                    const uint32_t *strip, int32_t stride, int32_t n, int8_t *out, int32_t out_step)
{
    int8_t narrow[4 * DWG_STRIP_COLUMNS];
    int32_t i, j;
    dwg_run(p, t, group, 1, strip, 0, stride, n, narrow, 4);
    for (i = 0; i < n; i++) {
        for (j = 0; j < lanes; j++) {
            out[i * out_step + j] = narrow[4 * i + j];
        }
    }
}

/* the strips of `groups` groups from channel c: columns [ix_first, ix_first + columns) of the three
 * filter rows (rows[ky] 0 when that row is padding), group k's column x, row ky at
 * strip[k * 3 * columns + 3 * x + ky]; padding reads zp_word. Whole words are read while c + 4 <=
 * in_c (lanes past the block's channels read other channels, times zero weights); the tensor's last
 * group of fewer than four channels byte by byte (nothing read past the pixel) */
static NOINLINE void dwg_gather(const int8_t *const *rows, int32_t in_c, int32_t in_w, int32_t c, int32_t groups,
                                int32_t ix_first, int32_t columns, uint32_t zp_word, uint32_t *strip)
{
    const int32_t inside_lo = ix_first < 0 ? -ix_first : 0;
    const int32_t inside_hi = in_w - ix_first < columns ? in_w - ix_first : columns;
    int32_t k, ky, col;
    for (k = 0; k < groups; k++, c += 4, strip += 3 * columns) {
        if (c + 4 <= in_c) { /* a column's 3 words at a time; a padded row reads zp_word in place */
            const int32_t at = (ix_first + inside_lo) * in_c + c;
            const int8_t *r0 = rows[0] != 0 ? rows[0] + at : (const int8_t *)&zp_word;
            const int8_t *r1 = rows[1] != 0 ? rows[1] + at : (const int8_t *)&zp_word;
            const int8_t *r2 = rows[2] != 0 ? rows[2] + at : (const int8_t *)&zp_word;
            const int32_t step0 = rows[0] != 0 ? in_c : 0, step1 = rows[1] != 0 ? in_c : 0;
            const int32_t step2 = rows[2] != 0 ? in_c : 0;
            uint32_t *to = strip;
            for (col = 0; col < inside_lo; col++, to += 3) {
                to[0] = zp_word, to[1] = zp_word, to[2] = zp_word;
            }
            for (; col < inside_hi; col++, to += 3, r0 += step0, r1 += step1, r2 += step2) {
                const uint32_t w0 = load_word(r0), w1 = load_word(r1), w2 = load_word(r2);
                to[0] = w0, to[1] = w1, to[2] = w2;
            }
            for (; col < columns; col++, to += 3) {
                to[0] = zp_word, to[1] = zp_word, to[2] = zp_word;
            }
            continue;
        }
        for (ky = 0; ky < 3; ky++) { /* the tensor's last channels, byte by byte */
            uint32_t *to = strip + ky;
            if (rows[ky] == 0) {
                for (col = 0; col < columns; col++, to += 3) {
                    *to = zp_word;
                }
                continue;
            }
            for (col = 0; col < inside_lo; col++, to += 3) {
                *to = zp_word;
            }
            for (; col < inside_hi; col++, to += 3) {
                const int8_t *x = rows[ky] + (ix_first + col) * in_c + c;
                uint32_t word = 0;
                int32_t lane;
                for (lane = 0; c + lane < in_c; lane++) {
                    word |= (uint32_t)(uint8_t)x[lane] << (8 * lane);
                }
                *to = word;
            }
            for (; col < columns; col++, to += 3) {
                *to = zp_word;
            }
        }
    }
}

static NOINLINE void depthwise_3x3_words(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                                 int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t sw = g->stride_w, chunk = (DWG_STRIP_COLUMNS - 3) / sw + 1;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const uint32_t zp_word = (uint32_t)(uint8_t)p->input_zero_point * 0x01010101u;
    dwg_table table;
    uint32_t strip[DWG_STRIP_COLUMNS * 3];
    int32_t first, item;
    /* work items channel block by channel block (any order gives the same bytes): the table is built
     * once per block and call */
    for (first = begin; first < end && first < begin + blocks; first++) {
        const int32_t c_begin = (first % blocks) * g->channel_block;
        const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
        const int32_t groups = (c_end - c_begin + 3) >> 2;
        dwg_prepare(p, c_begin, c_end - c_begin, &table);
        for (item = first; item < end; item += blocks) {
            const int32_t row = item / blocks;
            const int32_t batch = row / g->out_h;
            const int32_t iy0 = (row - batch * g->out_h) * g->stride_h - g->pad_top;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            int8_t *out_row = output + row * g->out_w * g->out_c;
            const int8_t *rows[3];
            int32_t ky, ox;
            for (ky = 0; ky < 3; ky++) {
                rows[ky] = iy0 + ky >= 0 && iy0 + ky < g->in_h ? image + (iy0 + ky) * g->in_w * g->in_c : 0;
            }
            for (ox = 0; ox < g->out_w; ox += chunk) {
                const int32_t n = g->out_w - ox < chunk ? g->out_w - ox : chunk;
                const int32_t columns = (n - 1) * sw + 3;
                /* as many groups a pass as the strip holds (all of a narrow row's: one call for them) */
                const int32_t per_pass = DWG_STRIP_COLUMNS / columns;
                int32_t group;
                for (group = 0; group < groups; group += per_pass) {
                    const int32_t count = groups - group < per_pass ? groups - group : per_pass;
                    const int32_t c = c_begin + 4 * group;
                    const int32_t lanes_last = c_end - (c + 4 * (count - 1));
                    int8_t *out = out_row + ox * g->out_c + c;
                    dwg_gather(rows, g->in_c, g->in_w, c, count, ox * sw - g->pad_left, columns, zp_word, strip);
                    if (lanes_last >= 4) {
                        dwg_run(p, &table, group, count, strip, 3 * columns, sw, n, out, g->out_c);
                    } else {
                        dwg_run(p, &table, group, count - 1, strip, 3 * columns, sw, n, out, g->out_c);
                        dwg_run_narrow(p, &table, group + count - 1, lanes_last, strip + (count - 1) * 3 * columns,
                                       sw, n, out + 4 * (count - 1), g->out_c);
                    }
                }
            }
        }
    }
}

/* ---- 3x3 depthwise, depth multiplier 1, no dilation: one channel at a time, two taps per SMLAD ------
 * A depthwise sum never mixes channels, so SMLAD's two products must be two taps of one channel. The
 * input rows under the filter are therefore widened into int16 columns, channel by channel, four
 * channels at a time from their input words: PKHBT / PKHTB put the same half of two neighbouring
 * pixels' words side by side, and SXTB16 (plain and rotated) gives each channel's pair (x, x + 1).
 * Padded columns and rows are the input zero point (the input offset is in the bias), so edges cost
 * what inner pixels cost. A widened row stays in a small ring (per group of four channels and strip of
 * up to 32 output columns) while the following output rows of the call need it, so at stride 1 each
 * input row is widened once, not three times: input row iy lives in slot iy mod 3 and, for slots 0
 * and 1, also in slot + 3 (DW3_SLOTS = 5), so the three rows of any window are consecutive slots at
 * fixed offsets.
 *
 * A channel then sweeps its rows four output pixels a step. A filter row (w0, w1, w2) is held as two
 * int16 pairs, W01 = (w0, w1) and W12 = (w1, w2); with the strip's words P0 = (x0, x1), P1 = (x2, x3),
 * P2 = (x4, x5) at stride 1 the row adds
 *     pixel 0: SMLAD(P0, W01) + SMLABT(P1, W12)    pixel 1: SMLATB(P0, W01) + SMLAD(P1, W12)
 *     pixel 2: SMLAD(P1, W01) + SMLABT(P2, W12)    pixel 3: SMLATB(P1, W01) + SMLAD(P2, W12)
 * (12 multiplies in 8 instructions, 5 loads), and at stride 2, Q0..Q4 the words of columns 0..9,
 * pixel k adds SMLAD(Qk, W01) + SMLABT(Qk+1, W12). A step is 24 multiply instructions and 15 loads
 * for 36 MACs (the first products add to the channel's start: no moves), then the four outputs share
 * their channel's requantisation constants (3 loads, 4-5 instructions an output, a ReLU clamp at the
 * output zero point free): 68 cycles per 36 MACs on the M33. Loads follow multiplies (the M7 pairs a
 * MAC with a following load) and are read two or more instructions later (the M33's load-use stall).
 * The sweep is inline assembly with 14 registers, compiled when optimising (__OPTIMIZE__: at -O0 r7
 * is the frame pointer); the pixels left over (out_w not a multiple of 4), strides over 2, slow
 * blocks and -O0 take dw3_pixel (C).
 *
 * Requantisation is fused into the sweep. For the common case (every channel of the block with a
 * right shift r in 1..22, no left shift, |bias| <= 2^29: "fast" blocks) the weights are doubled in the
 * table and the accumulators start at 2 * bias, so they hold X = 2x with x = bias + window sum; then
 *     SMMLAR(X, m, K - n) >> r,   n = [x < 0],  K = 2^(r - 1) + zp 2^r
 * is the requantised value plus the output zero point zp (arm_dsp_requant.h, requant_smmlar, has the
 * proof). Bounds: |window sum| <= 9 * 128 * 128 < 2^18 (inputs are raw bytes), so |x| < 2^30 and X
 * fits int32 (SMLAD does not saturate, and nothing overflows here); doubled weights fit the int16
 * lanes. Other blocks ("slow": rare scales) keep the plain weights and requantise through
 * requant_entry.
 *
 * Stack: the ring of four channels, 5 x DW3_COLS int16 each (1,360 B), and a channel block's table
 * (16 x 48 B + 16 slow entries x 16 B = 1,032 B). */
#define DW3_COLS 34                    /* int16 columns of a strip row: 32 pixels at stride 1, 16 at stride 2 */
#define DW3_ROW_WORDS (DW3_COLS / 2)   /* words of one strip row (68 bytes: the assembly's row offsets) */
#define DW3_SLOTS 5                    /* rows of a channel's ring (strip) */
#define DW3_CH_WORDS (DW3_SLOTS * DW3_ROW_WORDS) /* words of one channel's ring */
#define DW3_COPY_WORDS 51              /* 3 * DW3_ROW_WORDS: where slots 0 and 1 are copied (a literal: asm text) */
#define DW3_FAST_MAX_RIGHT 22

/* one channel's weights and constants, reached by immediate offsets from one register */
typedef struct {
    uint32_t w[6];   /* filter row ky: w[2 ky] = (w0, w1), w[2 ky + 1] = (w1, w2), int16 lanes (doubled: fast) */
    int32_t start;   /* accumulator start: 2 * bias (fast blocks), 0 (slow) */
    int32_t m, k, r; /* fast blocks: multiplier, K, right shift */
    int32_t lo, hi;  /* activation bounds */
} dw3_ch;

typedef struct {
    dw3_ch ch[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    rq_entry slow[ARIEL_CONV_MAX_CHANNEL_BLOCK]; /* slow blocks: prepare_rq's entries */
    int32_t fast, mode;
} dw3_table;

static inline uint32_t dw3_pair(int32_t lo, int32_t hi)
{
    return (uint16_t)lo | (uint32_t)hi << 16;
}

/* the weight pairs and (fast blocks) constants of channels [c, c + n) */
static void dw3_prepare(const ariel_conv_params *p, int32_t c, int32_t n, dw3_table *t)
{
    const uint32_t zp = (uint32_t)p->output_zero_point;
    int32_t k, ky, fast = 1, scale;
    for (k = 0; k < n; k++) {
        const int32_t *rq = p->rq + (c + k) * ARIEL_RQ_WORDS;
        const int32_t bias = p->bias[c + k];
        fast = fast && rq[1] == 0 && rq[2] >= 1 && rq[2] <= DW3_FAST_MAX_RIGHT && bias <= (1 << 29) &&
               bias >= -(1 << 29);
    }
    t->fast = fast;
    t->mode = fast ? clamp_mode(p) : prepare_rq(p, c, n, t->slow);
    scale = 1 + fast; /* weights times 2 in fast blocks */
    for (k = 0; k < n; k++) {
        const int8_t *w = p->packed_weights + (c + k) * 9;
        dw3_ch *ch = &t->ch[k];
        for (ky = 0; ky < 3; ky++) {
            ch->w[2 * ky] = dw3_pair(w[3 * ky] * scale, w[3 * ky + 1] * scale);
            ch->w[2 * ky + 1] = dw3_pair(w[3 * ky + 1] * scale, w[3 * ky + 2] * scale);
        }
        ch->start = 0, ch->m = 0, ch->k = 0, ch->r = 0;
        ch->lo = p->act_min, ch->hi = p->act_max;
        if (fast) {
            const int32_t r = p->rq[(c + k) * ARIEL_RQ_WORDS + 2];
            ch->start = 2 * p->bias[c + k];
            ch->m = p->rq[(c + k) * ARIEL_RQ_WORDS];
            ch->k = (int32_t)((1u << (r - 1)) + zp * (1u << r));
            ch->r = r;
        }
    }
}

/* the columns x, x + 1 of four channels (input words a, b) as four channel pairs, at to and (copy)
 * to + copy */
static inline __attribute__((always_inline)) void dw3_widen_pair(uint32_t a, uint32_t b, uint32_t *to, int32_t copy)
{
    uint32_t low, high; /* (a & 0xFFFF) | b << 16, a >> 16 | (b & 0xFFFF0000): GCC takes three instructions each */
    __asm__("pkhbt  %0, %1, %2, lsl #16" : "=r"(low) : "r"(a), "r"(b));
    __asm__("pkhtb  %0, %2, %1, asr #16" : "=r"(high) : "r"(a), "r"(b));
    const uint32_t c0 = __sxtb16(low), c1 = widen_odd(low), c2 = __sxtb16(high), c3 = widen_odd(high);
    to[0] = c0, to[DW3_CH_WORDS] = c1, to[2 * DW3_CH_WORDS] = c2, to[3 * DW3_CH_WORDS] = c3;
    to[copy] = c0, to[copy + DW3_CH_WORDS] = c1, to[copy + 2 * DW3_CH_WORDS] = c2, to[copy + 3 * DW3_CH_WORDS] = c3;
}

/* dw3_widen_pair over the column pairs from x (both columns inside the row, whole words) into
 * to .. to_end (to_end > to): PKHBT / PKHTB pair the words' halves (GCC builds them from three
 * instructions each), loads read two instructions later. 2 loads, 2 packs, 4 SXTB16, 4 or 8 stores
 * per pair. */
#define DW3_WIDEN_LOOP(COPIES)                                                                                  \
    "1:\n\t"                                                                                                    \
    "ldr    %[a], [%[x]]\n\t"                                                                                   \
    "ldr    %[b], [%[x], %[c]]\n\t"                                                                             \
    "add    %[x], %[x], %[c], lsl #1\n\t"                                                                       \
    "add    %[to], %[to], #4\n\t"                                                                               \
    "pkhbt  %[lo], %[a], %[b], lsl #16\n\t"                                                                     \
    "pkhtb  %[hi], %[b], %[a], asr #16\n\t"                                                                     \
    "sxtb16 %[a], %[lo]\n\t"                                                                                    \
    "sxtb16 %[b], %[lo], ror #8\n\t"                                                                            \
    "sxtb16 %[lo], %[hi]\n\t"                                                                                   \
    "sxtb16 %[hi], %[hi], ror #8\n\t"                                                                           \
    "str    %[a], [%[to], #-4]\n\t"                                                                             \
    "str    %[b], [%[to], #4*" DW3_STR(DW3_CH_WORDS) "-4]\n\t"                                                  \
    "str    %[lo], [%[to], #8*" DW3_STR(DW3_CH_WORDS) "-4]\n\t"                                                 \
    "str    %[hi], [%[to], #12*" DW3_STR(DW3_CH_WORDS) "-4]\n\t"                                                \
    COPIES                                                                                                      \
    "cmp    %[to], %[e]\n\t"                                                                                    \
    "bne    1b\n\t"
#define DW3_STR_(v) #v
#define DW3_STR(v) DW3_STR_(v)
#define DW3_COPY_OFFSET "4*" DW3_STR(DW3_COPY_WORDS)
#define DW3_WIDEN_COPIES                                                                                        \
    "str    %[a], [%[to], #" DW3_COPY_OFFSET "-4]\n\t"                                                          \
    "str    %[b], [%[to], #4*" DW3_STR(DW3_CH_WORDS) "+" DW3_COPY_OFFSET "-4]\n\t"                              \
    "str    %[lo], [%[to], #8*" DW3_STR(DW3_CH_WORDS) "+" DW3_COPY_OFFSET "-4]\n\t"                             \
    "str    %[hi], [%[to], #12*" DW3_STR(DW3_CH_WORDS) "+" DW3_COPY_OFFSET "-4]\n\t"
static inline __attribute__((always_inline)) void dw3_widen_run(const int8_t *x, int32_t in_c, uint32_t *to,
                                                                uint32_t *to_end, int32_t copy)
{
    uint32_t a, b, lo, hi;
    if (copy != 0) {
        __asm__ volatile(DW3_WIDEN_LOOP(DW3_WIDEN_COPIES)
                         : [x] "+r"(x), [to] "+r"(to), [a] "=&r"(a), [b] "=&r"(b), [lo] "=&r"(lo), [hi] "=&r"(hi)
                         : [c] "r"(in_c), [e] "r"(to_end)
                         : "cc", "memory");
    } else {
        __asm__ volatile(DW3_WIDEN_LOOP("")
                         : [x] "+r"(x), [to] "+r"(to), [a] "=&r"(a), [b] "=&r"(b), [lo] "=&r"(lo), [hi] "=&r"(hi)
                         : [c] "r"(in_c), [e] "r"(to_end)
                         : "cc", "memory");
    }
}

/* the input word of channels c.. at column ix of a row (0: a padded row), or the zero points */
static inline uint32_t dw3_word(const int8_t *row, int32_t ix, int32_t in_w, int32_t in_c, int32_t c, int32_t lanes,
                                uint32_t zp_word)
{
    uint32_t word = 0;
    int32_t lane;
    if (row == 0 || ix < 0 || ix >= in_w) {
        return zp_word;
    }
    if (lanes == 4) {
        return load_word(row + ix * in_c + c);
    }
    for (lane = 0; lane < lanes; lane++) { /* the tensor's last channels: nothing read past the pixel */
        word |= (uint32_t)(uint8_t)row[ix * in_c + c + lane] << (8 * lane);
    }
    return word;
}

/* what the rows of one strip share: the tensor's channels [c, c + 4) (lanes of them inside the tensor, whole
 * words when all 4 are), columns [ix_first, ix_first + 2 pairs), the column pairs [inside_lo, inside_hi)
 * with both columns inside the row; set once per strip so that a row's widening is a four-argument call */
typedef struct {
    int32_t in_c, in_w, c, lanes, ix_first, pairs, inside_lo, inside_hi;
    uint32_t zp_word;
} dw3_rows;

static void dw3_rows_set(dw3_rows *s, int32_t in_c, int32_t in_w, int32_t c, int32_t lanes, int32_t ix_first,
                         int32_t columns, uint32_t zp_word)
{
    const int32_t pairs = columns >> 1;
    int32_t inside_lo = ix_first < 0 ? (1 - ix_first) >> 1 : 0, inside_hi = (in_w - ix_first) >> 1;
    inside_hi = inside_hi < pairs ? inside_hi : pairs;
    inside_lo = inside_lo < inside_hi ? inside_lo : inside_hi;
    s->in_c = in_c, s->in_w = in_w, s->c = c, s->lanes = lanes, s->ix_first = ix_first, s->pairs = pairs;
    s->inside_lo = inside_lo, s->inside_hi = inside_hi, s->zp_word = zp_word;
}

/* one input row (0: padding) of the strip's channels and columns, widened into its ring slot `to` (and,
 * copy != 0, the slot `copy` words further) */
static NOINLINE void dw3_widen(const dw3_rows *s, const int8_t *row, uint32_t *to, int32_t copy)
{
    const int32_t pairs = s->pairs, ix_first = s->ix_first, in_c = s->in_c, in_w = s->in_w;
    const uint32_t zp_word = s->zp_word;
    int32_t j;
    if (row == 0) { /* a padded row: every pair is the zero point's */
        const uint32_t zp_pair = __sxtb16(zp_word);
        uint32_t *c0 = to, *c1 = to + DW3_CH_WORDS, *c2 = to + 2 * DW3_CH_WORDS, *c3 = to + 3 * DW3_CH_WORDS;
        for (j = 0; j < pairs; j++) {
            c0[j] = zp_pair, c1[j] = zp_pair, c2[j] = zp_pair, c3[j] = zp_pair;
            c0[j + copy] = zp_pair, c1[j + copy] = zp_pair, c2[j + copy] = zp_pair, c3[j + copy] = zp_pair;
        }
        return;
    }
    if (s->lanes < 4) { /* the tensor's last channels: column by column */
        for (j = 0; j < pairs; j++) {
            const int32_t ix = ix_first + 2 * j;
            dw3_widen_pair(dw3_word(row, ix, in_w, in_c, s->c, s->lanes, zp_word),
                           dw3_word(row, ix + 1, in_w, in_c, s->c, s->lanes, zp_word), to + j, copy);
        }
        return;
    }
    {
        const int8_t *x = row + ix_first * in_c + s->c; /* column ix_first (maybe outside: not read then) */
        const int32_t step = 2 * in_c, inside_lo = s->inside_lo, inside_hi = s->inside_hi;
        for (j = 0; j < inside_lo; j++, x += step) { /* pairs with a column left of the row */
            const uint32_t a = ix_first + 2 * j >= 0 ? load_word(x) : zp_word;
            const uint32_t b = ix_first + 2 * j + 1 >= 0 && ix_first + 2 * j + 1 < in_w ? load_word(x + in_c) : zp_word;
            dw3_widen_pair(a, b, to + j, copy);
        }
        if (j < inside_hi) {
            dw3_widen_run(x, in_c, to + j, to + inside_hi, copy);
            x += (inside_hi - j) * step, j = inside_hi;
        }
        for (; j < pairs; j++, x += step) { /* pairs with a column right of the row */
            const uint32_t a = ix_first + 2 * j >= 0 && ix_first + 2 * j < in_w ? load_word(x) : zp_word;
            const uint32_t b = ix_first + 2 * j + 1 >= 0 && ix_first + 2 * j + 1 < in_w ? load_word(x + in_c) : zp_word;
            dw3_widen_pair(a, b, to + j, copy);
        }
    }
}

/* the window sum (times the table's scale, plus start) of the pixel whose window starts at strip
 * column col of one channel's strip x */
static int32_t dw3_pixel(const uint32_t *x, const dw3_ch *ch, int32_t col)
{
    int32_t acc = ch->start, ky;
    for (ky = 0; ky < 3; ky++, x += DW3_ROW_WORDS) {
        const int32_t w01 = (int32_t)ch->w[2 * ky], w12 = (int32_t)ch->w[2 * ky + 1];
        if ((col & 1) == 0) { /* (x0, x1) . W01 + x2 w2 */
            acc = __smlad((int32_t)x[col >> 1], w01, acc);
            acc = __smlabt((int32_t)x[(col >> 1) + 1], w12, acc);
        } else { /* x0 w0 + (x1, x2) . W12 */
            acc = __smlatb((int32_t)x[col >> 1], w01, acc);
            acc = __smlad((int32_t)x[(col >> 1) + 1], w12, acc);
        }
    }
    return acc;
}

#if defined(__OPTIMIZE__) /* the sweep's 13 registers (without optimisation r7 is the frame pointer) */
/* stride 1, one filter row at byte offset R of the strip, loading the next row's (RN, weights at WN)
 * when NEXT: p0 = P0, p1 = P1, w0 = W01, w1 = W12 on entry. S0..S3: what the first product of each
 * accumulator adds to (row 0: the start, in a3, which is overwritten last) */
#define DW3_S1_ROW(R, NEXT, RN, WN, S0, S1, S2, S3)                                                             \
    "smlad  %[a0], %[p0], %[w0], %[" S0 "]\n\t"                                                                 \
    "ldr    %[q], [%[x], #" R "+8]\n\t"                                                                         \
    "smlatb %[a1], %[p0], %[w0], %[" S1 "]\n\t"                                                                 \
    NEXT("ldr    %[p0], [%[x], #" RN "]\n\t")                                                                   \
    "smlabt %[a0], %[p1], %[w1], %[a0]\n\t"                                                                     \
    "smlad  %[a1], %[p1], %[w1], %[a1]\n\t"                                                                     \
    "smlad  %[a2], %[p1], %[w0], %[" S2 "]\n\t"                                                                 \
    "smlatb %[a3], %[p1], %[w0], %[" S3 "]\n\t"                                                                 \
    NEXT("ldr    %[w0], [%[t], #" WN "]\n\t")                                                                   \
    "smlabt %[a2], %[q], %[w1], %[a2]\n\t"                                                                      \
    NEXT("ldr    %[p1], [%[x], #" RN "+4]\n\t")                                                                 \
    "smlad  %[a3], %[q], %[w1], %[a3]\n\t"                                                                      \
    NEXT("ldr    %[w1], [%[t], #" WN "+4]\n\t")
/* stride 2: p0 = Q0, p1 = Q1 on entry */
#define DW3_S2_ROW(R, NEXT, RN, WN, S0, S1, S2, S3)                                                             \
    "smlad  %[a0], %[p0], %[w0], %[" S0 "]\n\t"                                                                 \
    "ldr    %[q], [%[x], #" R "+8]\n\t"                                                                         \
    "smlabt %[a0], %[p1], %[w1], %[a0]\n\t"                                                                     \
    "ldr    %[p0], [%[x], #" R "+12]\n\t"                                                                       \
    "smlad  %[a1], %[p1], %[w0], %[" S1 "]\n\t"                                                                 \
    "smlabt %[a1], %[q], %[w1], %[a1]\n\t"                                                                      \
    "smlad  %[a2], %[q], %[w0], %[" S2 "]\n\t"                                                                  \
    "ldr    %[p1], [%[x], #" R "+16]\n\t"                                                                       \
    "smlabt %[a2], %[p0], %[w1], %[a2]\n\t"                                                                     \
    "smlad  %[a3], %[p0], %[w0], %[" S3 "]\n\t"                                                                 \
    NEXT("ldr    %[w0], [%[t], #" WN "]\n\t")                                                                   \
    "smlabt %[a3], %[p1], %[w1], %[a3]\n\t"                                                                     \
    NEXT("ldr    %[p0], [%[x], #" RN "]\n\t")                                                                   \
    NEXT("ldr    %[p1], [%[x], #" RN "+4]\n\t")                                                                 \
    NEXT("ldr    %[w1], [%[t], #" WN "+4]\n\t")
#define DW3_YES(s) s
#define DW3_NO(s)
/* the step's start: the channel's accumulator start (in a3), row 0's words and weights */
#define DW3_STEP_START                                                                                          \
    "1:\n\t"                                                                                                    \
    "ldr    %[p0], [%[x]]\n\t"                                                                                  \
    "ldr    %[w0], [%[t]]\n\t"                                                                                  \
    "ldr    %[a3], [%[t], #24]\n\t"                                                                             \
    "ldr    %[p1], [%[x], #4]\n\t"                                                                              \
    "ldr    %[w1], [%[t], #4]\n\t"
/* requant_smmlar of the four accumulators with the channel's m (w0), K (w1), r (p0) */
#define DW3_SMMLAR_N(A, T) /* K - [X < 0] */                                                                  \
    "add    %[" T "], %[w1], %[" A "], asr #31\n\t"                                                           \
    "smmlar %[" A "], %[" A "], %[w0], %[" T "]\n\t"
/* ReLU at the output zero point (act_min = zp, act_max 127): max(requant(x) + zp, zp) = requant(max(x, 0)) + zp
 * (requant is non-decreasing and 0 at 0), so USAT #31 clamps the accumulator and n is 0 */
#define DW3_SMMLAR_RELU(A, T)                                                                                   \
    "usat   %[" A "], #31, %[" A "]\n\t"                                                                       \
    "smmlar %[" A "], %[" A "], %[w0], %[w1]\n\t"
#define DW3_REQUANT(ONE)                                                                                        \
    "ldr    %[w1], [%[t], #32]\n\t"                                                                             \
    "ldr    %[w0], [%[t], #28]\n\t"                                                                             \
    "ldr    %[p0], [%[t], #36]\n\t"                                                                             \
    ONE("a0", "p1") ONE("a1", "q") ONE("a2", "p1") ONE("a3", "q")                                               \
    "asr    %[a0], %[a0], %[p0]\n\t"                                                                            \
    "asr    %[a1], %[a1], %[p0]\n\t"                                                                            \
    "asr    %[a2], %[a2], %[p0]\n\t"                                                                            \
    "asr    %[a3], %[a3], %[p0]\n\t"                                                                            \
    "ssat   %[a0], #8, %[a0]\n\t"                                                                               \
    "ssat   %[a1], #8, %[a1]\n\t"                                                                               \
    "ssat   %[a2], #8, %[a2]\n\t"                                                                               \
    "ssat   %[a3], #8, %[a3]\n\t"
/* both activation bounds (lo, hi from the table) after the SSAT */
#define DW3_CLAMP_ONE(A)                                                                                        \
    "cmp    %[" A "], %[w0]\n\t"                                                                                \
    "it     lt\n\t"                                                                                             \
    "movlt  %[" A "], %[w0]\n\t"                                                                                \
    "cmp    %[" A "], %[w1]\n\t"                                                                                \
    "it     gt\n\t"                                                                                             \
    "movgt  %[" A "], %[w1]\n\t"
#define DW3_CLAMP                                                                                               \
    "ldr    %[w0], [%[t], #40]\n\t"                                                                             \
    "ldr    %[w1], [%[t], #44]\n\t"                                                                             \
    DW3_CLAMP_ONE("a0") DW3_CLAMP_ONE("a1") DW3_CLAMP_ONE("a2") DW3_CLAMP_ONE("a3")
/* the four outputs, out_step (c) apart; the next step */
#define DW3_STORE(XSTEP)                                                                                        \
    "strb   %[a0], [%[o]]\n\t"                                                                                  \
    "strb   %[a1], [%[o], %[c]]\n\t"                                                                            \
    "strb   %[a2], [%[o], %[c], lsl #1]\n\t"                                                                    \
    "add    %[o], %[o], %[c], lsl #1\n\t"                                                                       \
    "strb   %[a3], [%[o], %[c]]\n\t"                                                                            \
    "add    %[o], %[o], %[c], lsl #1\n\t"                                                                       \
    "add    %[x], %[x], #" XSTEP "\n\t"                                                                         \
    "cmp    %[x], %[e]\n\t"                                                                                     \
    "bne    1b\n\t"
#define DW3_ROWS_S1                                                                                             \
    DW3_S1_ROW("0", DW3_YES, "68", "8", "a3", "a3", "a3", "a3")                                              \
    DW3_S1_ROW("68", DW3_YES, "136", "16", "a0", "a1", "a2", "a3")                                         \
    DW3_S1_ROW("136", DW3_NO, "", "", "a0", "a1", "a2", "a3")
#define DW3_ROWS_S2                                                                                             \
    DW3_S2_ROW("0", DW3_YES, "68", "8", "a3", "a3", "a3", "a3")                                              \
    DW3_S2_ROW("68", DW3_YES, "136", "16", "a0", "a1", "a2", "a3")                                         \
    DW3_S2_ROW("136", DW3_NO, "", "", "a0", "a1", "a2", "a3")
/* after a channel's last step (x = e): the next channel's strip (x += xd: 4 DW3_CH_WORDS bytes less the
 * steps' advance), end, outputs (o += od: one byte right of where the channel's began) and table entry;
 * on to its first step while t has not reached tl. The three per-call constants are on the stack (all
 * registers are taken): 3 loads, 6 instructions and the branch a channel */
#define DW3_NEXT_CHANNEL                                                                                        \
    "ldr    %[q], %[xd]\n\t"                                                                                    \
    "ldr    %[w0], %[od]\n\t"                                                                                   \
    "ldr    %[w1], %[tl]\n\t"                                                                                   \
    "add    %[e], %[e], #4*" DW3_STR(DW3_CH_WORDS) "\n\t"                                                       \
    "add    %[x], %[x], %[q]\n\t"                                                                               \
    "add    %[o], %[o], %[w0]\n\t"                                                                              \
    "add    %[t], %[t], #48\n\t"                                                                                \
    "cmp    %[t], %[w1]\n\t"                                                                                    \
    "bne    1b\n\t"
#define DW3_SWEEP_OPERANDS                                                                                      \
    : [x] "+r"(x), [o] "+r"(out), [t] "+r"(ch), [e] "+r"(end), [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2),  \
      [a3] "=&r"(a3), [p0] "=&r"(p0), [p1] "=&r"(p1), [q] "=&r"(q), [w0] "=&r"(w0), [w1] "=&r"(w1)               \
    : [c] "r"(out_step), [xd] "m"(xd), [od] "m"(od), [tl] "m"(tl)                                                \
    : "cc", "memory"
typedef char dw3_ch_is_48_bytes[sizeof(dw3_ch) == 48 ? 1 : -1]; /* DW3_NEXT_CHANNEL's table step */

enum { DW3_SSAT, DW3_RELU, DW3_CLAMP_BOTH }; /* a fast block's clamp: SSAT alone, ReLU at zp, [lo, hi] */

/* `steps` steps of four pixels of `lanes` channels (strips from x, DW3_CH_WORDS apart; table entries from
 * ch; outputs from out, one byte apart) of a fast block, the channel loop in the assembly too (in C it
 * spilled and reloaded the loop's registers around every channel); `stride` (1 or 2) and `clamp`
 * constants */
static inline __attribute__((always_inline)) void dw3_sweeps(const dw3_ch *ch, const uint32_t *x, int8_t *out,
                                                             int32_t out_step, int32_t lanes, int32_t steps,
                                                             int32_t stride, int32_t clamp)
{
    const uint32_t *end = x + steps * 2 * stride;
    const int32_t xd = 4 * DW3_CH_WORDS - steps * 8 * stride, od = 1 - steps * 4 * out_step;
    const dw3_ch *const tl = ch + lanes;
    uint32_t a0, a1, a2, a3, p0, p1, q, w0, w1;
    if (stride == 1 && clamp == DW3_SSAT) {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S1 DW3_REQUANT(DW3_SMMLAR_N) DW3_STORE("8") DW3_NEXT_CHANNEL
                         DW3_SWEEP_OPERANDS);
    } else if (stride == 1 && clamp == DW3_RELU) {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S1 DW3_REQUANT(DW3_SMMLAR_RELU) DW3_STORE("8") DW3_NEXT_CHANNEL
                         DW3_SWEEP_OPERANDS);
    } else if (stride == 1) {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S1 DW3_REQUANT(DW3_SMMLAR_N) DW3_CLAMP DW3_STORE("8")
                         DW3_NEXT_CHANNEL DW3_SWEEP_OPERANDS);
    } else if (clamp == DW3_SSAT) {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S2 DW3_REQUANT(DW3_SMMLAR_N) DW3_STORE("16") DW3_NEXT_CHANNEL
                         DW3_SWEEP_OPERANDS);
    } else if (clamp == DW3_RELU) {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S2 DW3_REQUANT(DW3_SMMLAR_RELU) DW3_STORE("16") DW3_NEXT_CHANNEL
                         DW3_SWEEP_OPERANDS);
    } else {
        __asm__ volatile(DW3_STEP_START DW3_ROWS_S2 DW3_REQUANT(DW3_SMMLAR_N) DW3_CLAMP DW3_STORE("16")
                         DW3_NEXT_CHANNEL DW3_SWEEP_OPERANDS);
    }
}
#endif

#if defined(__OPTIMIZE__)
/* `steps` steps of `lanes` channels, the sweep's variant chosen here once (one copy of each of the six
 * loops: the RP2350 runs them through its 16 KB XIP cache) */
static NOINLINE void dw3_steps(const dw3_ch *ch, const uint32_t *x, int8_t *out, int32_t out_step, int32_t lanes,
                               int32_t steps, int32_t stride, int32_t clamp)
{
    if (stride == 1) {
        if (clamp == DW3_SSAT) {
            dw3_sweeps(ch, x, out, out_step, lanes, steps, 1, DW3_SSAT);
        } else if (clamp == DW3_RELU) {
            dw3_sweeps(ch, x, out, out_step, lanes, steps, 1, DW3_RELU);
        } else {
            dw3_sweeps(ch, x, out, out_step, lanes, steps, 1, DW3_CLAMP_BOTH);
        }
    } else if (clamp == DW3_SSAT) {
        dw3_sweeps(ch, x, out, out_step, lanes, steps, 2, DW3_SSAT);
    } else if (clamp == DW3_RELU) {
        dw3_sweeps(ch, x, out, out_step, lanes, steps, 2, DW3_RELU);
    } else {
        dw3_sweeps(ch, x, out, out_step, lanes, steps, 2, DW3_CLAMP_BOTH);
    }
}
#endif

/* n output pixels of `lanes` channels (table entries k0..) from their strips; outputs of channel k
 * of pixel i at out[i * out_step + k] */
static inline __attribute__((always_inline)) void dw3_channels(const ariel_conv_params *p, const dw3_table *t, int32_t k0, int32_t lanes,
                                  const uint32_t *strip, int32_t stride, int32_t n, int8_t *out, int32_t out_step)
{
    const int32_t zp = p->output_zero_point, lo = p->act_min, hi = p->act_max;
    int32_t k, i = 0;
    if (t->fast) {
#if defined(__OPTIMIZE__)
        const int32_t steps = stride <= 2 ? n >> 2 : 0;
        const int32_t clamp = lo == -128 && hi == 127 ? DW3_SSAT : lo == zp && hi == 127 ? DW3_RELU : DW3_CLAMP_BOTH;
        const dw3_ch *ch = &t->ch[k0];
        if (steps > 0) {
            dw3_steps(ch, strip, out, out_step, lanes, steps, stride, clamp);
            i = 4 * steps;
        }
        if (stride <= 2 && i < n && n >= 4 && (stride == 2 || (n & 1) == 0)) {
            /* the last 1-3 pixels: a step over the last 4 pixels, rewriting 1-3 outputs with the same bytes (its
             * first column pair word-aligned: any n at stride 2, even n at stride 1) */
            dw3_steps(ch, strip + (n - 4) * stride / 2, out + (n - 4) * out_step, out_step, lanes, 1, stride, clamp);
            i = n;
        } else if (stride <= 2 && i < n) {
            /* the last 1-3 pixels of rows under 4 pixels or odd ones: one more step into `rest` (the strip has
             * its columns) */
            int8_t rest[16];
            dw3_steps(ch, strip + steps * 2 * stride, rest, 4, lanes, 1, stride, clamp);
            for (; i < n; i++) {
                for (k = 0; k < lanes; k++) {
                    out[i * out_step + k] = rest[(i & 3) * 4 + k];
                }
            }
        }
#endif
        for (k = 0; k < lanes && i < n; k++) { /* the pixels left over (strides over 2, -O0) */
            const dw3_ch *ch = &t->ch[k0 + k];
            int32_t j;
            for (j = i; j < n; j++) {
                const int32_t v = requant_smmlar(dw3_pixel(strip + k * DW3_CH_WORDS, ch, j * stride), ch->m, ch->k,
                                                 ch->r);
                out[j * out_step + k] = (int8_t)finish(v, lo, hi, RQ_CLAMP);
            }
        }
        return;
    }
    for (k = 0; k < lanes; k++) {
        for (i = 0; i < n; i++) {
            int32_t v = requant_entry(p, &t->slow[k0 + k], dw3_pixel(strip + k * DW3_CH_WORDS, &t->ch[k0 + k],
                                                                     i * stride)) + zp;
            v = v < lo ? lo : v;
            out[i * out_step + k] = (int8_t)(v > hi ? hi : v);
        }
    }
}

/* The driver: per channel block, per group of four channels and strip of output columns, the rows
 * of the call's work items in order. A widened input row stays in the group's ring while the rows
 * after it need it (3x3 at stride 1: each input row is widened once, not three times): input row iy
 * lives in slot iy mod 3 and, for slots 0 and 1, also in slot + 3, so the three rows of any window
 * are three consecutive slots (fixed offsets for the sweep). */
static NOINLINE void depthwise_3x3_sweep(const ariel_conv_params *p, const int8_t *input, int8_t *output,
                                         int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t sw = g->stride_w;
    /* pixels a strip: its columns (below) fit DW3_COLS */
    const int32_t chunk = sw == 1 ? DW3_COLS - 2 : (DW3_COLS - 4) / sw + 1;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    const uint32_t zp_word = (uint32_t)(uint8_t)p->input_zero_point * 0x01010101u;
    dw3_table table;
    uint32_t ring[4 * DW3_CH_WORDS];
    int32_t first, item;
    /* work items channel block by channel block (any order gives the same bytes): the table is built
     * once per block and call */
    for (first = begin; first < end && first < begin + blocks; first++) {
        const int32_t c_begin = (first % blocks) * g->channel_block;
        const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
        int32_t c, ox;
        dw3_prepare(p, c_begin, c_end - c_begin, &table);
        for (c = c_begin; c < c_end; c += 4) {
            const int32_t lanes = c_end - c < 4 ? c_end - c : 4;
            const int32_t read_lanes = c + 4 <= g->in_c ? 4 : g->in_c - c;
            for (ox = 0; ox < g->out_w; ox += chunk) {
                const int32_t n = g->out_w - ox < chunk ? g->out_w - ox : chunk;
                /* columns read: the sweep's (strides 1, 2: whole steps of 4 pixels) up to 4 sw ceil(n / 4) + 1,
                 * dw3_pixel's (strides over 2) up to sw (n - 1) + 3, rounded up to whole words */
                const int32_t columns = sw <= 2 ? sw * ((n + 3) & ~3) + 2 : (sw * (n - 1) + 5) & ~1;
                const int32_t ix_first = ox * sw - g->pad_left;
                int32_t held_row[3] = {0, 0, 0}, held_batch[3] = {-1, -1, -1};
                dw3_rows rows;
                /* the items' rows follow one another: their position is tracked, not divided out */
                int32_t row = first / blocks, batch = row / g->out_h, oy = row - batch * g->out_h;
                int32_t iy0 = oy * g->stride_h - g->pad_top, slot0 = (iy0 % 3 + 3) % 3;
                const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
                int8_t *out = output + (row * g->out_w + ox) * g->out_c + c;
                dw3_rows_set(&rows, g->in_c, g->in_w, c, read_lanes, ix_first, columns, zp_word);
                for (item = first; item < end; item += blocks, row++) {
                    int32_t ky;
                    for (ky = 0; ky < 3; ky++) {
                        const int32_t iy = iy0 + ky, slot = slot0 + ky < 3 ? slot0 + ky : slot0 + ky - 3;
                        if (held_batch[slot] != batch || held_row[slot] != iy) {
                            const int8_t *from = iy >= 0 && iy < g->in_h ? image + iy * g->in_w * g->in_c : 0;
                            dw3_widen(&rows, from, ring + slot * DW3_ROW_WORDS, slot < 2 ? 3 * DW3_ROW_WORDS : 0);
                            held_batch[slot] = batch, held_row[slot] = iy;
                        }
                    }
                    dw3_channels(p, &table, c - c_begin, lanes, ring + slot0 * DW3_ROW_WORDS, sw, n, out, g->out_c);
                    out += g->out_w * g->out_c;
                    if (++oy == g->out_h) { /* the next image */
                        oy = 0, batch++, image += g->in_h * g->in_w * g->in_c;
                        iy0 = -g->pad_top, slot0 = (iy0 % 3 + 3) % 3;
                    } else { /* the ring's slots follow the rows: no division per row */
                        iy0 += g->stride_h, slot0 += g->stride_h;
                        while (slot0 >= 3) {
                            slot0 -= 3;
                        }
                    }
                }
            }
        }
    }
}

/* strides 1 and 2 on rows of 12 output pixels or more: the channel sweep; else four channels per word
 * (vww_96_int8, one M33: 48x48x8 683k -> 466k cycles; 48x48x16 at stride 2 403k -> 378k, also faster on
 * the M4 and M7; 6x6x128 217k with words against 286k swept: per-row set-up, a wasted half step) */
static int dw3_sweep_pays(const ariel_conv_params *p)
{
    return p->g.stride_w <= 2 && p->g.stride_h <= 2 && p->g.out_w >= 12;
}

static void depthwise_3x3_groups(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                                 int32_t end)
{
    if (dw3_sweep_pays(p)) {
        depthwise_3x3_sweep(p, input, output, begin, end);
    } else {
        depthwise_3x3_words(p, input, output, begin, end);
    }
}

/* Windows other than 3x3 (or dilated): one pixel at a time, four channels per input word. SXTB16 gives channels (c, c + 2) and, rotated,
 * (c + 1, c + 3) as int16 lanes; the weights are widened the same way once per work item into a
 * table on the stack, and SMLABB / SMLATT multiply lane by lane (a depthwise sum never mixes
 * channels). Padded taps point at a row of zero points. */
#define DW_SIMD_MAX_TAPS 9

/* one tap of four channels: the input word at row + offset, its lanes times the table's */
#define DW_TAP(row, entry)                                                                                       \
    do {                                                                                                         \
        const uint32_t x_ = load_word((row) + offset), we_ = (entry)[0], wo_ = (entry)[1];                       \
        const uint32_t x_even_ = __sxtb16(x_), x_odd_ = widen_odd(x_);                                          \
        a0 = __smlabb((int32_t)x_even_, (int32_t)we_, a0);                                                       \
        a2 = __smlatt((int32_t)x_even_, (int32_t)we_, a2);                                                       \
        a1 = __smlabb((int32_t)x_odd_, (int32_t)wo_, a1);                                                        \
        a3 = __smlatt((int32_t)x_odd_, (int32_t)wo_, a3);                                                        \
    } while (0)

/* sums of four channels over `taps` taps: tap t reads the word at tap_row[t] + offset */
static NOINLINE void dw_group_sums(const int8_t *const *tap_row, int32_t offset, const uint32_t *table, int32_t taps,
                                   int32_t *sums)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, t;
    if (taps == 9) { /* 3x3, unrolled */
        DW_TAP(tap_row[0], table);
        DW_TAP(tap_row[1], table + 2);
        DW_TAP(tap_row[2], table + 4);
        DW_TAP(tap_row[3], table + 6);
        DW_TAP(tap_row[4], table + 8);
        DW_TAP(tap_row[5], table + 10);
        DW_TAP(tap_row[6], table + 12);
        DW_TAP(tap_row[7], table + 14);
        DW_TAP(tap_row[8], table + 16);
    } else {
        for (t = 0; t < taps; t++, table += 2) {
            DW_TAP(tap_row[t], table);
        }
    }
    sums[0] = a0, sums[1] = a1, sums[2] = a2, sums[3] = a3;
}

static void depthwise_dm1_simd(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                               int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t taps = g->filter_h * g->filter_w;
    const int32_t last_dy = (g->filter_h - 1) * g->dilation_h, last_dx = (g->filter_w - 1) * g->dilation_w;
    const int8_t *tap_row[DW_SIMD_MAX_TAPS];
    int32_t tap_offset[DW_SIMD_MAX_TAPS];
    uint32_t table[ARIEL_CONV_MAX_CHANNEL_BLOCK / 4 * DW_SIMD_MAX_TAPS * 2];
    int8_t zero_points[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t sums[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    rq_table table_rq;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    int32_t first, item, k, ky, kx;
    for (k = 0; k < ARIEL_CONV_MAX_CHANNEL_BLOCK; k++) {
        zero_points[k] = (int8_t)p->input_zero_point;
    }
    for (ky = 0, k = 0; ky < g->filter_h; ky++) {
        for (kx = 0; kx < g->filter_w; kx++, k++) {
            tap_offset[k] = (ky * g->dilation_h * g->in_w + kx * g->dilation_w) * g->in_c;
        }
    }
    /* work items channel block by channel block (any order gives the same bytes): the tables are
     * built once per block and call */
    for (first = begin; first < end && first < begin + blocks; first++) {
        const int32_t c_begin = (first % blocks) * g->channel_block;
        const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
        const int32_t n = c_end - c_begin, groups = n >> 2;
        const int8_t *w = p->packed_weights + c_begin * taps;
        int32_t grp, t;
        table_rq.mode = prepare_rq(p, c_begin, n, table_rq.e);
        prepare_smmlar(p, c_begin, n, taps, &table_rq);
        /* the block's weights as int16 lanes: (c, c + 2) and (c + 1, c + 3) per tap */
        for (grp = 0; grp < groups; grp++) {
            const int8_t *wc = w + 4 * grp * taps;
            for (t = 0; t < taps; t++) {
                uint32_t *entry = table + (grp * taps + t) * 2;
                entry[0] = (uint16_t)wc[t] | (uint32_t)(uint16_t)wc[2 * taps + t] << 16;
                entry[1] = (uint16_t)wc[taps + t] | (uint32_t)(uint16_t)wc[3 * taps + t] << 16;
            }
        }
        for (item = first; item < end; item += blocks) {
            const int32_t row = item / blocks;
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int rows_inside = iy0 >= 0 && iy0 + last_dy < g->in_h;
            const int8_t *image = input + batch * g->in_h * g->in_w * g->in_c;
            int8_t *out = output + row * g->out_w * g->out_c;
            int32_t ox, ix0;
            for (ox = 0, ix0 = -g->pad_left; ox < g->out_w; ox++, ix0 += g->stride_w, out += g->out_c) {
                if (rows_inside && ix0 >= 0 && ix0 + last_dx < g->in_w) {
                    const int8_t *x = image + (iy0 * g->in_w + ix0) * g->in_c + c_begin;
                    for (t = 0; t < taps; t++) {
                        tap_row[t] = x + tap_offset[t];
                    }
                } else {
                    for (ky = 0, t = 0; ky < g->filter_h; ky++) {
                        const int32_t iy = iy0 + ky * g->dilation_h;
                        for (kx = 0; kx < g->filter_w; kx++, t++) {
                            const int32_t ix = ix0 + kx * g->dilation_w;
                            tap_row[t] = iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w
                                             ? image + (iy * g->in_w + ix) * g->in_c + c_begin
                                             : zero_points;
                        }
                    }
                }
                for (grp = 0; grp < groups; grp++) {
                    dw_group_sums(tap_row, 4 * grp, table + grp * taps * 2, taps, sums + 4 * grp);
                }
                for (k = 4 * groups; k < n; k++) { /* channels beyond the last group of four */
                    int32_t acc = 0;
                    for (t = 0; t < taps; t++) {
                        acc += tap_row[t][k] * w[k * taps + t];
                    }
                    sums[k] = acc;
                }
                requant_pixel(p, &table_rq, sums, out + c_begin, n);
            }
        }
    }
}

#endif
