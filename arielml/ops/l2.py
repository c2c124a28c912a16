"""L2_NORMALIZATION (over the last axis) and L2_POOL_2D.

L2_NORMALIZATION, as LiteRT's reference kernels (TFLite Micro takes float32 and int8):
  - float32: the squares summed one at a time in float32, sqrt, max(norm, 1e-6), then each value
    divided by it: the same float32 operations in the same order, so bit-exact;
  - int8 (output scale 1/128, zero point 0): the int32 sum of (x - zp)^2, its inverse square root as
    a fixed-point multiplier and shift (gemmlowp Newton-Raphson, GetInvSqrtQuantizedMultiplierExp;
    ops/unary_math.py has the numpy version), then (x - zp) requantised by it with 7 more bits of
    left shift, clamped to int8;
  - legacy uint8 (output scale 1/128, zero point 128): 128 * (x - zp) requantised by the same
    multiplier, plus 128, clamped to 0..255.
The requantisation uses gemmlowp's double rounding, as TFLite Micro's code does; its shift is a left
shift, where single rounding would give the same result except on exact ties of negative values
(the random tests cannot tell the two apart, so "measured" cannot be claimed here). The sum of squares is at
most 255^2 per element, so the int32 sum is exact below 33,025 channels (the limit `check` sets).

L2_POOL_2D (float32, as LiteRT and TFLite Micro): per window, the squares of the taps inside the
input summed in float32 in row-major tap order, divided by their count, sqrt, then the fused
activation's clamp.

C kernels in runtime/kernels/l2.c: one row (all channels of one position) per work item for the
normalisation, one output row per work item for the pooling."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.common import PADDING_SAME, PADDING_VALID, Window2D, window_2d
from arielml.ops.data_kernels import require_addressable
from arielml.ops.pool import Pool2DOptions
from arielml.ops.quant_math import DOUBLE_ROUNDING, activation_range_float, multiply_by_quantized_multiplier
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported
from arielml.ops.shape import input_tensor
from arielml.ops.unary_math import inv_sqrt_multiplier_exp

L2_NORM_DTYPES = ("float32", "int8", "uint8")
MAX_QUANTISED_DEPTH = ((1 << 31) - 1) // (255 * 255)  # the int32 sum of squares stays exact
EPSILON = np.float32(1e-6)


@dataclass(frozen=True)
class L2NormOptions:
    fused_activation_function: int = 0


@dataclass(frozen=True)
class L2NormParams:
    rows: int
    depth: int
    dtype: str
    input_zero_point: int = 0


def _norm_plan(node: Node, graph: Graph) -> L2NormParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    if x.dtype not in L2_NORM_DTYPES or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {out.dtype} output is not supported (supported: "
                                f"{', '.join(L2_NORM_DTYPES)}, the same type in and out)")
    if not 1 <= len(x.shape) <= 4 or x.num_elements == 0:
        raise unsupported(node, f"needs a non-empty input of rank 1 to 4, got {x.shape}")
    if out.shape != x.shape:
        raise unsupported(node, f"output shape {out.shape} differs from the input's {x.shape}")
    if fused_activation(node, node.options.fused_activation_function if node.options else 0) != "NONE":
        raise unsupported(node, "a fused activation is not supported (TFLite requires NONE)")
    depth = x.shape[-1]
    p = L2NormParams(x.num_elements // depth, depth, x.dtype)
    if x.dtype == "float32":
        return p
    wanted_zero_point = 0 if x.dtype == "int8" else 128
    if x.quant is None or out.quant is None or x.quant.per_channel or out.quant.per_channel:
        raise unsupported(node, "quantised input and output need per-tensor quantisation parameters")
    if float(np.float32(out.quant.scale[0])) != 1.0 / 128 or out.quant.zero_point[0] != wanted_zero_point:
        raise unsupported(node, f"a {x.dtype} output must have scale 1/128 and zero point {wanted_zero_point} "
                                "(as TFLite requires)")
    if depth > MAX_QUANTISED_DEPTH:
        raise unsupported(node, f"more than {MAX_QUANTISED_DEPTH} channels could overflow the int32 sum of squares")
    return L2NormParams(p.rows, depth, x.dtype, int(x.quant.zero_point[0]))


def _norm_infer(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    _norm_plan(node, graph)
    return [graph.tensors[node.inputs[0]].shape]


def _norm_check(node: Node, graph: Graph) -> None:
    _norm_plan(node, graph)


def _norm_prepare(node: Node, graph: Graph, semantics: Semantics) -> L2NormParams:
    return _norm_plan(node, graph)


def _norm_evaluate(p: L2NormParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    rows = x.reshape(p.rows, p.depth)
    if p.dtype == "float32":
        total = np.zeros(p.rows, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for c in range(p.depth):  # one square and one addition at a time, as the reference
                total += rows[:, c] * rows[:, c]
            norm = np.maximum(np.sqrt(total), EPSILON)
            return [(rows / norm[:, None]).astype(np.float32).reshape(x.shape)]
    centred = rows.astype(np.int64) - p.input_zero_point
    sums = np.sum(centred * centred, axis=1)
    out = np.empty(centred.shape, dtype=np.int64)
    for r in range(p.rows):
        multiplier, shift = inv_sqrt_multiplier_exp(int(sums[r]))
        if p.dtype == "int8":
            scaled = multiply_by_quantized_multiplier(centred[r], multiplier, shift + 7, DOUBLE_ROUNDING)
            out[r] = np.clip(scaled, -128, 127)
        else:
            scaled = multiply_by_quantized_multiplier(128 * centred[r], multiplier, shift, DOUBLE_ROUNDING)
            out[r] = np.clip(128 + scaled, 0, 255)
    return [out.astype(p.dtype).reshape(x.shape)]


def _norm_work_items(node: Node, graph: Graph) -> int:
    return _norm_plan(node, graph).rows


def _norm_lower(node: Node, graph: Graph, p: L2NormParams) -> KernelCall:
    require_addressable(node, graph.tensors[node.inputs[0]])
    suffix = {"float32": "f32", "int8": "s8", "uint8": "u8"}[p.dtype]
    return KernelCall(f"ariel_l2_normalization_{suffix}", "ariel_l2_normalization_params",
                      (("depth", p.depth), ("input_zero_point", p.input_zero_point)),
                      (node.inputs[0], node.outputs[0]), "l2.c")


L2_NORMALIZATION = register(OpDef(
    name="L2_NORMALIZATION", infer_shapes=_norm_infer, prepare=_norm_prepare, evaluate=_norm_evaluate,
    options_type=L2NormOptions, tflite_options="L2NormOptions", check=_norm_check,
    work_items=_norm_work_items, lower=_norm_lower, num_inputs=(1, 1), num_outputs=(1, 1)))


# --------------------------------------------------------------------------- L2_POOL_2D

@dataclass(frozen=True)
class L2PoolParams:
    window: Window2D
    out_shape: tuple[int, int, int, int]
    clamp: tuple[float, float]


def _pool_plan(node: Node, graph: Graph) -> L2PoolParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    if x.dtype != "float32" or out.dtype != "float32":
        raise unsupported(node, f"only float32 is supported (as in LiteRT and TFLite Micro), got {x.dtype}")
    if len(x.shape) != 4 or x.num_elements == 0:
        raise unsupported(node, f"needs a non-empty 4-D NHWC input, got {x.shape}")
    o = node.options or Pool2DOptions()
    if min(o.stride_h, o.stride_w, o.filter_height, o.filter_width) < 1:
        raise unsupported(node, "strides and filter sizes must be >= 1")
    if o.padding not in (PADDING_SAME, PADDING_VALID):
        raise unsupported(node, f"padding type {o.padding} is neither SAME nor VALID")
    activation = fused_activation(node, o.fused_activation_function)
    win = window_2d(x.shape[1], x.shape[2], o.filter_height, o.filter_width, o.stride_h, o.stride_w, o.padding)
    if win.out_h < 1 or win.out_w < 1:
        raise unsupported(node, f"the {o.filter_height}x{o.filter_width} window does not fit the input "
                                "with VALID padding")
    return L2PoolParams(win, (x.shape[0], win.out_h, win.out_w, x.shape[3]), activation_range_float(activation))


def _pool_infer(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_pool_plan(node, graph).out_shape]


def _pool_check(node: Node, graph: Graph) -> None:
    _pool_plan(node, graph)


def _pool_prepare(node: Node, graph: Graph, semantics: Semantics) -> L2PoolParams:
    return _pool_plan(node, graph)


def _tap_range(origin: int, size: int, filter_size: int) -> tuple[int, int]:
    return max(0, -origin), min(filter_size, size - origin)


def _pool_evaluate(p: L2PoolParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    win = p.window
    n, out_h, out_w, c = p.out_shape
    out = np.empty(p.out_shape, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for oy in range(out_h):
            y0 = oy * win.stride_h - win.pad_top
            ky0, ky1 = _tap_range(y0, x.shape[1], win.filter_h)
            for ox in range(out_w):
                x0 = ox * win.stride_w - win.pad_left
                kx0, kx1 = _tap_range(x0, x.shape[2], win.filter_w)
                total = np.zeros((n, c), dtype=np.float32)
                for ky in range(ky0, ky1):  # row-major tap order, one float32 operation at a time
                    for kx in range(kx0, kx1):
                        v = x[:, y0 + ky, x0 + kx, :]
                        total += v * v
                count = np.float32(max(ky1 - ky0, 0) * max(kx1 - kx0, 0))
                out[:, oy, ox, :] = np.sqrt(total / count)
    return [np.clip(out, *p.clamp).astype(np.float32)]


def _pool_work_items(node: Node, graph: Graph) -> int:
    n, out_h, _, _ = _pool_plan(node, graph).out_shape
    return n * out_h


def _pool_lower(node: Node, graph: Graph, p: L2PoolParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    require_addressable(node, x)
    win = p.window
    fields = (("in_h", x.shape[1]), ("in_w", x.shape[2]), ("channels", x.shape[3]), ("out_h", win.out_h),
              ("out_w", win.out_w), ("filter_h", win.filter_h), ("filter_w", win.filter_w),
              ("stride_h", win.stride_h), ("stride_w", win.stride_w), ("pad_top", win.pad_top),
              ("pad_left", win.pad_left), ("act_min", float(p.clamp[0])), ("act_max", float(p.clamp[1])))
    return KernelCall("ariel_l2_pool_f32", "ariel_l2_pool_params", fields, (node.inputs[0], node.outputs[0]), "l2.c")


L2_POOL_2D = register(OpDef(
    name="L2_POOL_2D", infer_shapes=_pool_infer, prepare=_pool_prepare, evaluate=_pool_evaluate,
    options_type=Pool2DOptions, tflite_options="Pool2DOptions", check=_pool_check,
    work_items=_pool_work_items, lower=_pool_lower, num_inputs=(1, 1), num_outputs=(1, 1)))
