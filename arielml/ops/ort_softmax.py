"""onnxruntime's QLinearSoftmax for semantics "onnxruntime" (ONNX models): the float SOFTMAX of a
DEQUANTIZE -> SOFTMAX -> QUANTIZE island that onnxruntime runs as one QLinearSoftmax (a fused
DQ -> Softmax -> Q group, or the com.microsoft operator). The frontend records the QLinearSoftmax's
parameters on the SOFTMAX (SoftmaxOptions.onnxruntime); under that semantics the SOFTMAX recovers
each stored input byte from its dequantised value (exact: |q - z| <= 255), computes what
qlinear_softmax.cc computes (read for technique), and returns the dequantised value of its result,
which the QUANTIZE after it maps back to that byte exactly.

onnxruntime (1.32): a 256-entry float32 table t[i] = exp((i - 255 + b) * x_scale) in double, with
b = max(0, log(FLT_MAX / n) - 5) / x_scale (n: the row length; keeps the float sum finite);
per row, the values are indexed relative to the row's maximum (uint8: t[255 - max + x]; int8:
t[(uint8)(127 - max + x)], the table stored at (uint8)(i - 128)); sum = the float32 sum in order;
y = round_half_even(t * floor(1 / y_scale) / sum) + y_zero, saturated (measured equal on 4,026 random
outputs, int8 and uint8). The table is computed here with Python's math.exp and math.log, the C
library's, as onnxruntime's; the C kernel reads it (kernels/softmax_f32_onnxruntime.c)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall

F32 = np.float32


@dataclass(frozen=True)
class OrtQLinearSoftmax:
    x_scale: float
    x_zero: int  # stored (arielml's int8) zero points
    y_scale: float
    y_zero: int
    raw_shift: int  # 128 where onnxruntime computes on uint8 values, else 0 (int8)
    table: np.ndarray  # float32[256]
    y_scale_floor: float
    integer: bool = False  # an int8 SOFTMAX (stored bytes in and out) rather than a float island's

    @property
    def signed(self) -> bool:
        return self.raw_shift == 0

    def apply(self, x: np.ndarray) -> np.ndarray:
        rows = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
        if self.integer:
            raw = rows.astype(np.int64) + self.raw_shift
        else:
            raw = np.rint(rows.astype(np.float64) / np.float64(F32(self.x_scale))).astype(np.int64) + self.x_zero
            raw = raw + self.raw_shift
        top = raw.max(axis=1, keepdims=True)
        index = ((127 - top + raw) & 0xFF) if self.signed else (255 - top + raw)
        values = self.table[index]
        total = np.zeros((rows.shape[0], 1), F32)
        for k in range(values.shape[1]):  # one float32 addition at a time, in order
            total = (total + values[:, k:k + 1]).astype(F32)
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = ((values * F32(self.y_scale_floor)).astype(F32) / total).astype(F32)
        y = np.rint(quotient).astype(np.int64) + self.y_zero + self.raw_shift
        y = np.minimum(y, 127 if self.signed else 255) - self.raw_shift
        if self.integer:
            return y.astype(np.int8).reshape(x.shape)
        return ((y - self.y_zero).astype(F32) * F32(self.y_scale)).astype(F32).reshape(x.shape)


def prepare_ort_softmax(settings: tuple, depth: int, integer: bool = False) -> OrtQLinearSoftmax | None:
    """settings: (x_scale, x_zero, y_scale, y_zero, raw_shift) from SoftmaxOptions.onnxruntime; None
    where onnxruntime's float32 product overflows (its result is then undefined C)."""
    x_scale, x_zero, y_scale, y_zero, raw_shift = settings
    xs = float(F32(x_scale))
    shift = max(0.0, math.log(float(F32(np.finfo(F32).max) / F32(depth))) - 5.0) / xs
    table = np.zeros(256, F32)
    for i in range(256):
        table[(i - 128) & 0xFF if raw_shift == 0 else i] = F32(math.exp((i - 255 + shift) * xs))
    y_scale_floor = float(F32(math.floor(F32(1.0) / F32(y_scale))))
    if float(table.max()) * y_scale_floor >= float(np.finfo(F32).max):
        return None
    return OrtQLinearSoftmax(float(x_scale), int(x_zero), float(y_scale), int(y_zero), int(raw_shift), table,
                             y_scale_floor, integer)


def lower_ort_softmax(p: OrtQLinearSoftmax, rows: int, depth: int, buffers) -> KernelCall:
    fields = (("rows", rows), ("depth", depth), ("x_scale", float(F32(p.x_scale))), ("x_zero", p.x_zero),
              ("raw_shift", p.raw_shift), ("y_scale_floor", p.y_scale_floor), ("y_zero", p.y_zero),
              ("y_scale", float(F32(p.y_scale))), ("table", CArray.of("float", p.table)))
    kernel = "ariel_softmax_qlinear_ort_s8" if p.integer else "ariel_softmax_qlinear_ort"
    return KernelCall(kernel, "ariel_softmax_ort_params", fields, buffers, "softmax_f32_onnxruntime.c")
