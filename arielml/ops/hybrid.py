"""Hybrid CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (float32 activations, int8 weights),
computed the way LiteRT's kernels compute them, bit for bit. With per-tensor weights (below, and
CONV_2D whose per-channel scales are all equal, which LiteRT treats as per-tensor) also for ±inf,
NaN and ±FLT_MAX inputs; per-channel CONV_2D and DEPTHWISE_CONV_2D quantise asymmetrically
(`asymmetric_quantize`, matched on finite inputs only).

LiteRT does not dequantise the weights. For each batch it quantises the float input on the fly:
  1. min and max of the batch's values, found as std::minmax_element finds them (libstdc++: pairs
     compared with `<`, first minimum and last maximum; a NaN only wins when it is compared first,
     see `minmax_element`);
  2. range = max(|min|, |max|) with std::max's `a < b ? b : a` (a NaN |min| stays NaN); range 0
     means every value quantises to 0 with scale 1; else scale = range / 127 and
     q = clamp(round_half_away(x * (127 / range)), -127, 127) in float32. LiteRT casts the rounded
     value to int32 before clamping, which C leaves undefined for NaN and ±inf. Measured on its x86
     build, whose loop runs 8 values at a time and then one at a time for the last size % 8: NaN and
     -inf give -127 everywhere, +inf gives +127 in the 8-wide part and -127 in the tail (the scalar
     cast's INT32_MIN). So an infinite range (an infinity in the batch) makes every finite value
     quantise to 0 and the infinity itself (x * 0 = NaN) to -127, a range below 127 / FLT_MAX makes
     127 / range infinite, and a NaN that displaced the maximum can leave an infinity or FLT_MAX
     beyond the range (`symmetric_quantize`);
  3. the int8 x int8 products accumulate exactly in int32 (padding taps read 0);
  4. output = clamp(((0.0f + float(acc) * (input_scale * filter_scale)) + bias)), each step a float32
     operation, the clamp with std::min/std::max (NaN passes through).
FULLY_CONNECTED first skips an all-zero input (`is_zero_vector`: the output is the bias), else
quantises each row (batch = row) the same way and computes bias + float(acc) * scale, then a
different activation (`vector_activation`).
Measured against LiteRT's reference op resolver (BUILTIN_REF; for the per-tensor cases it runs the
same code as its optimised resolver) in tests/test_hybrid_exact.py. The C kernels in
runtime/kernels/hybrid_f32.c compute the same thing."""
from __future__ import annotations

import numpy as np

from arielml.ops.common import Window2D, padded_input, window_columns, window_tap

QUANT_LIMIT = 127  # symmetric int8: -127..127
SIMD_WIDTH = 8  # values LiteRT's x86 quantisation loop takes at once (measured: +inf saturates only there)
ZERO_TEST_WIDTH = 4  # values its all-zero input test takes at once (measured: NaN is zero only there)
# taps per output (KH * KW * C) for which the int32 accumulator cannot overflow: 127^2 * taps < 2^31
HYBRID_MAX_WINDOW = (2 ** 31 - 1) // (QUANT_LIMIT * QUANT_LIMIT)


def minmax_element(values: np.ndarray) -> tuple[np.float32, np.float32]:
    """(min, max) of a flat float32 array as libstdc++'s std::minmax_element with operator<.

    Without NaN this is the ordinary min and max (which of equal values wins does not matter to the
    callers: they take absolute values). With NaN the answer depends on where the NaN sits, so the
    pairwise scan is replayed: the first two values are ordered with one comparison, then values are
    taken in pairs, the smaller of a pair compared with the running min (`<`) and the larger with the
    running max (`!(larger < max)` replaces it); a last odd value is compared with min, else max."""
    v = values.reshape(-1).astype(np.float32)
    if v.size == 0:
        raise ValueError("minmax_element of an empty array")
    if not np.isnan(v).any():
        return v.min(), v.max()
    items = v.tolist()  # Python floats compare like C floats: every comparison with NaN is False
    if len(items) == 1:
        return np.float32(items[0]), np.float32(items[0])
    lo, hi = (items[1], items[0]) if items[1] < items[0] else (items[0], items[1])
    i = 2
    while i < len(items):
        first = items[i]
        if i + 1 == len(items):
            if first < lo:
                lo = first
            elif not first < hi:
                hi = first
            break
        second = items[i + 1]
        small, large = (second, first) if second < first else (first, second)
        if small < lo:
            lo = small
        if not large < hi:
            hi = large
        i += 2
    return np.float32(lo), np.float32(hi)


def _std_max(a: np.float32, b: np.float32) -> np.float32:
    return b if a < b else a


