"""Preparation shared by several operator families: requantisation of int32 accumulators and the
clamp ranges of fused activations."""
from __future__ import annotations

import dataclasses

from dataclasses import dataclass

import numpy as np

from arielml.ir import Tensor
from arielml.ops.registry import Semantics
from arielml.ops.quant_math import (SINGLE_ROUNDING, activation_range_float, activation_range_quantized,
                                    multiply_by_quantized_multiplier, quantize_multipliers)


@dataclass(frozen=True)
class Requant:
    """Per-output-channel requantisation of an accumulator: multiplier/shift arrays (length 1 when
    per-tensor), output zero point, and the clamp range (activation folded in)."""

    multiplier: np.ndarray
    shift: np.ndarray
    output_zero_point: int
    clamp_min: int
    clamp_max: int
    rounding: str = SINGLE_ROUNDING
    # semantics "onnxruntime": float32 scale per channel; the accumulator is requantised as MLAS does
    # (float32(acc) * scale, clamped, rounded half to even) instead of by multiplier and shift
    float_scale: np.ndarray | None = None

    def apply(self, acc: np.ndarray, channel_axis: int = -1) -> np.ndarray:
        """acc: int64 array of int32 accumulators with channels on `channel_axis`."""
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        if self.float_scale is not None:
            return float_requantize(acc, self.float_scale.reshape(shape), self.output_zero_point, self.clamp_min,
                                    self.clamp_max)
        scaled = multiply_by_quantized_multiplier(acc, self.multiplier.reshape(shape), self.shift.reshape(shape),
                                                  self.rounding)
        return np.clip(scaled + self.output_zero_point, self.clamp_min, self.clamp_max)


def conv_requant(inp: Tensor, weights: Tensor, out: Tensor, activation: str, semantics: Semantics,
                 per_tensor_path: bool | None = None) -> Requant:
    """Effective scale input_scale * weight_scale[c] / output_scale, computed the way TFLite does it.

    TFLite has two paths: the per-channel one (int8/int16 conv, per-channel fc) multiplies and
    divides in double precision; the per-tensor one (uint8 conv, per-tensor fc) multiplies the two
    scales in float32 first and only then divides in double. The float32 product changes the
    multiplier's last bits, and with it a few outputs (found on a uint8 MobileNet v1 0.75/192).
    `per_tensor_path` defaults to the conv rule: uint8 input."""
    if per_tensor_path is None:
        per_tensor_path = inp.dtype == "uint8"
    if per_tensor_path:
        product = np.float32(inp.quant.single_scale) * np.asarray(weights.quant.scale, dtype=np.float32)
        real = product.astype(np.float64) / np.float64(out.quant.single_scale)
    else:
        weight_scales = np.asarray(weights.quant.scale, dtype=np.float64)
        real = np.float64(inp.quant.single_scale) * weight_scales / np.float64(out.quant.single_scale)
    multiplier, shift = quantize_multipliers(real)
    lo, hi = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point, out.np_dtype)
    return Requant(multiplier, shift, out.quant.single_zero_point, lo, hi, semantics.rounding)


def float_requantize(acc: np.ndarray, scale: np.ndarray, zero_point: int, lo: int, hi: int) -> np.ndarray:
    """onnxruntime's MlasRequantizeOutput: float32(acc) * scale in float32, clamped to [lo - zp, hi - zp]
    (integers, so clamping before or after the rounding is the same), rounded half to even
    (cvtps2dq under the default MXCSR), plus the zero point."""
    value = acc.astype(np.float32) * scale.astype(np.float32)
    value = np.clip(value, np.float32(lo - zero_point), np.float32(hi - zero_point))
    return np.rint(value).astype(np.int64) + zero_point


def ort_requant(inp: Tensor, weights: Tensor, out: Tensor, activation: str) -> Requant:
    """Requantisation of QLinearConv / QLinearMatMul / QGemm (and the QDQ groups onnxruntime fuses
    into them): scale = input_scale * weight_scale[c] / output_scale, each step in float32, as
    onnxruntime computes its output_scales. The fused activation's range only narrows the clamp
    (onnxruntime drops a Relu the output's quantisation makes redundant)."""
    product = np.float32(inp.quant.single_scale) * np.asarray(weights.quant.scale, dtype=np.float32)
    scale = (product / np.float32(out.quant.single_scale)).astype(np.float32)
    lo, hi = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point, out.np_dtype)
    none = np.zeros(scale.shape, np.int64)
    return Requant(none, none, out.quant.single_zero_point, lo, hi, SINGLE_ROUNDING, float_scale=scale)


def float_clamp(activation: str) -> tuple[float, float]:
    return activation_range_float(activation)


# ---- sliding windows (added for conv and pool) ---------------------------------------------------

PADDING_SAME = 0  # schema enum Padding
PADDING_VALID = 1


@dataclass(frozen=True)
class Window2D:
    """Geometry of a 2-D sliding window over an NHWC input, as TFLite computes it: output size from
    the padding type, then the top/left padding (the bottom/right remainder is implicit)."""

    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    out_h: int
    out_w: int
    pad_top: int
    pad_left: int

    @property
    def taps(self) -> int:
        return self.filter_h * self.filter_w


