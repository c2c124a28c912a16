/* kernels/rv32/conv_s8.c - int8 CONV_2D and DEPTHWISE_CONV_2D for RV32IM cores (Hazard3 on the RP2350
 * and the rv32-smp cluster), chosen in place of kernels/conv_s8.c by CoreType.kernel_dirs.
 *
 * What shapes the loops (Hazard3 timing, as arielml/emu/cyclemodel.py models it): a load takes one
 * cycle plus one when the next instruction uses its result, a multiply one cycle, a taken backward
 * branch that was taken last time one cycle, a call and return two each, and weights in flash one
 * wait state per read. RV32IM has no multiply-accumulate and no SIMD, so a MAC is MUL + ADD: the
 * loops keep that pair busy and spend as few loads as possible per MAC.
 *  - Byte loads (LB sign-extends) beat word loads here: extracting four signed bytes from a word takes
 *    seven shifts, four LBs take four cycles (Hazard3 also faults on unaligned LW).
 *  - CONV_2D, common shapes (QUAD_SHAPES: 1x1 stride 1 of depth 8..256, 3x3 of depth 16..64, the RGB
 *    first layer 3x3/2): 4 pixels x 4 output channels with the strides compile-time constants, so
 *    every operand is an immediate off one input and one weight pointer and the 16 accumulators stay
 *    in registers; the 4-pixel loop is assembly (2.55 cycles/MAC), 3 pixels in C.
 *  - CONV_2D otherwise (dilation_w 1, one group): 4 pixels x 2 channels (every input byte serves 2
 *    MACs, every weight byte 4), the k loop unrolled by 4; filter rows under 16 bytes (kws's 10 x 4 x 1)
 *    run over per-pixel patches. Padded taps: z times the weights outside the window's inside part.
 *  - DEPTHWISE 3x3 (depth multiplier 1, weights packed channel-major by the compiler): per channel,
 *    its 9 weights stay in registers while each output row is swept column by column: a new input
 *    column (3 loads) gives its partial sums for the three outputs it belongs to (stride 1), so 9 MACs
 *    cost 3 loads; work items grouped by channel block so a channel's setup serves all its rows.
 *  - Requantisation with a 64-bit product (MULHSU + MUL), bit-exact with ariel_rq (rq_channel_apply,
 *    and an 8-instruction form where the accumulator range allows it, rq_fast_apply); constants per
 *    channel prepared once per work item.
 * GCC is kept from reassociating the unrolled sums and from scheduling before register allocation
 * (the pragma below): either makes the blocks spill. Stack: about 1.8 KiB at most (depthwise).
 * Shapes not specialised here (groups, dilation_w > 1, other depthwise filters or strides, a record
 * that is not double rounding) take the portable loops of ariel_conv_q8_portable.h, the oracle these
 * kernels are tested against (tests/test_kernels_rv32.py). */
#include "ariel_conv_q8_portable.h"

#if defined(__GNUC__)
/* GCC's scheduling before register allocation hoists all the loads of an unrolled MAC block to its
 * top and then spills the accumulators; after allocation it still fills the load-use slots */
#pragma GCC optimize("no-schedule-insns", "no-tree-reassoc")
#define RV_INLINE static inline __attribute__((always_inline))
#else
#define RV_INLINE static inline
#endif

/* ---- requantisation ---------------------------------------------------------------------------
 * A conv record {m, left, right, nudge16 = 2^14} is double rounding: x = acc * 2^left (wrapping),
 * high = SaturatingRoundingDoublingHighMul(x, m) = floor((x * m + 2^30) / 2^31) (gemmlowp's nudge
 * 1 - 2^30 for a negative product followed by truncation toward zero is the same floor), then a
 * division by 2^right rounding half away from zero. With m2 = 2m < 2^32 (unsigned):
 *     high = floor((x * m2 + 2^31) / 2^32) = hi32(x * m2) + (lo32(x * m2) >> 31)
 * (MULHSU + MUL; |x * m| < 2^62, so high fits int32; m < 2^31 rules out gemmlowp's overflow case).
 * The rounding divide is (high >> right) + bump, bump = ((high & mask) + half - neg) >> right in
 * {0, 1}: neg = 1 for high < 0 and right > 0. Written this way nothing overflows, unlike
 * (high + half - neg) >> right, which wraps for high near 2^31. Checked against ariel_rq on random
 * records and accumulators by tests/test_kernels_rv32.py. */
typedef struct {
    int32_t bias; /* folded bias (plus a depthwise kernel's padded-row constant) */
    uint32_t m2;  /* 2 * multiplier */
    int32_t left, right;
    uint32_t mask;     /* 2^right - 1 */
    uint32_t half;     /* 2^(right - 1), 0 for right = 0 */
    int32_t neg_round; /* -1 for right > 0: a negative value's tie rounds away from zero */
    int32_t fast;      /* rq_fast_apply is exact for this channel (see there) */
    int32_t round_zp;  /* fast form: half + output zero point * 2^right */
} rq_channel;

/* acc: the window sum with the bias already added (wrapping) */
RV_INLINE int32_t rq_channel_apply(uint32_t acc, const rq_channel *q)
{
    const int32_t x = (int32_t)(acc << q->left);
    const int64_t product = (int64_t)x * (int64_t)(uint64_t)q->m2; /* MULHSU + MUL */
    const int32_t high = (int32_t)(uint32_t)((uint64_t)product >> 32) + (int32_t)((uint32_t)product >> 31);
    const uint32_t neg = (uint32_t)(high >> 31) & (uint32_t)q->neg_round;
    const uint32_t bump = (((uint32_t)high & q->mask) + q->half + neg) >> q->right;
    return (high >> q->right) + (int32_t)bump;
}

/* The short form, for a channel with left = 0, 1 <= right <= 22 and |bias| + window * 2^14 < 2^29
 * (so |acc| < 2^29 for every window sum): then |high| < 2^29 + 1 and |half + zp * 2^right| <= 2^21 +
 * 2^29, so high + round_zp - neg cannot wrap, and the rounding divide is one arithmetic shift:
 * floor((high + half - neg + zp * 2^right) / 2^right) = the rounded quotient + zp. 8 instructions. */
RV_INLINE int32_t rq_fast_apply(uint32_t acc, const rq_channel *q)
{
    const int64_t product = (int64_t)(int32_t)acc * (int64_t)(uint64_t)q->m2;
    const int32_t high = (int32_t)(uint32_t)((uint64_t)product >> 32) + (int32_t)((uint32_t)product >> 31);
    return (high + q->round_zp + (high >> 31)) >> q->right;
}

