"""TFLite's fixed-point arithmetic, vectorised in numpy and bit-exact with the C reference kernels.

Everything works on int64 numpy arrays holding int32 values, so that intermediate products do not
overflow; results are wrapped back to int32 exactly where the C code would wrap."""
from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """A real multiplier as (31-bit fixed-point multiplier, power-of-two shift), as TFLite's
    QuantizeMultiplier does it: frexp, round half away from zero, renormalise 2^31."""
    if real_multiplier == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real_multiplier)
    q_fixed = int(_round_half_away(mantissa * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def quantize_multipliers(real_multipliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pairs = [quantize_multiplier(float(m)) for m in np.asarray(real_multipliers, dtype=np.float64).ravel()]
    mult = np.array([p[0] for p in pairs], dtype=np.int64)
    shift = np.array([p[1] for p in pairs], dtype=np.int64)
    return mult, shift


def _round_half_away(x: float) -> float:
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (what C's int32 arithmetic does)."""
    x = np.asarray(x, dtype=np.int64)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    overflow = (a == INT32_MIN) & (b == INT32_MIN)
    ab = a * b  # |a*b| <= 2^62: fits int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C integer division truncates toward zero; numpy's // floors, so divide magnitudes.
    total = ab + nudge
    high = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where(overflow, INT32_MAX, high)


def rounding_divide_by_pot(x: np.ndarray, exponent: np.ndarray | int) -> np.ndarray:
    """Division by 2^exponent rounding half away from zero (gemmlowp's RoundingDivideByPOT)."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


# Rounding modes of the requantisation. LiteRT (TFLite) builds its kernels with single rounding:
# one 64-bit product, rounded once. TFLite Micro keeps gemmlowp's double rounding: a rounding
# doubling high multiply, then a rounding right shift. They differ by one in the last place on a
# few percent of values (see docs/semantics.md).
SINGLE_ROUNDING = "single"
DOUBLE_ROUNDING = "double"


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int,
                                     rounding: str = SINGLE_ROUNDING) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier for int32 x; broadcasts per-channel multiplier/shift."""
    x = np.asarray(x, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    if rounding == SINGLE_ROUNDING:
        total_shift = 31 - shift
        # |x * multiplier| < 2^62: fits int64
        return (x * multiplier + (np.int64(1) << (total_shift - 1))) >> total_shift
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    shifted = wrap_int32(x * (np.int64(1) << left))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)


def multiply_by_quantized_multiplier_int64(x: np.ndarray, multiplier: np.ndarray | int, shift: np.ndarray | int) -> np.ndarray:
    """TFLite's int64-accumulator variant (used by int16 kernels): the multiplier is reduced to
    16 bits and the product rounded once. Inputs must satisfy |x| < 2^47."""
    x = np.asarray(x, dtype=np.int64)
    multiplier = np.asarray(multiplier, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, 0x7FFF)
    total_shift = 15 - shift
    # x * reduced fits int64 for |x| < 2^47; round half up as the C code does.
    product = x * reduced
    rounded = (product + (np.int64(1) << (total_shift - 1))) >> total_shift
    return np.clip(rounded, INT32_MIN, INT32_MAX)


def activation_range_quantized(activation: str, scale: float, zero_point: int, dtype: np.dtype) -> tuple[int, int]:
    """The clamp range of a fused activation on a quantised output (CalculateActivationRangeQuantized)."""
    info = np.iinfo(dtype)
    qmin, qmax = int(info.min), int(info.max)

    def quantize(v: float) -> int:
        # TFLite divides in single precision here
        return zero_point + int(_round_half_away(float(np.float32(v) / np.float32(scale))))

    if activation == "RELU":
        return max(qmin, quantize(0.0)), qmax
    if activation == "RELU6":
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    return qmin, qmax


def activation_range_float(activation: str) -> tuple[float, float]:
    """CalculateActivationRange<float>: the range is [lowest, max] of float32, not ±inf, even with no
    activation - so LiteRT turns an infinite result into ±FLT_MAX (NaN passes through)."""
    big = float(np.finfo(np.float32).max)
    return {
        "RELU": (0.0, big),
        "RELU6": (0.0, 6.0),
        "RELU_N1_TO_1": (-1.0, 1.0),
    }.get(activation, (-big, big))
