"""Lookup tables that TFLite kernels fill at Prepare time, computed here at compile time.

TFLite fills them with the C library's float functions (tanhf, expf); to give the same table entries
we call the same functions through ctypes. glibc's tanhf is not correctly rounded (measured here: it
differs from float64-then-round on ~3% of inputs) and numpy's float32 kernels differ even more, and
a one-ulp difference flips an entry whenever the scaled value lands near .5. Without a loadable C
math library we fall back to float64 evaluation rounded to float32."""
from __future__ import annotations

import ctypes
import ctypes.util
import math
from functools import lru_cache
from typing import Callable

import numpy as np

from arielml.ops.fixed_point import INT16_MAX, INT16_MIN, as_raw, wrap_int16


@lru_cache(maxsize=None)
def _libm() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("m")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def _c_function(name: str, ctype) -> Callable | None:
    lib = _libm()
    fn = getattr(lib, name, None) if lib is not None else None
    if fn is not None:
        fn.restype = ctype
        fn.argtypes = [ctype]
    return fn


def c_float_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """Elementwise float32 -> float32 through the C library's `name`f (e.g. "tanh" -> tanhf)."""
    fn = _c_function(name + "f", ctypes.c_float)
    fallback = getattr(np, name)

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if fn is None:
            return fallback(x.astype(np.float64)).astype(np.float32)
        return np.array([fn(float(v)) for v in x.ravel()], dtype=np.float32).reshape(x.shape)
    return apply


def c_double_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    fn = _c_function(name, ctypes.c_double) or getattr(math, name)

    def apply(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.array([fn(float(v)) for v in x.ravel()], dtype=np.float64).reshape(x.shape)
    return apply


def round_half_away(x: np.ndarray) -> np.ndarray:
    """C's round()/roundf(), exact (no x + 0.5 double rounding): result in the input's dtype."""
    x = np.asarray(x)
    magnitude = np.abs(x.astype(np.float64))
    floor = np.floor(magnitude)
    rounded = floor + (magnitude - floor >= 0.5)
    return (np.sign(x.astype(np.float64)) * rounded).astype(x.dtype)


def _float_to_int32(x: np.ndarray) -> np.ndarray:
    """static_cast<int32_t>(float) as x86-64 does it: truncation; out of range gives INT32_MIN."""
    x = np.asarray(x, dtype=np.float64)
    inside = np.abs(x) < 2.0 ** 31
    return np.where(inside, np.trunc(np.where(inside, x, 0.0)), -(2 ** 31)).astype(np.int64)


def lut_populate_8bit(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                      transform: Callable[[np.ndarray], np.ndarray], dtype: str) -> np.ndarray:
    """TFLite's LUTPopulate for int8/uint8: every input code dequantised, transformed and
    requantised in float32. Returned in input-code order (index = code - min), as dtype."""
    info = np.iinfo(dtype)
    codes = np.arange(info.min, info.max + 1, dtype=np.int64)
    dequantized = np.float32(input_scale) * (codes - input_zero_point).astype(np.float32)
    inverse_scale = np.float32(1) / np.float32(output_scale)
    with np.errstate(over="ignore"):
        transformed = transform(dequantized)
        rescaled = round_half_away((transformed * inverse_scale).astype(np.float32))
        quantized = _float_to_int32((rescaled + np.float32(output_zero_point)).astype(np.float32))
    return np.clip(quantized, info.min, info.max).astype(dtype)


def lookup_8bit(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    info = np.iinfo(x.dtype)
    return table[x.astype(np.int64) - info.min]


def lut_populate_int16(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                       transform: Callable[[np.ndarray], np.ndarray], float_type=np.float32) -> np.ndarray:
    """TFLite's LUTPopulate for int16: 512 segments over the input range plus an end point; each
    sample is biased by half the interpolation error at the segment midpoint. float_type is the
    precision TFLite computes in (float32, or float64 in its deprecated double overload)."""
    f = float_type
    input_min = f(input_scale) * f(INT16_MIN - input_zero_point)
    input_max = f(input_scale) * f(INT16_MAX - input_zero_point)
    output_min = f(output_scale) * f(INT16_MIN - output_zero_point)
    output_max = f(output_scale) * f(INT16_MAX - output_zero_point)
    steps = 512
    step = (input_max - input_min) / f(steps)
    half_step = step / f(2)
    scaling_inv = f(65536) / (output_max - output_min)
    i = np.arange(steps).astype(f)
    start = (input_min + i * step).astype(f)
    value = transform(start)
    midpoint = transform((start + half_step).astype(f))
    following = transform((input_min + (i + f(1)) * step).astype(f))
    sample = round_half_away((value * scaling_inv).astype(f))
    midpoint_interpolated = round_half_away(((following * scaling_inv + sample) / f(2)).astype(f))
    midpoint_exact = round_half_away((midpoint * scaling_inv).astype(f))
    bias = round_half_away(((midpoint_interpolated - midpoint_exact) / f(2)).astype(f))
    table = np.clip(sample - bias, INT16_MIN, INT16_MAX)
    last = np.clip(round_half_away((transform(np.array([input_max], dtype=f)) * scaling_inv).astype(f)),
                   INT16_MIN, INT16_MAX)
    return np.concatenate([table, last]).astype(np.int16)


def lookup_int16(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """TFLite's int16 LUTLookup: the top 9 bits pick the segment, the low 7 interpolate."""
    x = as_raw(x)
    index = 256 + (x >> 7)
    offset = x & 0x7F
    lut = table.astype(np.int64)
    base = lut[index]
    slope = wrap_int16(lut[index + 1] - base)
    return wrap_int16(base + ((slope * offset + 64) >> 7))