def _out_size(padding: int, size: int, effective_filter: int, stride: int) -> int:
    # ComputeOutSize: SAME ceil(size/stride); VALID ceil((size - effective_filter + 1)/stride)
    if padding == PADDING_SAME:
        return (size + stride - 1) // stride
    numerator = size + stride - effective_filter
    return numerator // stride if numerator > 0 else 0


def _pad_before(size: int, effective_filter: int, stride: int, out: int) -> int:
    return max((out - 1) * stride + effective_filter - size, 0) // 2


def window_2d(in_h: int, in_w: int, filter_h: int, filter_w: int, stride_h: int, stride_w: int,
              padding: int, dilation_h: int = 1, dilation_w: int = 1,
              explicit_padding: tuple[int, ...] = ()) -> Window2D:
    """Output size 0 means the window does not fit (VALID with a filter larger than the input);
    callers reject that in `check`. `explicit_padding` (top, bottom, left, right; a PAD folded into
    the operator by passes/fold_pad.py) pads the input that much, then the window is VALID."""
    if explicit_padding:
        top, bottom, left, right = explicit_padding
        win = window_2d(in_h + top + bottom, in_w + left + right, filter_h, filter_w, stride_h, stride_w,
                        PADDING_VALID, dilation_h, dilation_w)
        return dataclasses.replace(win, pad_top=top, pad_left=left)
    eff_h, eff_w = (filter_h - 1) * dilation_h + 1, (filter_w - 1) * dilation_w + 1
    out_h, out_w = _out_size(padding, in_h, eff_h, stride_h), _out_size(padding, in_w, eff_w, stride_w)
    return Window2D(filter_h, filter_w, stride_h, stride_w, dilation_h, dilation_w, out_h, out_w,
                    _pad_before(in_h, eff_h, stride_h, out_h), _pad_before(in_w, eff_w, stride_w, out_w))


def _refuse_huge_padding(nbytes: int, win: Window2D, input_bytes: int) -> None:
    # Absurd strides/dilations (corrupt files) would make np.pad allocate gigabytes; refuse instead.
    # (added by the robustness work; the limit is the per-tensor one of arielml.ir.verify). A big
    # input padded by a few rows is not absurd (Coral's 721x1281 posenet widens 100 MB of int64
    # values by a border): refuse only when the padding, not the input, makes the bytes.
    from arielml.errors import ModelFormatError
    from arielml.ir.verify import MAX_TENSOR_BYTES
    if nbytes > MAX_TENSOR_BYTES and nbytes > 2 * input_bytes:
        raise ModelFormatError(
            f"a window with strides ({win.stride_h}, {win.stride_w}) and dilations ({win.dilation_h}, "
            f"{win.dilation_w}) would need a {nbytes:,}-byte padded input; arielml refuses over "
            f"{MAX_TENSOR_BYTES >> 20} MiB (the file is probably corrupt)")


def padded_input(x: np.ndarray, win: Window2D, fill) -> np.ndarray:
    """x (N, H, W, C) padded with `fill` (or cropped) to exactly the rows/columns the windows read."""
    n, h, w, c = x.shape
    need_h = (win.out_h - 1) * win.stride_h + (win.filter_h - 1) * win.dilation_h + 1
    need_w = (win.out_w - 1) * win.stride_w + (win.filter_w - 1) * win.dilation_w + 1
    bottom, right = max(need_h - h - win.pad_top, 0), max(need_w - w - win.pad_left, 0)
    _refuse_huge_padding(n * max(need_h, h) * max(need_w, w) * c * x.itemsize, win, x.nbytes)
    if win.pad_top or win.pad_left or bottom or right:
        x = np.pad(x, ((0, 0), (win.pad_top, bottom), (win.pad_left, right), (0, 0)), constant_values=fill)
    return x[:, :need_h, :need_w, :]


def window_tap(xp: np.ndarray, win: Window2D, i: int, j: int) -> np.ndarray:
    """The (N, OH, OW, C) view of filter tap (i, j) over a `padded_input` (no copy)."""
    top, left = i * win.dilation_h, j * win.dilation_w
    return xp[:, top:top + (win.out_h - 1) * win.stride_h + 1:win.stride_h,
              left:left + (win.out_w - 1) * win.stride_w + 1:win.stride_w, :]


def window_columns(x: np.ndarray, win: Window2D, fill) -> np.ndarray:
    """im2col: (N, OH, OW, KH*KW, C), taps in row-major filter order (the TFLite weight layout)."""
    xp = padded_input(x, win, fill)
    return np.stack([window_tap(xp, win, i, j) for i in range(win.filter_h) for j in range(win.filter_w)], axis=3)


def quantisation_problem(tensor: Tensor) -> str | None:
    """Why a tensor's quantisation parameters cannot be used (damaged or nonsensical files), or None:
    scales must be positive and finite, zero points inside the tensor type's range."""
    if tensor.quant is None:
        return None
    if not all(np.isfinite(s) and s > 0 for s in tensor.quant.scale):
        return f"tensor '{tensor.name}' has a zero, negative or non-finite scale"
    if np.issubdtype(tensor.np_dtype, np.integer):
        info = np.iinfo(tensor.np_dtype)
        if not all(info.min <= z <= info.max for z in tensor.quant.zero_point):
            return f"tensor '{tensor.name}' has a zero point outside the {tensor.dtype} range"
    return None