def symmetric_quantize(values: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """int8 values (as int32) and the float32 scale of one batch, as described in the module doc."""
    lo, hi = minmax_element(values)
    value_range = _std_max(np.abs(lo), np.abs(hi))
    if value_range == 0:
        return np.zeros(values.shape, np.int32), np.float32(1.0)
    with np.errstate(all="ignore"):
        scale = np.float32(value_range / np.float32(QUANT_LIMIT))
        inverse = np.float32(np.float32(QUANT_LIMIT) / value_range)
        product = (values.astype(np.float32) * inverse).astype(np.float64)
    rounded = np.copysign(np.floor(np.abs(product) + 0.5), product)  # exact in float64; ±inf stays
    vector_part = np.arange(values.size).reshape(values.shape) < values.size - values.size % SIMD_WIDTH
    q = np.where(np.isnan(rounded) | ((rounded == np.inf) & ~vector_part), -QUANT_LIMIT, rounded)
    return np.clip(q, -QUANT_LIMIT, QUANT_LIMIT).astype(np.int32), scale


def hybrid_conv(x: np.ndarray, weights: np.ndarray, filter_scale: float, bias: np.ndarray | None,
                win: Window2D, clamp: tuple[float, float]) -> np.ndarray:
    """CONV_2D (groups 1) of float32 x (N, H, W, C) with int8 weights (out_c, KH, KW, C) quantised
    per tensor with `filter_scale`."""
    out_c = weights.shape[0]
    result = np.empty((x.shape[0], win.out_h, win.out_w, out_c), np.float32)
    w = weights.astype(np.float64).reshape(out_c, -1).T
    bias32 = np.zeros(out_c, np.float32) if bias is None else bias.astype(np.float32)
    for b in range(x.shape[0]):
        q, input_scale = symmetric_quantize(x[b])
        cols = window_columns(q[None].astype(np.float64), win, 0.0)  # padding taps read 0
        # exact: |products| <= 127^2 and at most HYBRID_MAX_WINDOW taps (checked in conv.check)
        acc = (cols.reshape(-1, w.shape[0]) @ w).astype(np.int64)
        scale = np.float32(input_scale * np.float32(filter_scale))
        with np.errstate(all="ignore"):
            y = (np.float32(0.0) + acc.astype(np.float32) * scale) + bias32
        result[b] = _clamp(y, clamp).reshape(result.shape[1:])
    return result


def _clamp(y: np.ndarray, clamp: tuple[float, float]) -> np.ndarray:
    """std::min(std::max(y, lo), hi): NaN stays NaN."""
    return np.clip(y, np.float32(clamp[0]), np.float32(clamp[1])).astype(np.float32)


def hybrid_fully_connected(rows: np.ndarray, weights: np.ndarray, filter_scale: float, bias: np.ndarray | None,
                           activation: str) -> np.ndarray:
    """FULLY_CONNECTED of float32 rows (R, D) with int8 weights (U, D) quantised per tensor: each row
    quantised on its own (as above), output = bias + float(acc) * (row scale * filter scale) in
    float32, then LiteRT's vector activation (`vector_activation`: no clamp to ±FLT_MAX here)."""
    w = weights.astype(np.float64).T
    result = np.empty((rows.shape[0], weights.shape[0]), np.float32)
    start = np.zeros(weights.shape[0], np.float32) if bias is None else bias.astype(np.float32)
    if is_zero_vector(rows):  # LiteRT skips the product: the output is the bias
        result[:] = vector_activation(start, activation)
        return result
    for r in range(rows.shape[0]):
        q, input_scale = symmetric_quantize(rows[r])
        acc = (q.astype(np.float64) @ w).astype(np.int64)  # exact, as in hybrid_conv
        scale = np.float32(input_scale * np.float32(filter_scale))
        with np.errstate(all="ignore"):
            result[r] = vector_activation(start + acc.astype(np.float32) * scale, activation)
    return result


def is_zero_vector(x: np.ndarray) -> bool:
    """LiteRT's test that lets hybrid FULLY_CONNECTED skip an all-zero input (all rows together).
    Measured on its x86 build: values are checked 4 at a time with ordered comparisons, where NaN
    counts as zero, and the last size % 4 one by one with `!= 0`, where NaN counts as non-zero."""
    flat = x.reshape(-1)
    body = flat.size - flat.size % ZERO_TEST_WIDTH
    with np.errstate(invalid="ignore"):
        nonzero = bool(((flat[:body] < 0) | (flat[:body] > 0)).any()) or bool((flat[body:] != 0).any())
    return not nonzero


# hybrid FULLY_CONNECTED's activation bounds: (lower, upper), None = unbounded
VECTOR_BOUNDS = {"NONE": (None, None), "RELU": (0.0, None), "RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


def vector_activation(y: np.ndarray, activation: str) -> np.ndarray:
    """LiteRT's activation for hybrid FULLY_CONNECTED: std::max(lo, std::min(y, hi)) with only the
    activation's own bounds - infinities pass (no ±FLT_MAX clamp) and a NaN becomes the lower bound
    (std::max(0, NaN) is 0), unlike the conv clamp which keeps NaN. Measured (test_hybrid_exact.py)."""
    lo, hi = VECTOR_BOUNDS[activation]
    if hi is not None:
        y = np.where(np.float32(hi) < y, np.float32(hi), y)  # std::min(y, hi): NaN stays
    if lo is not None:
        y = np.where(np.float32(lo) < y, y, np.float32(lo))  # std::max(lo, y): NaN gives lo
    return y.astype(np.float32)


# ---- per-channel weights: asymmetric input quantisation ------------------------------------------

ASYM_MIN, ASYM_MAX = -128, 127
# taps per output for which acc = sum of w * (q - zero point) fits int32: 127 * 255 * taps < 2^31
HYBRID_ASYM_MAX_WINDOW = (2 ** 31 - 1) // (QUANT_LIMIT * (ASYM_MAX - ASYM_MIN))


def asymmetric_quantize(values: np.ndarray) -> tuple[np.ndarray, np.float32, int]:
    """int8 values (as int32), float32 scale and zero point of one batch, as LiteRT quantises the
    input of per-channel hybrid CONV_2D and DEPTHWISE_CONV_2D. Measured on finite inputs: rmin =
    min(0, min), rmax = max(0, max); equal means all zero (scale 1, zero point 0); else, in float32,
    scale = (rmax - rmin) / 255, the zero point from whichever end has the smaller error
    (-128 - rmin / scale or 127 - rmax / scale), clamped to [-128, 127] and rounded half away from
    zero; q = clamp(round_half_away(zero_point + x * (1 / scale)), -128, 127).
    Non-finite inputs are NOT matched (LiteRT's NaN and infinity handling on this path was not
    pinned down); arielml's own rule there: NaN gives -128, ±inf saturate, as in `quantise` of the
    C kernel."""
    lo, hi = minmax_element(values)
    f = np.float32
    rmin = lo if lo < 0 else f(0.0)  # std::min(0.0f, min)
    rmax = hi if f(0.0) < hi else f(0.0)  # std::max(0.0f, max)
    if rmin == rmax:
        return np.zeros(values.shape, np.int32), f(1.0), 0
    with np.errstate(all="ignore"):
        scale = f(f(rmax - rmin) / f(ASYM_MAX - ASYM_MIN))
        from_min, from_max = f(ASYM_MIN) - f(rmin / scale), f(ASYM_MAX) - f(rmax / scale)
        error_min = f(-ASYM_MIN) + np.abs(f(rmin / scale))
        error_max = f(ASYM_MAX) + np.abs(f(rmax / scale))
        zero = from_min if error_min < error_max else from_max
        zero_point = ASYM_MIN if zero <= ASYM_MIN else ASYM_MAX if zero >= ASYM_MAX else \
            0 if np.isnan(zero) else int(np.copysign(np.floor(np.abs(np.float64(zero)) + 0.5), zero))
        inverse = f(f(1.0) / scale)
        product = (f(zero_point) + values.astype(f) * inverse).astype(np.float64)
    rounded = np.copysign(np.floor(np.abs(product) + 0.5), product)
    q = np.where(np.isnan(rounded), ASYM_MIN, rounded)
    return np.clip(q, ASYM_MIN, ASYM_MAX).astype(np.int32), scale, zero_point


def hybrid_conv_per_channel(x: np.ndarray, weights: np.ndarray, scales: np.ndarray, bias: np.ndarray | None,
                            win: Window2D, clamp: tuple[float, float], depth_multiplier: int = 0) -> np.ndarray:
    """Per-channel hybrid CONV_2D (weights (out_c, KH, KW, C)) or, with depth_multiplier >= 1,
    DEPTHWISE_CONV_2D (weights (1, KH, KW, out_c)): acc = sum of w * (q - zero point) over the taps
    inside the input (int32, exact), then conv: (float(acc) * channel scale) * input scale,
    depthwise: float(acc) * (channel scale * input scale); + bias; clamped (NaN passes)."""
    depthwise = depth_multiplier >= 1
    out_c = weights.shape[3] if depthwise else weights.shape[0]
    result = np.empty((x.shape[0], win.out_h, win.out_w, out_c), np.float32)
    channel_scales = np.asarray(scales, np.float32)
    bias32 = np.zeros(out_c, np.float32) if bias is None else bias.astype(np.float32)
    for b in range(x.shape[0]):
        q, input_scale, zero_point = asymmetric_quantize(x[b])
        centred = (q - zero_point).astype(np.float64)[None]  # taps outside the input add 0
        if depthwise:
            xp = padded_input(centred, win, 0.0)
            acc = np.zeros((win.out_h, win.out_w, out_c))
            for i in range(win.filter_h):
                for j in range(win.filter_w):
                    acc += np.repeat(window_tap(xp, win, i, j)[0], depth_multiplier, axis=-1) * weights[0, i, j]
        else:
            cols = window_columns(centred, win, 0.0)
            acc = (cols.reshape(-1, weights[0].size) @ weights.astype(np.float64).reshape(out_c, -1).T)
        acc32 = acc.astype(np.int64).astype(np.float32).reshape(win.out_h, win.out_w, out_c)
        with np.errstate(all="ignore"):
            if depthwise:
                y = acc32 * (channel_scales * input_scale)
            else:
                y = (acc32 * channel_scales) * input_scale
            result[b] = _clamp(y + bias32, clamp)
    return result
