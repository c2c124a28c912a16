"""AVERAGE_POOL_2D under semantics "onnxruntime" (ONNX models): what onnxruntime runs for a
DQ -> AveragePool -> Q group (recorded by the frontend in Pool2DOptions.onnxruntime as (x_scale,
x_zero, y_scale, y_zero, raw_shift, mode), stored zero points):
  - "qlinear": QLinearAveragePool (qlinear_pool.cc, read for technique): each input dequantised in
    float32, the window's in-bounds taps summed in float32 rows then columns, divided by their count,
    y = saturate(nearbyintf(y / y_scale + y_zero)) with the zero point of the values it computes on
    (uint8 after its rewrite of int8 Q -> DQ pairs: raw_shift 128) added in float before rounding;
  - "global": a QLinearAveragePool whose window is the whole unpadded image takes
    QLinearGlobalAveragePool's integer sum and float32 requantisation instead;
  - "float": a group onnxruntime does not fuse: the float average, then QuantizeLinear (x / s, half to
    even).
Either an int8 AVERAGE_POOL_2D (stored bytes in and out) or the float AVERAGE_POOL_2D of a
DEQUANTIZE -> AVERAGE_POOL_2D -> QUANTIZE island, which returns the dequantised value of the result
(the QUANTIZE after it maps it back exactly). Kernel: kernels/pool_onnxruntime.c."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ops.common import Window2D, padded_input, window_tap

F32 = np.float32
MODES = {"qlinear": 0, "float": 1, "global": 2}


@dataclass(frozen=True)
class OrtAveragePool:
    window: Window2D
    out_shape: tuple[int, ...]
    counts: np.ndarray
    x_scale: float
    x_zero: int
    y_scale: float
    y_zero: int
    raw_shift: int
    mode: str
    integer: bool  # int8 in and out; else the float island's


def _dequantized(x: np.ndarray, p: OrtAveragePool) -> np.ndarray:
    if not p.integer:
        return x.astype(F32)
    return ((x.astype(np.int64) - p.x_zero).astype(F32) * F32(p.x_scale)).astype(F32)


def evaluate(p: OrtAveragePool, x: np.ndarray) -> np.ndarray:
    info = np.iinfo(np.int8)
    if p.mode == "global":  # integer sum less zp * n, float32 scale, half to even (MEAN's formula)
        from arielml.ops.common import float_requantize
        codes = x.astype(np.int64) if p.integer else \
            np.rint(x.astype(np.float64) / np.float64(F32(p.x_scale))).astype(np.int64) + p.x_zero
        n = p.window.filter_h * p.window.filter_w
        total = codes.sum(axis=(1, 2), keepdims=True) - p.x_zero * n
        scale = F32(F32(p.x_scale) / F32(F32(p.y_scale) * F32(n)))
        q = float_requantize(total, scale, p.y_zero, info.min, info.max)
    else:
        xp = padded_input(_dequantized(x, p), p.window, 0.0)
        total = np.zeros((x.shape[0], p.window.out_h, p.window.out_w, x.shape[3]), F32)
        for i in range(p.window.filter_h):
            for j in range(p.window.filter_w):
                total = (total + window_tap(xp, p.window, i, j)).astype(F32)
        mean = (total / p.counts.astype(F32)).astype(F32)
        quotient = (mean / F32(p.y_scale)).astype(F32)
        if p.mode == "qlinear":
            zero = p.y_zero + p.raw_shift
            raw = np.rint((quotient + F32(zero)).astype(F32)).astype(np.int64)
            top = 255 if p.raw_shift else 127
            q = np.clip(raw, top - 255, top) - p.raw_shift
        else:
            clamped = np.clip(quotient, F32(info.min - p.y_zero), F32(info.max - p.y_zero))
            q = np.rint(clamped).astype(np.int64) + p.y_zero
    if p.integer:
        return q.astype(np.int8).reshape(p.out_shape)
    return ((q - p.y_zero).astype(F32) * F32(p.y_scale)).astype(F32).reshape(p.out_shape)


def lower(node, pool_fields, p: OrtAveragePool) -> KernelCall:
    fields = tuple((f"pool.{name}", value) for name, value in pool_fields) + (
        ("x_scale", float(F32(p.x_scale))), ("y_scale", float(F32(p.y_scale))), ("x_zero", p.x_zero),
        ("y_zero", p.y_zero), ("raw_shift", p.raw_shift), ("mode", MODES[p.mode]), ("integer", int(p.integer)))
    return KernelCall("ariel_average_pool_ort", "ariel_pool_ort_params", fields,
                      (node.inputs[0], node.outputs[0]), "pool_onnxruntime.c")
