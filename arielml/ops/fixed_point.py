"""gemmlowp-style fixed-point arithmetic in numpy, bit-exact with the C code TFLite's reference
kernels are built from (exp on negative values, 1/(1+x), log, tanh, logistic, reciprocal).

A value of `FixedPoint<int32, k>` is a raw int32 holding x * 2^(31-k) ("Qk.(31-k)"). All functions
take and return int64 numpy arrays holding int32 raw values; results are wrapped to int32 exactly
where the C code wraps, so the arrays can be fed straight into the next step.

The 16-bit helpers at the end serve HARD_SWISH, whose reference kernel computes in int16."""
from __future__ import annotations

import numpy as np

from arielml.ops.quant_math import (INT32_MAX, INT32_MIN, rounding_divide_by_pot,
                                    saturating_rounding_doubling_high_mul, wrap_int32)

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1

srdhm = saturating_rounding_doubling_high_mul
rdbp = rounding_divide_by_pot

# Q0.31 constants of gemmlowp's polynomial/Newton-Raphson approximations (real value in comments)
_EXP_MINUS_ONE_EIGHTH = 1895147668  # exp(-1/8)
_ONE_THIRD = 715827883  # 1/3
_CONST_48_OVER_17 = 1515870810  # 48/17 in Q2.29
_CONST_NEG_32_OVER_17 = -1010580540  # -32/17 in Q2.29
# exp(-2^e) for the barrel shifter of exp_on_negative_values, e = -2 .. 4
_EXP_OF_MINUS_POT = {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308,
                     2: 39332535, 3: 720401, 4: 242}


