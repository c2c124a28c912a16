"""gemmlowp's fixed-point logistic and tanh on 16-bit raw values (FixedPoint<int16, k>), in numpy,
bit-exact with LiteRT's ApplySigmoid / ApplyTanh (its integer LSTM's gates and cell output).

The algorithms are those of the 32-bit versions in ops/fixed_point.py (exp on [-1/4, 0) by a
Taylor expansion around -1/8 plus a barrel shifter of exp(-2^e) factors, then 1/(1+x) or
(1-x)/(1+x) by three Newton-Raphson steps), but every step is done in int16 the way the C++
templates instantiated for int16 do it:
- plain +, - and negation wrap to int16 (the int result is stored back into an int16);
- the multiply is the 16-bit rounding doubling high multiply ((a*b + nudge) / 2^15, truncating);
- constants are the 32-bit ones divided by 2^16 with rounding (gemmlowp's constant initialiser);
- the one saturating add is the last step of exp on [-1/4, 0).
Values are int64 numpy arrays holding int16 raw values."""
from __future__ import annotations

import numpy as np

from arielml.ops.fixed_point import INT16_MAX, INT16_MIN, as_raw, srdhm16, wrap_int16
from arielml.ops.quant_math import rounding_divide_by_pot as rdbp


def _constant(int32_value: int) -> int:
    """A Q0.31 (or Q2.29) constant moved to 16 bits with rounding, as gemmlowp's initialiser does."""
    return int(rdbp(np.int64(int32_value), 16))


_EXP_MINUS_ONE_EIGHTH = _constant(1895147668)
_ONE_THIRD = _constant(715827883)
_CONST_48_OVER_17 = _constant(1515870810)
_CONST_NEG_32_OVER_17 = _constant(-1010580540)
_EXP_OF_MINUS_POT = {e: _constant(v) for e, v in
                     {-2: 1672461947, -1: 1302514674, 0: 790015084, 1: 290630308, 2: 39332535, 3: 720401,
                      4: 242}.items()}
ONE_HALF = _constant(1 << 30)


def _add(a, b):
    return wrap_int16(as_raw(a) + as_raw(b))


def _sub(a, b):
    return wrap_int16(as_raw(a) - as_raw(b))


def _shift_left_saturating(x: np.ndarray, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT for exponent >= 0: saturates beyond +-(2^(15-e) - 1)."""
    if exponent == 0:
        return as_raw(x)
    threshold = (1 << (15 - exponent)) - 1
    return np.where(x > threshold, INT16_MAX, np.where(x < -threshold, INT16_MIN, wrap_int16(as_raw(x) << exponent)))


def _exp_on_quarter_interval(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), Q0.15 in and out."""
    x = _add(a, 1 << 12)  # a + 1/8
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    poly = rdbp(_add(srdhm16(_add(rdbp(x4, 2), x3), _ONE_THIRD), x2), 1)
    return np.clip(_EXP_MINUS_ONE_EIGHTH + srdhm16(_EXP_MINUS_ONE_EIGHTH, _add(x, poly)), INT16_MIN, INT16_MAX)


def exp_on_negative_values(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0 in Q<integer_bits>.(15 - integer_bits); result Q0.15."""
    a = as_raw(a)
    fractional_bits = 15 - integer_bits
    quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_quarter = _sub(a & (quarter - 1), quarter)
    result = _exp_on_quarter_interval(_shift_left_saturating(a_mod_quarter_minus_quarter, integer_bits))
    remainder = _sub(a_mod_quarter_minus_quarter, a)
    for exponent, multiplier in _EXP_OF_MINUS_POT.items():
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where(remainder & bit, srdhm16(result, multiplier), result)
    if integer_bits > 5:  # below -32 the result is 0
        result = np.where(a < _constant(-(1 << (36 - integer_bits))), 0, result)
    return np.where(a == 0, INT16_MAX, result)


def _newton_reciprocal_of_half_denominator(a: np.ndarray) -> np.ndarray:
    """Three Newton-Raphson steps for 1 / ((1 + a) / 2), a in Q0.15; result in Q2.13."""
    total = as_raw(a) + INT16_MAX
    half = np.where(total >= 0, (total + 1) // 2, -((-(total - 1)) // 2))  # (sum + sign) / 2, truncating
    x = _add(_CONST_48_OVER_17, srdhm16(half, _CONST_NEG_32_OVER_17))
    for _ in range(3):
        one_minus = _sub(1 << 13, srdhm16(half, x))
        x = _add(x, _shift_left_saturating(srdhm16(x, one_minus), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    return _shift_left_saturating(_newton_reciprocal_of_half_denominator(a), 1)


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: np.ndarray) -> np.ndarray:
    return _shift_left_saturating(_sub(_newton_reciprocal_of_half_denominator(a), 1 << 13), 2)


def tanh(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::tanh of a FixedPoint<int16, integer_bits>; result Q0.15."""
    a = as_raw(a)
    negative = a < 0
    n = np.where(negative, a, wrap_int16(-a))
    # exp(2n): the same raw value read with one more integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    return np.where(a == 0, 0, np.where(negative, wrap_int16(-t), t))


def logistic(a: np.ndarray, integer_bits: int) -> np.ndarray:
    """gemmlowp::logistic of a FixedPoint<int16, integer_bits>; result Q0.15."""
    a = as_raw(a)
    positive = a > 0
    magnitude = np.where(positive, a, wrap_int16(-a))
    if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(wrap_int16(-magnitude), integer_bits))
    return np.where(a == 0, ONE_HALF, np.where(positive, if_positive, _sub(INT16_MAX, if_positive)))
