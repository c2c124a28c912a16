/* kernels/add_s8_onnxruntime.c - 8-bit ADD, SUB and MUL with onnxruntime's arithmetic (semantics
 * "onnxruntime"; arielml/ops/ort_add.py says what each mode reproduces and how it was measured).
 * Both modes read, per input, a table of 256 float32 values indexed by the stored byte (the compiler
 * computes them exactly; their bits travel in a_table / b_table):
 *   qlinear: c = round_half_even(fma(a, r_a, inner[b])), inner[b] = fma(b, r_b, fixed), as MLAS's
 *            AVX2 QLinearAdd kernel; the outer fma is done exactly here with doubles (no fmaf: the
 *            boards' libm may not have it and a soft fmaf is not guaranteed to round once);
 *   float:   c = QuantizeLinear(dq_a[a] + dq_b[b]) (a SUB's b table is negated), the float32 path of
 *            a group onnxruntime does not fuse.
 * The result is clamped to [act_min, act_max] (the values onnxruntime computes on) and output_offset
 * takes it back to the stored type (uint8 values are held as int8: -128). On cores without an FPU
 * this is soft-float and soft-double arithmetic per element. */
#include "ariel_elementwise_loops.h"
#include "ariel_round_even.h"

/* ariel:interface */
void ariel_add_qlinear_s8_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_add_float_s8_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_qlinear_s8_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
void ariel_mul_float_s8_ort(const void *params, void *const *buffers, int32_t begin, int32_t end);
/* ariel:end-interface */

typedef union {
    int32_t bits;
    float value;
} ort_float_bits;

static float ort_float(int32_t bits)
{
    ort_float_bits u;
    u.bits = bits;
    return u.value;
}

/* the float after f in the direction of `up` (f finite) */
static float ort_next(float f, int up)
{
    ort_float_bits u;
    u.value = f;
    if (f == 0.0f) {
        u.bits = up ? 1 : (int32_t)0x80000001u;
    } else if ((f > 0.0f) == (up != 0)) {
        u.bits += 1; /* away from zero */
    } else {
        u.bits -= 1;
    }
    return u.value;
}

/* x * y + z rounded once to float32. x * y is exact in double (24 + 24 bits); s = p + z and its
 * error e are exact (TwoSum), and (float)s is the correctly rounded result unless s lies exactly
 * halfway between two floats with e != 0: then the exact value is on e's side of s. */
static float ort_fma(float x, float y, float z)
{
    const double p = (double)x * (double)y;
    const double s = p + (double)z;
    const double bb = s - p;
    const double e = (p - (s - bb)) + ((double)z - bb);
    const float f = (float)s;
    const double d = s - (double)f; /* exact */
    if (d != 0.0 && e != 0.0 && (e > 0.0) == (d > 0.0)) {
        const float g = ort_next(f, d > 0.0);
        if (d + d == (double)g - (double)f) {
            return g;
        }
    }
    return f;
}

static inline int32_t ort_clamp_round(float v, const ariel_binary_params *p)
{
    const float lo = (float)p->act_min, hi = (float)p->act_max;
    v = v < lo ? lo : v > hi ? hi : v; /* saturating packs (qlinear); never NaN here */
    return ariel_round_half_even(v);
}

#define ORT_TABLE(t, x) ort_float((t)[(uint8_t)(x)])

/* round_half_even(fma(x, y, z)) without the exact fma where it cannot matter: v = x * y + z in two
 * float32 roundings is within 1.5 ulp of the largest of |x * y|, |z|, |v| (< m * 2^-22) of the fma;
 * when v is farther than m * 2^-21 from every k + 1/2 (and inside +-2^22, where floats still have
 * fractions), both round to the same integer. Near a tie the fma is done exactly. */
static int32_t ort_fma_round(float x, float y, float z, const ariel_binary_params *p)
{
    const float product = x * y;
    const float v = product + z;
    float m = product < 0.0f ? -product : product;
    const float az = z < 0.0f ? -z : z, av = v < 0.0f ? -v : v;
    m = az > m ? az : m;
    m = av > m ? av : m;
    if (av < 4194304.0f) {
        const float fraction = v - (float)(int32_t)v; /* exact, in (-1, 1) */
        const float half = fraction < 0.0f ? -fraction - 0.5f : fraction - 0.5f;
        if ((half < 0.0f ? -half : half) > m * 4.76837158203125e-07f) { /* 2^-21 */
            return ort_clamp_round(v, p);
        }
    }
    return ort_clamp_round(ort_fma(x, y, z), p);
}

#define ADD_QLINEAR(p, a, b) \
    (int8_t)(ort_fma_round(ORT_TABLE((p)->a_table, a), ort_float((p)->a_multiplier), ORT_TABLE((p)->b_table, b), (p)) + (p)->output_offset)

/* QuantizeLinear: x / scale clamped to [min - zp, max - zp], rounded half to even, plus zp (b_offset) */
static inline int32_t ort_quantize(float x, const ariel_binary_params *p)
{
    const float lo = (float)(p->act_min - p->b_offset), hi = (float)(p->act_max - p->b_offset);
    float q = x / ort_float(p->output_multiplier);
    q = q >= lo ? q : lo; /* false for NaN: the lower bound, as MLAS */
    q = q <= hi ? q : hi;
    return ariel_round_half_even(q) + p->b_offset;
}

#define ADD_FLOAT(p, a, b) \
    (int8_t)(ort_quantize(ORT_TABLE((p)->a_table, a) + ORT_TABLE((p)->b_table, b), (p)) + (p)->output_offset)

/* QLinearMul (SSE2: no fused multiply-add): the tables hold the centred values (small integers), their
 * exact int32 product is converted, times s_a * s_b / s_c (a_multiplier), plus the zero point (b_offset) */
#define MUL_QLINEAR(p, a, b)                                                                                   \
    (int8_t)(ort_clamp_round((float)((int32_t)ORT_TABLE((p)->a_table, a) * (int32_t)ORT_TABLE((p)->b_table, b)) * \
                                     ort_float((p)->a_multiplier) + (float)(p)->b_offset,                    \
                             (p)) + (p)->output_offset)

#define MUL_FLOAT(p, a, b) \
    (int8_t)(ort_quantize(ORT_TABLE((p)->a_table, a) * ORT_TABLE((p)->b_table, b), (p)) + (p)->output_offset)

ARIEL_BINARY_KERNEL(ariel_add_qlinear_s8_ort, int8_t, int8_t, ADD_QLINEAR)
ARIEL_BINARY_KERNEL(ariel_add_float_s8_ort, int8_t, int8_t, ADD_FLOAT)
ARIEL_BINARY_KERNEL(ariel_mul_qlinear_s8_ort, int8_t, int8_t, MUL_QLINEAR)
ARIEL_BINARY_KERNEL(ariel_mul_float_s8_ort, int8_t, int8_t, MUL_FLOAT)