def as_raw(x) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def one(integer_bits: int) -> int:
    """The raw value of 1.0 (saturated to the largest value when there are no integer bits)."""
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def saturating_shift_left(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT for a positive exponent: x * 2^exponent,
    saturated to the int32 range (the threshold test is gemmlowp's, not a plain clamp)."""
    x = as_raw(x)
    if exponent == 0:
        return x
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def saturating_shift_left_param(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """TFLite's SaturatingRoundingMultiplyByPOTParam: the same with a run-time exponent >= 0."""
    x = as_raw(x)
    exponent = as_raw(exponent)
    threshold = (np.int64(1) << (31 - exponent)) - 1
    shifted = wrap_int32(x << exponent)
    result = np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))
    return np.where(exponent == 0, x, result)


def multiply_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT<exponent>: saturating left shift or rounding right shift."""
    return saturating_shift_left(x, exponent) if exponent >= 0 else rdbp(x, -exponent)


def rescale(x: np.ndarray, src_integer_bits: int, dst_integer_bits: int) -> np.ndarray:
    return multiply_by_pot(x, src_integer_bits - dst_integer_bits)


def rounding_half_sum(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """(a + b) / 2 rounded half away from zero, with C's truncating division."""
    total = as_raw(a) + as_raw(b)
    total = total + np.where(total >= 0, 1, -1)
    return np.where(total >= 0, total // 2, -((-total) // 2))


def saturating_add(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return np.clip(as_raw(a) + as_raw(b), INT32_MIN, INT32_MAX)


def saturating_sub(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    return np.clip(as_raw(a) - as_raw(b), INT32_MIN, INT32_MAX)


def count_leading_zeros(x: np.ndarray) -> np.ndarray:
    """Leading zero bits of x viewed as uint32 (32 for zero)."""
    u = as_raw(x) & 0xFFFFFFFF
    clz = np.full(u.shape, 32, dtype=np.int64)
    nonzero = u != 0
    # frexp of a float64 is exact for integers below 2^53: the exponent is the bit length
    bit_length = np.frexp(u.astype(np.float64))[1].astype(np.int64)
    return np.where(nonzero, 32 - bit_length, clz)


def _exp_on_quarter_interval(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [-1/4, 0) in Q0.31: a Taylor expansion around -1/8."""
    x = wrap_int32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbp(x4, 2)
    poly = rdbp(wrap_int32(srdhm(wrap_int32(x4_over_4 + x3), _ONE_THIRD) + x2), 1)
    return wrap_int32(_EXP_MINUS_ONE_EIGHTH + srdhm(_EXP_MINUS_ONE_EIGHTH, wrap_int32(x + poly)))


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 given in Q<integer_bits>; result in Q0.31. The input is split into a
    remainder in [-1/4, 0) and a sum of powers of two, whose exponentials are multiplied in."""
    a = as_raw(a)
    fractional_bits = 31 - integer_bits
    quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = wrap_int32((a & (quarter - 1)) - quarter)
    result = _exp_on_quarter_interval(rescale(a_mod_quarter_minus_quarter, integer_bits, 0))
    remainder = wrap_int32(a_mod_quarter_minus_quarter - a)
    for exponent, multiplier in _EXP_OF_MINUS_POT.items():
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where(remainder & bit, srdhm(result, multiplier), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _newton_reciprocal_of_half_denominator(a: np.ndarray) -> np.ndarray:
    """Three Newton-Raphson steps for 1 / ((1 + a) / 2), a in Q0.31; result in Q2.29."""
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = wrap_int32(_CONST_48_OVER_17 + srdhm(half_denominator, _CONST_NEG_32_OVER_17))
    for _ in range(3):
        one_minus = wrap_int32((1 << 29) - srdhm(half_denominator, x))
        x = wrap_int32(x + rescale(srdhm(x, one_minus), 4, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1) in Q0.31."""
    return saturating_shift_left(_newton_reciprocal_of_half_denominator(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    """(1 - a) / (1 + a) for a in [0, 1) in Q0.31."""
    x = _newton_reciprocal_of_half_denominator(a)
    return saturating_shift_left(wrap_int32(x - (1 << 29)), 2)


def tanh(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::tanh of a Q<integer_bits> value; result in Q0.31."""
    a = as_raw(a)
    negative = a < 0
    n = np.where(negative, a, wrap_int32(-a))
    # exp(2n) = exp of the same raw value read with one more integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, wrap_int32(-t), t))


def logistic(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::logistic of a Q<integer_bits> value; result in Q0.31."""
    a = as_raw(a)
    positive = a > 0
    magnitude = np.where(positive, a, wrap_int32(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int32(-magnitude), integer_bits))
    if_negative = wrap_int32(INT32_MAX - if_positive)
    return np.where(a == 0, 1 << 30, np.where(positive, if_positive, if_negative))


def get_reciprocal(x: np.ndarray, integer_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """TFLite's GetReciprocal: 1/x for x >= 1 in Q<integer_bits>, as a Q0.31 value and the number
    of bits by which x exceeded 1 (the caller shifts by it)."""
    x = as_raw(x)
    headroom_plus_one = count_leading_zeros(x)
    bits_over_unit = integer_bits - headroom_plus_one
    shifted_minus_one = wrap_int32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_minus_one), bits_over_unit


# Q0.31 constants of TFLite's log approximation
_LOG_2 = 1488522236
_SQRT_SQRT_HALF = 1805811301
_SQRT_HALF = 1518500250
_ONE_QUARTER = 536870912
_ALPHA_N = 117049297
_ALPHA_D = 127690142
_ALPHA_I = 1057819769
_ALPHA_F = 638450708


def log_x_for_x_greater_than_or_equal_to_1(x: np.ndarray, input_integer_bits: int,
                                           output_integer_bits: int) -> np.ndarray:
    """log(x) for x >= 1 in Q<input_integer_bits>, as Q<output_integer_bits>: the power of two
    from the leading-zero count, the mantissa's log by a rational approximation."""
    accum_bits = output_integer_bits + 1
    shifted_quarter = rescale(np.int64(_ONE_QUARTER), 0, accum_bits)
    z_a = as_raw(x)
    z_a_headroom_plus_1 = count_leading_zeros(z_a)
    r_a_tmp = saturating_shift_left_param(z_a, z_a_headroom_plus_1 - 1)
    r_a = saturating_shift_left_param(srdhm(r_a_tmp, _SQRT_HALF), 1)
    z_a_pow_2_adj = saturating_add(
        saturating_shift_left_param(input_integer_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter)
    z_b = srdhm(z_a, _SQRT_HALF)
    z_b_headroom = count_leading_zeros(z_b) - 1
    r_b = saturating_shift_left_param(z_a, z_b_headroom)
    z_b_pow_2_adj = saturating_sub(
        saturating_shift_left_param(input_integer_bits - z_b_headroom, 31 - accum_bits), shifted_quarter)
    r = np.minimum(r_a, r_b)
    z_pow_2_adj = np.maximum(z_a_pow_2_adj, z_b_pow_2_adj)

    p = rounding_half_sum(r, _SQRT_SQRT_HALF)
    q = wrap_int32(r - _SQRT_SQRT_HALF)
    q = wrap_int32(q + q)
    common_sq = srdhm(q, q)
    num = wrap_int32(srdhm(q, r) + srdhm(srdhm(q, common_sq), _ALPHA_N))
    denom_minus_one = wrap_int32(
        srdhm(p, wrap_int32(wrap_int32(_ALPHA_I + q) + srdhm(_ALPHA_D, common_sq))) + srdhm(_ALPHA_F, q))
    recip_denom = one_over_one_plus_x_for_x_in_0_1(denom_minus_one)
    num_scaled = rescale(num, 0, accum_bits)
    total = wrap_int32(srdhm(z_pow_2_adj, _LOG_2) + srdhm(num_scaled, recip_denom))
    return rescale(total, accum_bits, output_integer_bits)


# --- int16 arithmetic (HARD_SWISH) -------------------------------------------------------------

def wrap_int16(x: np.ndarray) -> np.ndarray:
    return ((as_raw(x) + (1 << 15)) & 0xFFFF) - (1 << 15)


def srdhm16(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """int16 SaturatingRoundingDoublingHighMul (round to nearest, ties away from zero)."""
    a, b = as_raw(a), as_raw(b)
    ab = a * b
    total = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    high = np.where(total >= 0, total >> 15, -((-total) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, wrap_int16(high))


def sdhm16(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """int16 SaturatingDoublingHighMul: like srdhm16 but truncating toward zero."""
    a, b = as_raw(a), as_raw(b)
    ab = a * b
    high = np.where(ab >= 0, ab >> 15, -((-ab) >> 15))
    return np.where((a == INT16_MIN) & (b == INT16_MIN), INT16_MAX, wrap_int16(high))


def saturating_shift_left16(x: np.ndarray, amount: int) -> np.ndarray:
    return np.clip(as_raw(x) << amount, INT16_MIN, INT16_MAX)