/* the constants of output channels c_begin .. c_begin + n - 1; 0 if a record is not double rounding */
static int rq_prepare(const ariel_conv_params *p, int32_t c_begin, int32_t n, int32_t window, rq_channel *q)
{
    const int64_t acc_bound = (int64_t)window << 14; /* |x * w| <= 2^14 per tap, padded taps included */
    const int32_t *record = p->rq + c_begin * ARIEL_RQ_WORDS;
    int32_t i;
    for (i = 0; i < n; i++, record += ARIEL_RQ_WORDS) {
        const int32_t right = record[2];
        if (record[3] != (1 << 14) || record[0] < 0 || right < 0 || right > 31 || record[1] < 0 || record[1] > 31) {
            return 0;
        }
        q[i].bias = p->bias[c_begin + i];
        q[i].m2 = (uint32_t)record[0] << 1;
        q[i].left = record[1];
        q[i].right = right;
        q[i].mask = (uint32_t)(((uint64_t)1 << right) - 1);
        q[i].half = right > 0 ? (uint32_t)1 << (right - 1) : 0;
        q[i].neg_round = right > 0 ? -1 : 0;
        q[i].fast = record[1] == 0 && right >= 1 && right <= 22 &&
                    (q[i].bias < 0 ? -(int64_t)q[i].bias : (int64_t)q[i].bias) + acc_bound < ((int64_t)1 << 29);
        q[i].round_zp = q[i].fast ? (int32_t)q[i].half + p->output_zero_point * (1 << right) : 0;
    }
    return 1;
}

