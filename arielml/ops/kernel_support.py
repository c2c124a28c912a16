"""Compile-time helpers shared by the C lowerings of FULLY_CONNECTED and the convolutions: constant
checks, the requantisation shift range the kernels accept, the input offset folded into the bias,
and dequantised hybrid weights."""
from __future__ import annotations

import numpy as np

from arielml.codegen.kernel_call import CArray, no_kernel
from arielml.ir import NO_TENSOR, Node, Tensor
from arielml.ops.quant_math import DOUBLE_ROUNDING, wrap_int32

# |x * (w + weight_offset)| of the 8-bit kernels: int8 x int8 (weights zero point 0) and uint8
# with a weight zero point; the int32 window sum is exact while taps * bound < 2^31
PRODUCT_BOUND = {"int8": 128 * 128, "uint8": 255 * 255}
INT32_LIMIT = 1 << 31


def rounding_code(rounding: str) -> int:
    """ARIEL_ROUND_SINGLE = 0, ARIEL_ROUND_DOUBLE = 1 (ariel_kernels.h)."""
    return 1 if rounding == DOUBLE_ROUNDING else 0


def bias_index(node: Node) -> int:
    return node.inputs[2] if len(node.inputs) > 2 else NO_TENSOR


def require_constant(node: Node, weights: Tensor, bias: Tensor | None) -> None:
    if not weights.is_constant or (bias is not None and not bias.is_constant):
        raise no_kernel(node, "weights and bias must be constant")


def check_shifts(node: Node, shift: np.ndarray, lo: int = -31, hi: int = 30) -> None:
    """The kernels' fixed-point helpers need the power-of-two shift in [lo, hi]."""
    if shift.size and (int(shift.max()) > hi or int(shift.min()) < lo):
        raise no_kernel(node, f"requantisation shift {int(shift.min())}..{int(shift.max())} is outside the "
                              f"kernel's range {lo}..{hi}")


def check_window(node: Node, dtype: str, taps: int) -> None:
    if taps * PRODUCT_BOUND[dtype] >= INT32_LIMIT:
        raise no_kernel(node, f"a window of {taps} {dtype} products could overflow the int32 accumulator "
                              f"(max {(INT32_LIMIT - 1) // PRODUCT_BOUND[dtype]})")


def folded_bias(bias: Tensor | None, weight_sums: np.ndarray, input_zero_point: int) -> CArray:
    """bias + input_offset * sum(w + weight_offset) per output channel, wrapped to int32 as the
    kernels' int32 accumulator wraps (see ariel_conv_q8_portable.h)."""
    raw = np.zeros(weight_sums.shape, dtype=np.int64) if bias is None else bias.data.astype(np.int64)
    return CArray.of("int32_t", wrap_int32(raw - np.int64(input_zero_point) * weight_sums))


def requant_records(multiplier, shift, rounding: str) -> np.ndarray:
    """(n, 4) int32 records {multiplier, left, right, nudge16} of ariel_rq_apply (ariel_kernels.h):
    the rounding mode becomes data (nudge16 = 2^14, i.e. gemmlowp's 2^30 / 2^16, or 2^15 for single
    rounding with a right shift), so the C kernels requantise with 32-bit operations and no
    per-element mode test."""
    multiplier = np.asarray(multiplier, dtype=np.int64).ravel()
    shift = np.broadcast_to(np.asarray(shift, dtype=np.int64).ravel(), multiplier.shape)
    if multiplier.size and (multiplier.min() < 0 or multiplier.max() >= INT32_LIMIT):
        raise ValueError("requantisation multipliers must be in [0, 2^31)")
    left, right = np.maximum(shift, 0), np.maximum(-shift, 0)
    if rounding != DOUBLE_ROUNDING and np.any((left > 0) & (multiplier < 1 << 30)):
        raise ValueError("single rounding with a left shift needs multipliers in [2^30, 2^31)")
    nudge = np.where((rounding != DOUBLE_ROUNDING) & (right > 0), 1 << 15, 1 << 14)
    return np.stack([multiplier, left, right, nudge], axis=1)


def single_rounding_acc_limit(shift, rounding: str) -> int:
    """acc bound l (acc clamped to [-l - 1, l]) the kernels apply before ariel_rq_apply: single rounding with a left shift must
    not wrap acc * 2^left (any larger |acc| saturates the output anyway, see ariel_kernels.h)."""
    left = int(np.max(np.asarray(shift), initial=0))
    if rounding == DOUBLE_ROUNDING or left <= 0:
        return INT32_LIMIT - 1
    return (1 << (31 - left)) - 1  # -2^(31-left) * 2^left = INT32_MIN still does not wrap


def float_rq_field(scale: np.ndarray, channels: int) -> tuple[str, CArray]:
    """ariel_rq_float records (kernels/conv_s8_float_requant.c): each channel's float32 scale, its bits
    in word 0 of a record of ARIEL_RQ_WORDS words, so the portable loops index them as usual."""
    bits = np.broadcast_to(np.asarray(scale, np.float32).ravel(), (channels,)).view(np.int32)
    records = np.zeros((channels, 4), np.int64)
    records[:, 0] = bits
    return ("rq", CArray.of("int32_t", records))


def rq_field(multiplier, shift, rounding: str) -> tuple[str, CArray]:
    return ("rq", CArray.of("int32_t", requant_records(multiplier, shift, rounding)))


def requant_arrays(requant) -> tuple[tuple[str, int | CArray], ...]:
    """per_channel flag with the multiplier and shift arrays (length 1 when per-tensor)."""
    return (("per_channel", int(requant.multiplier.size > 1)),
            ("multiplier", CArray.of("int32_t", requant.multiplier)), ("shift", CArray.of("int32_t", requant.shift)))


def dequantised_weights(w: Tensor) -> np.ndarray:
    """float32 weights = scale[c] * (q - zero_point[c]) along the quantised axis, in float32 as
    TFLite's Dequantize computes them (hybrid models)."""
    shape = [1] * len(w.shape)
    shape[w.quant.axis if w.quant.per_channel else 0] = -1
    scale = np.asarray(w.quant.scale, dtype=np.float32).reshape(shape)
    zero_point = np.asarray(w.quant.zero_point, dtype=np.int32).reshape(shape)
    weights = (scale * (w.data.astype(np.int32) - zero_point).astype(np.float32)).astype(np.float32)
    weights.setflags(write=False)
    return weights
