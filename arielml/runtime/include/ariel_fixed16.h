/* ariel_fixed16.h - gemmlowp's fixed-point logistic and tanh on 16-bit raw values, as static
 * functions (kernels/lstm.c: LiteRT's int8 LSTM gates). The numpy twin, with the reasoning, is
 * arielml/ops/fixed_point16.py; both must stay bit-identical.
 *
 * A value is an int16 raw held in an int32_t: Q(k).(15-k) in, Q0.15 out. Each step is done as the
 * int16 instantiation of gemmlowp's templates does it: +, - and negation wrap to int16, products
 * are the 16-bit rounding doubling high multiply, constants are the 32-bit ones rounded to 16 bits. */
#ifndef ARIEL_FIXED16_H
#define ARIEL_FIXED16_H

#include <stdint.h>

#define FX16_MAX 32767
#define FX16_MIN (-32768)

/* the int result stored back into an int16 (two's complement wrap) */
static inline int32_t fx16_wrap(int32_t v)
{
    return (int16_t)(uint16_t)(uint32_t)v;
}

/* (a * b + nudge) / 2^15, truncating; -1 x -1 saturates */
static inline int32_t fx16_mul(int32_t a, int32_t b)
{
    const int32_t ab = a * b;
    if (a == FX16_MIN && b == FX16_MIN) {
        return FX16_MAX;
    }
    return fx16_wrap((ab + (ab >= 0 ? (1 << 14) : 1 - (1 << 14))) / (1 << 15));
}

/* division by 2^exponent rounding half away from zero */
static inline int32_t fx16_rounding_shift(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + ((x & mask) > threshold ? 1 : 0);
}

/* x * 2^exponent (exponent >= 0), saturating beyond +-(2^(15 - exponent) - 1) */
static inline int32_t fx16_shift_left(int32_t x, int32_t exponent)
{
    const int32_t threshold = (1 << (15 - exponent)) - 1;
    if (exponent == 0) {
        return x;
    }
    return x > threshold ? FX16_MAX : x < -threshold ? FX16_MIN : fx16_wrap(x * (1 << exponent));
}

/* exp(a) for a in [-1/4, 0): Taylor expansion around -1/8 (Q0.15 in and out) */
static inline int32_t fx16_exp_quarter(int32_t a)
{
    const int32_t exp_minus_eighth = 28918; /* exp(-1/8) */
    const int32_t one_third = 10923;
    const int32_t x = fx16_wrap(a + (1 << 12));
    const int32_t x2 = fx16_mul(x, x);
    const int32_t x3 = fx16_mul(x2, x);
    const int32_t x4 = fx16_mul(x2, x2);
    const int32_t cubic = fx16_mul(fx16_wrap(fx16_rounding_shift(x4, 2) + x3), one_third);
    const int32_t poly = fx16_rounding_shift(fx16_wrap(cubic + x2), 1);
    const int32_t sum = exp_minus_eighth + fx16_mul(exp_minus_eighth, fx16_wrap(x + poly));
    return sum > FX16_MAX ? FX16_MAX : sum < FX16_MIN ? FX16_MIN : sum;
}

/* exp(a) for a <= 0 in Q(k): the remainder modulo 1/4 through the polynomial, then one factor
 * exp(-2^e) for each bit set in the rest, e = -2 .. 4 while e < k */
static inline int32_t fx16_exp_negative(int32_t a, int32_t integer_bits)
{
    /* exp(-2^e), e = -2 .. 4, in Q0.15 */
    static const int32_t factors[7] = {25520, 19875, 12055, 4435, 600, 11, 0};
    const int32_t fractional_bits = 15 - integer_bits;
    const int32_t quarter = 1 << (fractional_bits - 2);
    const int32_t mod_quarter = fx16_wrap((a & (quarter - 1)) - quarter);
    const int32_t remainder = fx16_wrap(mod_quarter - a);
    int32_t result = fx16_exp_quarter(fx16_shift_left(mod_quarter, integer_bits));
    int32_t e;
    for (e = -2; e <= 4 && e < integer_bits; e++) {
        if (remainder & (1 << (fractional_bits + e))) {
            result = fx16_mul(result, factors[e + 2]);
        }
    }
    if (integer_bits > 5 && a < -(1 << (20 - integer_bits))) { /* below -32: zero */
        result = 0;
    }
    return a == 0 ? FX16_MAX : result;
}

/* 1 / ((1 + a) / 2) for a in [0, 1) (Q0.15) by three Newton-Raphson steps; Q2.13 out */
static inline int32_t fx16_reciprocal_half(int32_t a)
{
    const int32_t sum = a + FX16_MAX;
    const int32_t half = (sum + (sum >= 0 ? 1 : -1)) / 2;
    int32_t x = fx16_wrap(23130 + fx16_mul(half, -15420)); /* 48/17 - 32/17 x half */
    int32_t i;
    for (i = 0; i < 3; i++) {
        const int32_t one_minus = fx16_wrap((1 << 13) - fx16_mul(half, x));
        x = fx16_wrap(x + fx16_shift_left(fx16_mul(x, one_minus), 2));
    }
    return x;
}

/* gemmlowp::tanh of a Q(k) value: (1 - exp(-2|a|)) / (1 + exp(-2|a|)), signed */
static inline int32_t fx16_tanh(int32_t a, int32_t integer_bits)
{
    const int32_t n = a < 0 ? a : fx16_wrap(-a);
    /* exp(2n): the same raw value read with one more integer bit */
    const int32_t reciprocal = fx16_reciprocal_half(fx16_exp_negative(n, integer_bits + 1));
    const int32_t t = fx16_shift_left(fx16_wrap(reciprocal - (1 << 13)), 2); /* (1 - e) / (1 + e) */
    return a == 0 ? 0 : a < 0 ? fx16_wrap(-t) : t;
}

/* gemmlowp::logistic of a Q(k) value: 1 / (1 + exp(-|a|)), mirrored for a < 0 */
static inline int32_t fx16_logistic(int32_t a, int32_t integer_bits)
{
    const int32_t magnitude = a > 0 ? a : fx16_wrap(-a);
    const int32_t reciprocal = fx16_reciprocal_half(fx16_exp_negative(fx16_wrap(-magnitude), integer_bits));
    const int32_t positive = fx16_shift_left(reciprocal, 1); /* 1 / (1 + e) */
    return a == 0 ? 16384 : a > 0 ? positive : fx16_wrap(FX16_MAX - positive);
}

#endif