/* the output of a raw window sum: bias, requantisation, zero point, activation clamp */
RV_INLINE int8_t rq_output(int32_t sum, const rq_channel *q, int32_t zp, int32_t lo, int32_t hi)
{
    int32_t v = rq_channel_apply((uint32_t)sum + (uint32_t)q->bias, q) + zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

/* ---- CONV_2D: blocks of pixels x 2 output channels -----------------------------------------------
 * Overflow: see ariel_conv_q8_portable.h (|x * w| <= 2^14, windows bounded by the compiler); the
 * accumulators start at the bias and sum as uint32, i.e. with the int32 wrap-around of TFLite. */
typedef struct {
    const ariel_conv_geometry *g;
    const int8_t *weights;
    int32_t window;   /* weight bytes per output channel */
    int32_t span;     /* weight bytes of one filter row: filter_w * in_c */
    int32_t row_step; /* input bytes between filter rows */
    int32_t tap_bytes; /* bytes per filter column: in_c (a patch: the whole window, read as one tap) */
    int32_t z, zp, lo, hi;
} conv_shape;

/* the taps of a window that read the input: filter rows [ky_lo, ky_hi) x columns [kx_lo, kx_hi)
 * (dilation_w is 1, so the inside columns of a row are contiguous, and so are the inside rows) */
typedef struct {
    int32_t ky_lo, ky_hi, kx_lo, kx_hi;
    int padded; /* some taps lie outside: they read the zero point */
} conv_taps;

/* sum of the weights of the taps outside the window's inside rectangle (what they multiply z by) */
static int32_t outside_weight_sum(const conv_shape *s, const int8_t *w, const conv_taps *t)
{
    const int32_t in_c = s->g->in_c;
    int32_t sum = 0, ky, kx, i;
    for (ky = 0; ky < s->g->filter_h; ky++) {
        for (kx = 0; kx < s->g->filter_w; kx++, w += in_c) {
            if (ky < t->ky_lo || ky >= t->ky_hi || kx < t->kx_lo || kx >= t->kx_hi) {
                for (i = 0; i < in_c; i++) {
                    sum += w[i];
                }
            }
        }
    }
    return sum;
}

/* requantise and store P outputs of one channel, its constants in registers */
RV_INLINE int8_t clamp_output(int32_t v, int32_t zp, int32_t lo, int32_t hi)
{
    v += zp;
    v = v < lo ? lo : v;
    v = v > hi ? hi : v;
    return (int8_t)v;
}

RV_INLINE void store_channel(const int P, const conv_shape *s, const rq_channel *q, uint32_t a0, uint32_t a1,
                             uint32_t a2, uint32_t a3, int8_t *out, int32_t out_c)
{
    const int32_t lo = s->lo, hi = s->hi;
    if (q->fast) { /* only the short form's constants are loaded */
        rq_channel c;
        c.m2 = q->m2;
        c.round_zp = q->round_zp;
        c.right = q->right;
        out[0] = clamp_output(rq_fast_apply(a0, &c), 0, lo, hi);
        if (P > 1) out[out_c] = clamp_output(rq_fast_apply(a1, &c), 0, lo, hi);
        if (P > 2) out[2 * out_c] = clamp_output(rq_fast_apply(a2, &c), 0, lo, hi);
        if (P > 3) out[3 * out_c] = clamp_output(rq_fast_apply(a3, &c), 0, lo, hi);
    } else {
        const rq_channel c = *q;
        const int32_t zp = s->zp;
        out[0] = clamp_output(rq_channel_apply(a0, &c), zp, lo, hi);
        if (P > 1) out[out_c] = clamp_output(rq_channel_apply(a1, &c), zp, lo, hi);
        if (P > 2) out[2 * out_c] = clamp_output(rq_channel_apply(a2, &c), zp, lo, hi);
        if (P > 3) out[3 * out_c] = clamp_output(rq_channel_apply(a3, &c), zp, lo, hi);
    }
}

/* P (1..4) pixels x output channels oc, oc + 1 (oc alone when !pair): x = the first inside tap of
 * pixel 0, the other pixels x_step bytes apart; all of them have the same inside taps t. P is a
 * constant at every call, so the accumulators live in registers. */
RV_INLINE void conv_block(const int P, const conv_shape *s, const int8_t *x, int32_t x_step, const conv_taps *t,
                          int8_t *out, int32_t oc, int pair, const rq_channel *q)
{
    const int32_t in_c = s->tap_bytes;
    const int32_t n = (t->kx_hi - t->kx_lo) * in_c; /* bytes per filter row */
    const int8_t *w0 = s->weights + oc * s->window;
    const int8_t *w1 = pair ? w0 + s->window : w0;
    uint32_t init0 = (uint32_t)q[0].bias, init1 = (uint32_t)q[pair].bias;
    uint32_t a0, b0, a1, b1, a2, b2, a3, b3;
    int32_t ky;
    if (t->padded) {
        init0 += (uint32_t)(s->z * outside_weight_sum(s, w0, t));
        init1 += (uint32_t)(s->z * outside_weight_sum(s, w1, t));
    }
    a0 = a1 = a2 = a3 = init0;
    b0 = b1 = b2 = b3 = init1;
    w0 += t->ky_lo * s->span + t->kx_lo * in_c;
    w1 += t->ky_lo * s->span + t->kx_lo * in_c;
    for (ky = t->ky_lo; ky < t->ky_hi; ky++, x += s->row_step, w0 += s->span, w1 += s->span) {
        const int8_t *x0 = x, *x1 = x + x_step, *x2 = x1 + x_step, *x3 = x2 + x_step;
        const int8_t *u = w0, *v = w1;
        const int8_t *const u_end = u + (n & ~3);
        int32_t left = n & 3;
/* tap k: two weights, then each pixel's input byte times both */
#define MAC_TAP(k)                                                                                                     \
    do {                                                                                                               \
        const int32_t wu = u[k], wv = v[k];                                                                            \
        int32_t xv = x0[k];                                                                                            \
        a0 += (uint32_t)(xv * wu); b0 += (uint32_t)(xv * wv);                                                          \
        if (P > 1) { xv = x1[k]; a1 += (uint32_t)(xv * wu); b1 += (uint32_t)(xv * wv); }                               \
        if (P > 2) { xv = x2[k]; a2 += (uint32_t)(xv * wu); b2 += (uint32_t)(xv * wv); }                               \
        if (P > 3) { xv = x3[k]; a3 += (uint32_t)(xv * wu); b3 += (uint32_t)(xv * wv); }                               \
    } while (0)
        while (u != u_end) {
            MAC_TAP(0);
            MAC_TAP(1);
            MAC_TAP(2);
            MAC_TAP(3);
            u += 4; v += 4; x0 += 4;
            if (P > 1) x1 += 4;
            if (P > 2) x2 += 4;
            if (P > 3) x3 += 4;
        }
        for (; left > 0; left--) {
            MAC_TAP(0);
            u++; v++; x0++;
            if (P > 1) x1++;
            if (P > 2) x2++;
            if (P > 3) x3++;
        }
#undef MAC_TAP
    }
    store_channel(P, s, &q[0], a0, a1, a2, a3, out + oc, s->g->out_c);
    if (pair) {
        store_channel(P, s, &q[1], b0, b1, b2, b3, out + oc + 1, s->g->out_c);
    }
}

/* ---- blocks of pixels x 4 output channels with the strides compile-time constants -------------------
 * For the common shapes (QUAD_SHAPES: 1x1 stride 1 of depth 8..256, 3x3 of depth 16..64, and the
 * RGB first layer 3x3 stride 2 of depth 3) the input bytes of the P pixels sit XS bytes apart, the
 * weights of the 4 channels WS bytes apart, and a filter row is N bytes: with those constants every
 * operand is an LB immediate off one input and one weight pointer (|offset| < 2048), so 16
 * accumulators fit the registers: per tap 4 + 4 loads for 16 MACs (2.5 cycles/MAC against 3 for the
 * 4 x 2 blocks). One copy of the loop per shape (a few hundred bytes of code each). */
RV_INLINE void quad_mac(const int P, const int32_t XS, const int32_t WS, const int32_t N, const int8_t *x,
                        const int8_t *w, uint32_t *acc)
{
    uint32_t a00 = acc[0], a01 = acc[1], a02 = acc[2], a03 = acc[3];
    uint32_t a10 = acc[4], a11 = acc[5], a12 = acc[6], a13 = acc[7];
    uint32_t a20 = acc[8], a21 = acc[9], a22 = acc[10], a23 = acc[11];
    uint32_t a30 = 0, a31 = 0, a32 = 0, a33 = 0;
    const int8_t *const x_end = x + (N & ~3);
    int32_t left = N & 3;
    if (P > 3) { a30 = acc[12]; a31 = acc[13]; a32 = acc[14]; a33 = acc[15]; }
/* tap k: the 4 channels' weights, then each pixel's input byte times all four */
#define QUAD_TAP(k)                                                                                                    \
    do {                                                                                                               \
        const int32_t w0 = w[k], w1 = w[WS + k], w2 = w[2 * WS + k], w3 = w[3 * WS + k];                               \
        int32_t xv = x[k];                                                                                             \
        a00 += (uint32_t)(xv * w0); a01 += (uint32_t)(xv * w1); a02 += (uint32_t)(xv * w2); a03 += (uint32_t)(xv * w3); \
        xv = x[XS + k];                                                                                                \
        a10 += (uint32_t)(xv * w0); a11 += (uint32_t)(xv * w1); a12 += (uint32_t)(xv * w2); a13 += (uint32_t)(xv * w3); \
        xv = x[2 * XS + k];                                                                                            \
        a20 += (uint32_t)(xv * w0); a21 += (uint32_t)(xv * w1); a22 += (uint32_t)(xv * w2); a23 += (uint32_t)(xv * w3); \
        if (P > 3) {                                                                                                   \
            xv = x[3 * XS + k];                                                                                        \
            a30 += (uint32_t)(xv * w0); a31 += (uint32_t)(xv * w1);                                                    \
            a32 += (uint32_t)(xv * w2); a33 += (uint32_t)(xv * w3);                                                    \
        }                                                                                                              \
    } while (0)
    while (x != x_end) {
        QUAD_TAP(0);
        QUAD_TAP(1);
        QUAD_TAP(2);
        QUAD_TAP(3);
        x += 4;
        w += 4;
    }
    for (; left > 0; left--, x++, w++) {
        QUAD_TAP(0);
    }
#undef QUAD_TAP
    acc[0] = a00; acc[1] = a01; acc[2] = a02; acc[3] = a03;
    acc[4] = a10; acc[5] = a11; acc[6] = a12; acc[7] = a13;
    acc[8] = a20; acc[9] = a21; acc[10] = a22; acc[11] = a23;
    if (P > 3) { acc[12] = a30; acc[13] = a31; acc[14] = a32; acc[15] = a33; }
}

/* X(name, filter, stride, in_c, XS, WS, N, tail taps): N = filter * in_c, WS = filter * N, XS = stride *
 * in_c; the loop runs over N & ~3 (at least 4) taps, the tail taps follow it */
#define QUAD_SHAPES(X)                                                                                                 \
    X(d8, 1, 1, 8, 8, 8, 8, 0) X(d16, 1, 1, 16, 16, 16, 16, 0) X(d24, 1, 1, 24, 24, 24, 24, 0)                         \
    X(d32, 1, 1, 32, 32, 32, 32, 0) X(d48, 1, 1, 48, 48, 48, 48, 0) X(d64, 1, 1, 64, 64, 64, 64, 0)                    \
    X(d96, 1, 1, 96, 96, 96, 96, 0) X(d128, 1, 1, 128, 128, 128, 128, 0) X(d192, 1, 1, 192, 192, 192, 192, 0)          \
    X(d256, 1, 1, 256, 256, 256, 256, 0)                                                                               \
    X(k3s1d16, 3, 1, 16, 16, 144, 48, 0) X(k3s1d32, 3, 1, 32, 32, 288, 96, 0) X(k3s1d64, 3, 1, 64, 64, 576, 192, 0)    \
    X(k3s2d16, 3, 2, 16, 32, 144, 48, 0) X(k3s2d32, 3, 2, 32, 64, 288, 96, 0) X(k3s2d3, 3, 2, 3, 6, 27, 9, 1)

typedef void (*quad_fn)(const int8_t *x, const int8_t *w, uint32_t *acc);

#if defined(__riscv) && __riscv_xlen == 32 && defined(__GNUC__)
/* The 4-pixel loop as an assembly function (ariel_rv32_quad4_<shape>(x, w, acc)): GCC's allocator
 * spills 3 to 6 of the 16 accumulators of the C loop (25 live registers; an inline asm statement
 * cannot take that many operands). Registers: a0 x, a1 w, a2 acc, a3 end of x, a4 input byte,
 * a5 a6 a7 t0 the four weights, t1 product; accumulators pixel 0: t2-t5, 1: t6 s0-s2, 2: s3-s6,
 * 3: s7-s10. Per tap: the input byte and four weights (the first MUL three loads after the input
 * byte), then each next pixel's byte loaded between a MUL and its ADD, so no load is followed by
 * its use (Hazard3's load-use stall); the loop head is 4-byte aligned (a taken branch to a
 * misaligned 32-bit instruction costs a cycle). Same arithmetic as quad_mac: wrapping adds. */
#define QUAD_MACS(r0, r1, r2, r3, next)                                                                                \
    "mul t1, a4, a5\n\tadd " r0 ", " r0 ", t1\n\t"                                                                     \
    "mul t1, a4, a6\n\tadd " r1 ", " r1 ", t1\n\t"                                                                     \
    "mul t1, a4, a7\n\tadd " r2 ", " r2 ", t1\n\t"                                                                     \
    "mul t1, a4, t0\n\t" next "add " r3 ", " r3 ", t1\n\t"
#define QUAD_ASM_TAP(xs, ws, k)                                                                                        \
    "lb a4, " #k "(a0)\n\tlb a5, " #k "(a1)\n\tlb a6, " #ws "+" #k "(a1)\n\t"                                          \
    "lb a7, 2*" #ws "+" #k "(a1)\n\tlb t0, 3*" #ws "+" #k "(a1)\n\t"                                                   \
    QUAD_MACS("t2", "t3", "t4", "t5", "lb a4, " #xs "+" #k "(a0)\n\t")                                                 \
    QUAD_MACS("t6", "s0", "s1", "s2", "lb a4, 2*" #xs "+" #k "(a0)\n\t")                                               \
    QUAD_MACS("s3", "s4", "s5", "s6", "lb a4, 3*" #xs "+" #k "(a0)\n\t")                                               \
    QUAD_MACS("s7", "s8", "s9", "s10", "")
#define QUAD_TAIL_0(xs, ws) ""
#define QUAD_TAIL_1(xs, ws) QUAD_ASM_TAP(xs, ws, 0)
#define QUAD_ACCS(op)                                                                                                  \
    op " t2, 0(a2)\n\t" op " t3, 4(a2)\n\t" op " t4, 8(a2)\n\t" op " t5, 12(a2)\n\t" op " t6, 16(a2)\n\t"             \
    op " s0, 20(a2)\n\t" op " s1, 24(a2)\n\t" op " s2, 28(a2)\n\t" op " s3, 32(a2)\n\t" op " s4, 36(a2)\n\t"          \
    op " s5, 40(a2)\n\t" op " s6, 44(a2)\n\t" op " s7, 48(a2)\n\t" op " s8, 52(a2)\n\t" op " s9, 56(a2)\n\t"          \
    op " s10, 60(a2)\n\t"
#define QUAD_SAVED(op)                                                                                                 \
    op " s0, 0(sp)\n\t" op " s1, 4(sp)\n\t" op " s2, 8(sp)\n\t" op " s3, 12(sp)\n\t" op " s4, 16(sp)\n\t"              \
    op " s5, 20(sp)\n\t" op " s6, 24(sp)\n\t" op " s7, 28(sp)\n\t" op " s8, 32(sp)\n\t" op " s9, 36(sp)\n\t"          \
    op " s10, 40(sp)\n\t"
#define QUAD_DEFINE(name, filter, stride, in_c, xs, ws, n, tail)                                                       \
    void ariel_rv32_quad4_##name(const int8_t *x, const int8_t *w, uint32_t *acc);                                     \
    __asm__(".section .text.ariel_rv32_quad4_" #name ",\"ax\",@progbits\n\t"                                           \
            ".globl ariel_rv32_quad4_" #name "\n\t"                                                                    \
            ".type ariel_rv32_quad4_" #name ", @function\n\t"                                                          \
            ".balign 4\n"                                                                                              \
            "ariel_rv32_quad4_" #name ":\n\t"                                                                          \
            "addi sp, sp, -48\n\t" QUAD_SAVED("sw") QUAD_ACCS("lw") "addi a3, a0, " #n "-" #tail "\n\t"                \
            ".balign 4\n"                                                                                              \
            "1:\n\t" QUAD_ASM_TAP(xs, ws, 0) QUAD_ASM_TAP(xs, ws, 1) QUAD_ASM_TAP(xs, ws, 2)                           \
            QUAD_ASM_TAP(xs, ws, 3)                                                                                    \
            "addi a0, a0, 4\n\t"                                                                                       \
            "addi a1, a1, 4\n\t"                                                                                       \
            "bne a0, a3, 1b\n\t" QUAD_TAIL_##tail(xs, ws) QUAD_ACCS("sw") QUAD_SAVED("lw") "addi sp, sp, 48\n\t"       \
            "ret\n\t"                                                                                                  \
            ".size ariel_rv32_quad4_" #name ", .-ariel_rv32_quad4_" #name "\n\t"                                       \
            ".text\n");                                                                                                \
    static void quad4_##name(const int8_t *x, const int8_t *w, uint32_t *acc)                                         \
    {                                                                                                                  \
        ariel_rv32_quad4_##name(x, w, acc);                                                                            \
    }                                                                                                                  \
    static void quad3_##name(const int8_t *x, const int8_t *w, uint32_t *acc) { quad_mac(3, xs, ws, n, x, w, acc); }
#else
#define QUAD_DEFINE(name, filter, stride, in_c, xs, ws, n, tail)                                                       \
    static void quad4_##name(const int8_t *x, const int8_t *w, uint32_t *acc) { quad_mac(4, xs, ws, n, x, w, acc); }  \
    static void quad3_##name(const int8_t *x, const int8_t *w, uint32_t *acc) { quad_mac(3, xs, ws, n, x, w, acc); }
#endif
QUAD_SHAPES(QUAD_DEFINE)
#undef QUAD_DEFINE

/* the 4- and 3-pixel loops of this convolution's shape (square filter, dilation_w 1), or 0 */
static void quad_pick(const ariel_conv_geometry *g, quad_fn *four, quad_fn *three)
{
    *four = *three = 0;
    if (g->filter_h != g->filter_w) {
        return;
    }
#define QUAD_CASE(name, filter_, stride_, depth_, xs, ws, n, tail)                                                     \
    if (g->filter_w == filter_ && g->stride_w == stride_ && g->in_c == depth_) {                                       \
        *four = quad4_##name;                                                                                          \
        *three = quad3_##name;                                                                                         \
        return;                                                                                                        \
    }
    QUAD_SHAPES(QUAD_CASE)
#undef QUAD_CASE
}

/* quad_block for a 1x1 filter (never padded): one call of the loop, the accumulators start at the biases */
static NOINLINE void quad_block_1x1(int P, quad_fn mac, const conv_shape *s, const int8_t *x, int8_t *out, int32_t oc,
                           const rq_channel *q)
{
    const int32_t out_c = s->g->out_c;
    const uint32_t b0 = (uint32_t)q[0].bias, b1 = (uint32_t)q[1].bias, b2 = (uint32_t)q[2].bias,
                   b3 = (uint32_t)q[3].bias;
    uint32_t acc[16] = {b0, b1, b2, b3, b0, b1, b2, b3, b0, b1, b2, b3, b0, b1, b2, b3};
    int32_t j;
    mac(x, s->weights + oc * s->window, acc);
    out += oc;
    for (j = 0; j < 4; j++) {
        if (P > 3) {
            store_channel(4, s, &q[j], acc[j], acc[4 + j], acc[8 + j], acc[12 + j], out + j, out_c);
        } else {
            store_channel(3, s, &q[j], acc[j], acc[4 + j], acc[8 + j], 0, out + j, out_c);
        }
    }
}

/* P (3 or 4) pixels x output channels oc .. oc + 3: x = the first inside tap of pixel 0, all pixels
 * with the inside filter rows t->ky_lo .. t->ky_hi - 1 (and every column); acc[4p + j]: pixel p,
 * channel oc + j */
static void quad_block(int P, quad_fn mac, const conv_shape *s, const int8_t *x, const conv_taps *t, int8_t *out,
                       int32_t oc, const rq_channel *q)
{
    const int32_t out_c = s->g->out_c;
    const int8_t *w = s->weights + oc * s->window;
    uint32_t b[4], acc[16];
    int32_t j, ky;
    for (j = 0; j < 4; j++) {
        b[j] = (uint32_t)q[j].bias;
        if (t->padded) {
            b[j] += (uint32_t)(s->z * outside_weight_sum(s, w + j * s->window, t));
        }
    }
    for (j = 0; j < 16; j += 4) {
        acc[j] = b[0];
        acc[j + 1] = b[1];
        acc[j + 2] = b[2];
        acc[j + 3] = b[3];
    }
    w += t->ky_lo * s->span;
    for (ky = t->ky_lo; ky < t->ky_hi; ky++, x += s->row_step, w += s->span) {
        mac(x, w, acc);
    }
    out += oc;
    for (j = 0; j < 4; j++) {
        if (P > 3) {
            store_channel(4, s, &q[j], acc[j], acc[4 + j], acc[8 + j], acc[12 + j], out + j, out_c);
        } else {
            store_channel(3, s, &q[j], acc[j], acc[4 + j], acc[8 + j], 0, out + j, out_c);
        }
    }
}

/* the inside taps of filter rows starting at iy0 (all columns) */
static void row_taps(const ariel_conv_geometry *g, int32_t iy0, conv_taps *t)
{
    int32_t lo = 0, hi = g->filter_h;
    while (lo < hi && iy0 + lo * g->dilation_h < 0) {
        lo++;
    }
    while (hi > lo && iy0 + (hi - 1) * g->dilation_h >= g->in_h) {
        hi--;
    }
    t->ky_lo = lo;
    t->ky_hi = hi;
    t->kx_lo = 0;
    t->kx_hi = g->filter_w;
    t->padded = lo != 0 || hi != g->filter_h;
}

/* ---- small filter rows: the windows copied into patches --------------------------------------------
 * A filter row of fewer than 16 bytes (e.g. keyword spotting's first layer: 10 x 4 taps of one
 * channel) leaves the blocked loop mostly loop overhead, and its border pixels (often most of them)
 * need the padded-tap sums. Up to 4 pixels' windows are copied into one buffer instead, a padded tap
 * as the zero point, each window laid out as the weights are ([ky][kx][c]): then every pixel is one
 * run of `window` bytes and the 4 x 2 block runs over it without a border case. */
#define PATCH_BYTES 128 /* window bytes at most (4 patches on the stack) */

static void conv_patch_row(const conv_shape *s, const int8_t *image, int32_t iy0, int8_t *out, int32_t c_begin,
                           int32_t c_end, const rq_channel *q)
{
    const ariel_conv_geometry *g = s->g;
    const int8_t z = (int8_t)s->z;
    const int32_t in_c = g->in_c;
    const conv_taps whole = {0, 1, 0, 1, 0};
    conv_shape ps = *s;
    int8_t patch[4 * PATCH_BYTES];
    int32_t ox;
    ps.span = s->window;
    ps.row_step = 0;
    ps.tap_bytes = s->window;
    for (ox = 0; ox < g->out_w; ox += 4) {
        const int32_t pixels = g->out_w - ox < 4 ? g->out_w - ox : 4;
        int32_t i, oc;
        for (i = 0; i < pixels; i++) {
            const int32_t ix0 = (ox + i) * g->stride_w - g->pad_left;
            int8_t *dst = patch + i * s->window;
            int32_t ky, kx, k;
            for (ky = 0; ky < g->filter_h; ky++) {
                const int32_t iy = iy0 + ky * g->dilation_h;
                const int row_inside = iy >= 0 && iy < g->in_h;
                for (kx = 0; kx < g->filter_w; kx++, dst += in_c) {
                    const int32_t ix = ix0 + kx;
                    if (row_inside && ix >= 0 && ix < g->in_w) {
                        const int8_t *src = image + (iy * g->in_w + ix) * in_c;
                        for (k = 0; k < in_c; k++) {
                            dst[k] = src[k];
                        }
                    } else {
                        for (k = 0; k < in_c; k++) {
                            dst[k] = z;
                        }
                    }
                }
            }
        }
        for (oc = c_begin; oc < c_end; oc += 2) {
            int8_t *o = out + ox * g->out_c;
            const int pair = oc + 1 < c_end;
            if (pixels == 4) {
                conv_block(4, &ps, patch, s->window, &whole, o, oc, pair, q + oc - c_begin);
            } else if (pixels == 3) {
                conv_block(3, &ps, patch, s->window, &whole, o, oc, pair, q + oc - c_begin);
            } else if (pixels == 2) {
                conv_block(2, &ps, patch, s->window, &whole, o, oc, pair, q + oc - c_begin);
            } else {
                conv_block(1, &ps, patch, s->window, &whole, o, oc, pair, q + oc - c_begin);
            }
        }
    }
}

static void conv_s8_rv32(const ariel_conv_params *p, const int8_t *input, const int8_t *weights, int8_t *output,
                         int32_t begin, int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t in_c = g->in_c;
    const int32_t x_step = g->stride_w * in_c;
    /* output columns whose window lies inside the input: [ox_lo, ox_hi) */
    const int32_t ox_lo = (g->pad_left + g->stride_w - 1) / g->stride_w;
    int32_t ox_hi = g->in_w - g->filter_w + g->pad_left < 0 ? 0 : (g->in_w - g->filter_w + g->pad_left) / g->stride_w + 1;
    conv_shape s;
    rq_channel q[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t item;
    s.g = g;
    s.weights = weights;
    s.window = g->filter_h * g->filter_w * in_c;
    s.span = g->filter_w * in_c;
    s.row_step = g->dilation_h * g->in_w * in_c;
    s.tap_bytes = in_c;
    s.z = p->input_zero_point;
    s.zp = p->output_zero_point;
    s.lo = p->act_min;
    s.hi = p->act_max;
    /* a shape with a 4-channel loop (QUAD_SHAPES) */
    quad_fn quad4, quad3;
    int quad;
    const int one_by_one = g->filter_h == 1 && g->filter_w == 1; /* never padded */
    int patches;
    quad_pick(g, &quad4, &quad3);
    quad = quad4 != 0;
    patches = !quad && s.span < 16 && s.window <= PATCH_BYTES;
    ox_hi = ox_hi > g->out_w ? g->out_w : ox_hi;
    ox_hi = ox_hi < ox_lo ? ox_lo : ox_hi;
    for (item = begin; item < end; item++) {
        int32_t row, c_begin, c_end;
        ariel_conv_place(g, item, &row, &c_begin, &c_end);
        if (!rq_prepare(p, c_begin, c_end - c_begin, s.window, q)) {
            conv_q8(p, (void *const[]){(void *)input, (void *)weights, 0, output}, item, item + 1, 0);
            continue;
        }
        {
            const int32_t batch = row / g->out_h;
            const int32_t oy = row - batch * g->out_h;
            const int32_t iy0 = oy * g->stride_h - g->pad_top;
            const int8_t *image = input + batch * g->in_h * g->in_w * in_c;
            int8_t *out = output + row * g->out_w * g->out_c;
            conv_taps rows;
            int32_t ox, oc;
            if (patches) {
                conv_patch_row(&s, image, iy0, out, c_begin, c_end, q);
                continue;
            }
            row_taps(g, iy0, &rows);
            for (ox = 0; ox < g->out_w; ox++) {
                const int32_t ix0 = ox * g->stride_w - g->pad_left;
                /* the first inside tap of this pixel (rows.ky_lo, kx_lo) */
                if (ox == ox_lo && ox_hi > ox_lo) {
                    /* the inside columns, four at a time, then the last one to three */
                    const int8_t *x = image + ((iy0 + rows.ky_lo * g->dilation_h) * g->in_w + ix0) * in_c;
                    /* six left: two threes beat a four and a two (the two has no 4-channel loop) */
                    for (; ox + 4 <= ox_hi && !(quad && ox_hi - ox == 6); ox += 4, x += 4 * x_step) {
                        for (oc = c_begin; oc < c_end;) {
                            if (quad && oc + 4 <= c_end) {
                                if (one_by_one) {
                                    quad_block_1x1(4, quad4, &s, x, out + ox * g->out_c, oc, q + oc - c_begin);
                                } else {
                                    quad_block(4, quad4, &s, x, &rows, out + ox * g->out_c, oc, q + oc - c_begin);
                                }
                                oc += 4;
                            } else {
                                conv_block(4, &s, x, x_step, &rows, out + ox * g->out_c, oc, oc + 1 < c_end,
                                           q + oc - c_begin);
                                oc += 2;
                            }
                        }
                    }
                    if (quad && ox_hi - ox == 6) {
                        for (oc = c_begin; oc + 4 <= c_end; oc += 4) {
                            if (one_by_one) {
                                quad_block_1x1(3, quad3, &s, x, out + ox * g->out_c, oc, q + oc - c_begin);
                            } else {
                                quad_block(3, quad3, &s, x, &rows, out + ox * g->out_c, oc, q + oc - c_begin);
                            }
                        }
                        for (; oc < c_end; oc += 2) {
                            conv_block(3, &s, x, x_step, &rows, out + ox * g->out_c, oc, oc + 1 < c_end,
                                       q + oc - c_begin);
                        }
                        ox += 3;
                        x += 3 * x_step;
                    }
                    for (oc = c_begin; oc < c_end && ox < ox_hi;) {
                        int8_t *o = out + ox * g->out_c;
                        const int pair = oc + 1 < c_end;
                        if (ox_hi - ox == 3 && quad && oc + 4 <= c_end) {
                            if (one_by_one) {
                                quad_block_1x1(3, quad3, &s, x, o, oc, q + oc - c_begin);
                            } else {
                                quad_block(3, quad3, &s, x, &rows, o, oc, q + oc - c_begin);
                            }
                            oc += 4;
                            continue;
                        }
                        if (ox_hi - ox == 3) {
                            conv_block(3, &s, x, x_step, &rows, o, oc, pair, q + oc - c_begin);
                        } else if (ox_hi - ox == 2) {
                            conv_block(2, &s, x, x_step, &rows, o, oc, pair, q + oc - c_begin);
                        } else {
                            conv_block(1, &s, x, x_step, &rows, o, oc, pair, q + oc - c_begin);
                        }
                        oc += 2;
                    }
                    ox = ox_hi - 1;
                    continue;
                }
                {
                    /* a pixel whose window crosses the left or right border */
                    conv_taps t = rows;
                    const int8_t *x;
                    t.kx_lo = ix0 < 0 ? -ix0 : 0;
                    t.kx_hi = g->in_w - ix0 < g->filter_w ? g->in_w - ix0 : g->filter_w;
                    t.kx_hi = t.kx_hi < t.kx_lo ? t.kx_lo : t.kx_hi;
                    t.padded = 1;
                    x = image + ((iy0 + rows.ky_lo * g->dilation_h) * g->in_w + ix0 + t.kx_lo) * in_c;
                    for (oc = c_begin; oc < c_end; oc += 2) {
                        conv_block(1, &s, x, x_step, &t, out + ox * g->out_c, oc, oc + 1 < c_end, q + oc - c_begin);
                    }
                }
            }
        }
    }
}

void ariel_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    if (p->g.groups != 1 || p->g.dilation_w != 1) {
        conv_q8(p, buffers, begin, end, 0);
        return;
    }
    conv_s8_rv32(p, (const int8_t *)buffers[0], (const int8_t *)buffers[1], (int8_t *)buffers[3], begin, end);
}

/* ---- DEPTHWISE_CONV_2D 3x3, depth multiplier 1 -----------------------------------------------------
 * Per channel block, channel and run of output rows: the channel's 9 packed weights in registers
 * while each output row is swept column by column (raw sums into acc), then one requantisation
 * loop over the run with the channel's constants in registers (two small functions: together they
 * would not fit the registers). The work items of a call are grouped by channel block, so a
 * channel's setup serves every row of the call that the block owns (narrow late layers: 6 columns
 * per row). A padded filter row (top or bottom border) reads one zero-point byte with a column step
 * of 0; padded columns (left and right border) read z in all three rows. */
#define DW_ACC 128 /* raw sums per pass: rows x columns (the stack holds them: 4 KiB per core) */
#define DW_ROWS 16 /* rows per pass at most */

typedef struct {
    const int8_t *r[3]; /* the filter rows' input rows at column 0 (a padded row: the zero-point byte) */
    int32_t step[3];    /* bytes between input columns: in_c, or 0 for a padded row */
} dw_row;

typedef struct {
    int32_t in_w, pad_left, stride, z;
} dw_geometry;

/* partial sums of one input column (rows t, m, b) for its three filter columns */
#define DW_COLUMN(t, m, b, s0, s1, s2)                                                                                 \
    do {                                                                                                               \
        s0 = (t) * w0 + (m) * w3 + (b) * w6;                                                                           \
        s1 = (t) * w1 + (m) * w4 + (b) * w7;                                                                           \
        s2 = (t) * w2 + (m) * w5 + (b) * w8;                                                                           \
    } while (0)

/* acc[i * n + j] = window sum of output column ox_begin + j of row rows[i] (i < rows_n, j < n) for
 * channel c (packed weights w). Overflow: |sum| <= 9 * 2^14. */
static NOINLINE void dw3x3_rows(const dw_geometry *geo, const dw_row *rows, int32_t rows_n, int32_t c,
                                const int8_t *w, int32_t ox_begin, int32_t n, int32_t *acc)
{
    const int32_t w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
    const int32_t in_w = geo->in_w, z = geo->z;
    const int32_t zsum0 = z * (w0 + w3 + w6), zsum1 = z * (w1 + w4 + w7), zsum2 = z * (w2 + w5 + w8);
    const dw_row *const rows_end = rows + rows_n;
    for (; rows != rows_end; rows++) {
        const int32_t sa = rows->step[0], sb = rows->step[1], sd = rows->step[2];
        const int8_t *a = rows->r[0] + (sa ? c : 0), *b = rows->r[1] + (sb ? c : 0), *d = rows->r[2] + (sd ? c : 0);
        int32_t *const acc_end = acc + n;
        int32_t s0, s1, s2;
        if (geo->stride == 1) {
            /* column j feeds output j - j0 as its left tap, j - j0 - 1 as its middle, j - j0 - 2 as its right */
            int32_t j = ox_begin - geo->pad_left; /* first column of the first output */
            const int32_t j_stop = j + n + 2;    /* one past the last column read */
            const int32_t j_in = j_stop < in_w ? j_stop : in_w;
            int32_t pend1, pend0; /* outputs waiting for their right tap, and for their middle and right taps */
            if (j >= 0 && j < in_w) {
                DW_COLUMN(a[j * sa], b[j * sb], d[j * sd], s0, s1, s2);
            } else {
                s0 = zsum0;
            }
            pend1 = s0;
            j++;
            if (j >= 0 && j < in_w) {
                DW_COLUMN(a[j * sa], b[j * sb], d[j * sd], s0, s1, s2);
            } else {
                s0 = zsum0;
                s1 = zsum1;
            }
            pend1 += s1;
            pend0 = s0;
            j++;
            for (; j < 0 && acc != acc_end; j++) { /* a left padding wider than one column */
                *acc++ = pend1 + zsum2;
                pend1 = pend0 + zsum1;
                pend0 = zsum0;
            }
            if (j < j_in) {
                /* inside columns: 3 loads and 9 MACs per output */
                int32_t *const inside_end = acc + (j_in - j);
                a += j * sa; b += j * sb; d += j * sd;
                while (acc != inside_end) {
                    const int32_t xt = *a, xm = *b, xb = *d;
                    a += sa; b += sb; d += sd;
                    DW_COLUMN(xt, xm, xb, s0, s1, s2);
                    *acc++ = pend1 + s2;
                    pend1 = pend0 + s1;
                    pend0 = s0;
                }
            }
            while (acc != acc_end) { /* padded columns on the right */
                *acc++ = pend1 + zsum2;
                pend1 = pend0 + zsum1;
                pend0 = zsum0;
            }
        } else {
            /* stride 2: output i reads columns e, e + 1, e + 2 (e = 2i - pad_left); e + 2 is the next output's e */
            int32_t e = 2 * ox_begin - geo->pad_left;
            int32_t carry; /* the left tap's partial sum of the current output */
            if (e >= 0 && e < in_w) {
                DW_COLUMN(a[e * sa], b[e * sb], d[e * sd], s0, s1, s2);
                carry = s0;
            } else {
                carry = zsum0;
            }
            if (e + 1 >= 0) { /* outputs whose columns e + 1 and e + 2 are inside */
                const int32_t inside = (in_w - 1 - e) / 2; /* e + 2i + 2 <= in_w - 1 */
                int32_t *const inside_end = acc + (inside < n ? (inside > 0 ? inside : 0) : n);
                const int8_t *a1 = a + (e + 1) * sa, *b1 = b + (e + 1) * sb, *d1 = d + (e + 1) * sd;
                while (acc != inside_end) {
                    const int32_t mt = a1[0], mm = b1[0], mb = d1[0];
                    const int32_t rt = a1[sa], rm = b1[sb], rb = d1[sd];
                    a1 += 2 * sa; b1 += 2 * sb; d1 += 2 * sd;
                    *acc++ = carry + mt * w1 + mm * w4 + mb * w7 + rt * w2 + rm * w5 + rb * w8;
                    carry = rt * w0 + rm * w3 + rb * w6;
                    e += 2;
                }
            }
            while (acc != acc_end) { /* border columns (either side), one at a time */
                int32_t sum = carry;
                if (e + 1 >= 0 && e + 1 < in_w) {
                    sum += a[(e + 1) * sa] * w1 + b[(e + 1) * sb] * w4 + d[(e + 1) * sd] * w7;
                } else {
                    sum += zsum1;
                }
                if (e + 2 >= 0 && e + 2 < in_w) {
                    DW_COLUMN(a[(e + 2) * sa], b[(e + 2) * sb], d[(e + 2) * sd], s0, s1, s2);
                } else {
                    s0 = zsum0;
                    s2 = zsum2;
                }
                *acc++ = sum + s2;
                carry = s0;
                e += 2;
            }
        }
    }
}

/* requantise rows_n x n raw sums of one channel into out (rows row_stride bytes apart, columns
 * out_c apart) */
static NOINLINE void dw_requant_rows(const int32_t *acc, int32_t rows_n, int32_t n, const rq_channel *q,
                                     const conv_shape *s, int8_t *out, int32_t out_c, int32_t row_stride)
{
    const rq_channel c = *q;
    const int32_t zp = s->zp, lo = s->lo, hi = s->hi;
    const uint32_t bias = (uint32_t)c.bias;
    for (; rows_n > 0; rows_n--, out += row_stride) {
        const int32_t *const end = acc + n;
        int8_t *o = out;
        if (c.fast) {
            for (; acc != end; acc++, o += out_c) {
                *o = clamp_output(rq_fast_apply((uint32_t)*acc + bias, &c), 0, lo, hi);
            }
        } else {
            for (; acc != end; acc++, o += out_c) {
                *o = clamp_output(rq_channel_apply((uint32_t)*acc + bias, &c), zp, lo, hi);
            }
        }
    }
}

static void depthwise3x3_s8_rv32(const ariel_conv_params *p, const int8_t *input, int8_t *output, int32_t begin,
                                 int32_t end)
{
    const ariel_conv_geometry *g = &p->g;
    const int32_t row_bytes = g->in_w * g->in_c;
    const int32_t blocks = (g->out_c + g->channel_block - 1) / g->channel_block;
    /* columns per pass, and rows per pass (DW_ACC raw sums) */
    const int32_t cols = g->out_w < DW_ACC ? g->out_w : DW_ACC;
    const int32_t rows_per_pass = DW_ACC / cols < DW_ROWS ? DW_ACC / cols : DW_ROWS;
    const int8_t zero_point = (int8_t)p->input_zero_point;
    conv_shape s;
    dw_geometry geo;
    dw_row rows[DW_ROWS];
    rq_channel q[ARIEL_CONV_MAX_CHANNEL_BLOCK];
    int32_t acc[DW_ACC];
    int32_t block;
    s.g = g;
    s.zp = p->output_zero_point;
    s.lo = p->act_min;
    s.hi = p->act_max;
    geo.in_w = g->in_w;
    geo.pad_left = g->pad_left;
    geo.stride = g->stride_w;
    geo.z = p->input_zero_point;
    /* work item = row * blocks + block: by block, the rows of [begin, end) that it owns */
    for (block = 0; block < blocks; block++) {
        const int32_t c_begin = block * g->channel_block;
        const int32_t c_end = c_begin + g->channel_block < g->out_c ? c_begin + g->channel_block : g->out_c;
        const int32_t first_row = begin <= block ? 0 : (begin - block + blocks - 1) / blocks;
        const int32_t stop_row = end <= block ? 0 : (end - 1 - block) / blocks + 1;
        int32_t row;
        if (first_row >= stop_row) {
            continue;
        }
        if (!rq_prepare(p, c_begin, c_end - c_begin, 9, q)) {
            for (row = first_row; row < stop_row; row++) {
                depthwise_dm1_s8(p, input, output, row * blocks + block, row * blocks + block + 1);
            }
            continue;
        }
        for (row = first_row; row < stop_row; row += rows_per_pass) {
            const int32_t rows_n = stop_row - row < rows_per_pass ? stop_row - row : rows_per_pass;
            int32_t i, c, ox;
            for (i = 0; i < rows_n; i++) {
                const int32_t out_row = row + i;
                const int32_t batch = out_row / g->out_h;
                const int32_t iy0 = (out_row - batch * g->out_h) * g->stride_h - g->pad_top;
                const int8_t *image = input + batch * g->in_h * row_bytes;
                int32_t r;
                for (r = 0; r < 3; r++) {
                    const int32_t iy = iy0 + r * g->dilation_h;
                    const int inside = iy >= 0 && iy < g->in_h;
                    rows[i].r[r] = inside ? image + iy * row_bytes : &zero_point;
                    rows[i].step[r] = inside ? g->in_c : 0;
                }
            }
            for (c = c_begin; c < c_end; c++) {
                for (ox = 0; ox < g->out_w; ox += cols) {
                    const int32_t n = g->out_w - ox < cols ? g->out_w - ox : cols;
                    dw3x3_rows(&geo, rows, rows_n, c, p->packed_weights + c * 9, ox, n, acc);
                    dw_requant_rows(acc, rows_n, n, &q[c - c_begin], &s, output + (row * g->out_w + ox) * g->out_c + c,
                                    g->out_c, g->out_w * g->out_c);
                }
            }
        }
    }
}

void ariel_depthwise_conv_s8(const void *params, void *const *buffers, int32_t begin, int32_t end)
{
    const ariel_conv_params *p = (const ariel_conv_params *)params;
    const ariel_conv_geometry *g = &p->g;
    if (p->packed_weights == 0) { /* not depth multiplier 1 (or more taps than the compiler packs) */
        depthwise_q8(p, buffers, begin, end, 0);
    } else if (g->filter_h == 3 && g->filter_w == 3 && g->dilation_w == 1 && (g->stride_w == 1 || g->stride_w == 2)) {
        depthwise3x3_s8_rv32(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    } else {
        depthwise_dm1_s8(p, (const int8_t *)buffers[0], (int8_t *)buffers[3], begin, end);
    }
}
