"""AVERAGE_POOL_2D and MAX_POOL_2D over NHWC tensors, bit-exact with TFLite's reference kernels.

Windows are clipped to the input: padding positions take no part in a maximum and are not counted
in an average. Quantised pooling does not requantise: TFLite expects the output to share the input's
scale and zero point (we reject models where they differ), and only clamps to the fused activation's
range. Supported types: float32, int8, uint8, int16 (zero point 0)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node
from arielml.ops.common import (PADDING_SAME, PADDING_VALID, Window2D, padded_input, quantisation_problem, window_2d,
                                window_tap)
from arielml.ops.float_order import average_in_order, max_in_order
from arielml.ops.ort_pool import OrtAveragePool, evaluate as evaluate_ort, lower as lower_ort
from arielml.ops.quant_math import activation_range_float, activation_range_quantized
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported


@dataclass(frozen=True)
class Pool2DOptions:
    padding: int = 0
    stride_w: int = 0
    stride_h: int = 0
    filter_width: int = 0
    filter_height: int = 0
    fused_activation_function: int = 0
    # ONNX models: the onnxruntime arithmetic of this AVERAGE_POOL_2D's group (ops/ort_pool.py), used
    # under semantics "onnxruntime"; never read from a TFLite file
    onnxruntime: tuple = field(default=(), metadata={"compiler_only": True})


@dataclass(frozen=True)
class PoolParams:
    window: Window2D
    out_shape: tuple[int, ...]
    out_dtype: str
    clamp: tuple[float, float]  # activation range, in output units (quantised or float)
    # AVERAGE_POOL_2D: number of in-bounds input positions under each output (1, OH, OW, 1)
    counts: np.ndarray | None = None


def _window(node: Node, graph: Graph) -> Window2D:
    x = graph.tensors[node.inputs[0]]
    o = node.options
    return window_2d(x.shape[1], x.shape[2], o.filter_height, o.filter_width, o.stride_h, o.stride_w, o.padding)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    win = _window(node, graph)
    return [(x.shape[0], win.out_h, win.out_w, x.shape[3])]


def check(node: Node, graph: Graph) -> None:
    if len(node.inputs) != 1 or len(node.outputs) != 1:
        raise unsupported(node, "expects one input and one output")
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    o = node.options
    if len(x.shape) != 4 or min(x.shape) < 1:
        raise unsupported(node, f"needs a non-empty 4-D NHWC input, got {x.shape}")
    if min(o.stride_h, o.stride_w, o.filter_height, o.filter_width) < 1:
        raise unsupported(node, f"filter ({o.filter_height}, {o.filter_width}) and strides "
                                f"({o.stride_h}, {o.stride_w}) must be >= 1")
    if o.padding not in (PADDING_SAME, PADDING_VALID):
        raise unsupported(node, f"padding type {o.padding} is neither SAME nor VALID")
    fused_activation(node, o.fused_activation_function)
    win = _window(node, graph)
    if win.out_h < 1 or win.out_w < 1:
        raise unsupported(node, f"the {o.filter_height}x{o.filter_width} window does not fit the "
                                f"{x.shape[1]}x{x.shape[2]} input with VALID padding")
    if x.dtype not in ("float32", "int8", "uint8", "int16") or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {out.dtype} output is not supported "
                                "(supported: float32, int8, uint8, int16, same type in and out)")
    if x.dtype == "float32":
        return
    if x.quant is None or out.quant is None or x.quant.per_channel or out.quant.per_channel:
        raise unsupported(node, "quantised pooling needs per-tensor quantisation on input and output")
    for t in (x, out):
        if problem := quantisation_problem(t):
            raise unsupported(node, problem)
    if (abs(x.quant.single_scale - out.quant.single_scale) > 1e-6 * out.quant.single_scale
            or x.quant.single_zero_point != out.quant.single_zero_point):
        raise unsupported(node, "quantised pooling needs the same scale and zero point on input and output "
                                "(TFLite does not requantise here); insert a QUANTIZE operator")
    if x.dtype == "int16" and x.quant.single_zero_point != 0:
        raise unsupported(node, "int16 pooling needs zero point 0")


def prepare(node: Node, graph: Graph, semantics: Semantics) -> PoolParams:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    activation = fused_activation(node, node.options.fused_activation_function)
    win = _window(node, graph)
    if out.dtype == "float32":
        clamp = activation_range_float(activation)
    else:
        clamp = activation_range_quantized(activation, out.quant.single_scale, out.quant.single_zero_point,
                                           out.np_dtype)
    counts = None
    if node.op == "AVERAGE_POOL_2D":
        inside = padded_input(np.ones((1, x.shape[1], x.shape[2], 1), dtype=np.int64), win, 0)
        counts = sum(window_tap(inside, win, i, j) for i in range(win.filter_h) for j in range(win.filter_w))
        counts.setflags(write=False)
        if semantics.name == "onnxruntime" and node.options.onnxruntime and x.dtype in ("int8", "float32") \
                and activation == "NONE":
            x_scale, x_zero, y_scale, y_zero, raw_shift, mode = node.options.onnxruntime
            whole = (win.filter_h, win.filter_w) == tuple(x.shape[1:3]) and win.pad_top == win.pad_left == 0
            return OrtAveragePool(win, tuple(infer_shapes(node, graph)[0]), counts, x_scale, x_zero, y_scale, y_zero,
                                  raw_shift, "global" if mode == "qlinear" and whole else mode, x.dtype == "int8")
    return PoolParams(win, tuple(infer_shapes(node, graph)[0]), out.dtype, clamp, counts)


def evaluate_max(p: PoolParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if x.dtype == np.float32:
        return [np.clip(max_in_order(x, p.window), *p.clamp).astype(np.float32)]
    lowest = np.iinfo(x.dtype).min  # never beats an in-bounds value
    xp = padded_input(x, p.window, lowest)
    result = window_tap(xp, p.window, 0, 0)
    for i in range(p.window.filter_h):
        for j in range(p.window.filter_w):
            result = np.maximum(result, window_tap(xp, p.window, i, j))
    return [np.clip(result, *p.clamp).astype(p.out_dtype)]


def evaluate_average(p: PoolParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if isinstance(p, OrtAveragePool):
        return [evaluate_ort(p, x)]
    if x.dtype == np.float32:  # float32 sum in window order, as LiteRT (an overflow there is an overflow here)
        return [np.clip(average_in_order(x, p.window, p.counts), *p.clamp).astype(np.float32)]
    xp = padded_input(x.astype(np.int64), p.window, 0)
    total = sum(window_tap(xp, p.window, i, j) for i in range(p.window.filter_h) for j in range(p.window.filter_w))
    # integer division rounding half away from zero: (|acc| + count/2) / count with C truncation
    half = p.counts // 2
    mean = np.sign(total) * ((np.abs(total) + half) // p.counts)
    return [np.clip(mean, *p.clamp).astype(p.out_dtype)]


# ---- C lowering (runtime/kernels/pool.c, pool_f32.c) ------------------------------------------

CHANNEL_BLOCK = 16  # ARIEL_POOL_MAX_CHANNEL_BLOCK: channels per work item
KERNEL_SUFFIX = {"int8": "s8", "uint8": "u8", "int16": "s16", "float32": "f32"}
MAX_AVERAGE_TAPS = 65535  # int32 sum of int16 values: taps * 32768 < 2^31


def _channel_block(channels: int) -> int:
    return min(channels, CHANNEL_BLOCK)


def work_items(node: Node, graph: Graph) -> int:
    """Output pixels x channel blocks (global pooling still splits over channels)."""
    n, out_h, out_w, c = graph.tensors[node.outputs[0]].shape
    return n * out_h * out_w * -(-c // _channel_block(c))


def lower(node: Node, graph: Graph, p: PoolParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    win = p.window
    if node.op == "AVERAGE_POOL_2D" and (x.dtype != "float32" or isinstance(p, OrtAveragePool)) \
            and win.taps > MAX_AVERAGE_TAPS:
        raise no_kernel(node, f"a {win.taps}-tap window could overflow the int32 sum (max {MAX_AVERAGE_TAPS})")
    if x.nbytes > (1 << 31) - 1:
        raise no_kernel(node, "the input is larger than int32 offsets address")
    n, h, w, c = x.shape
    fields = [("batches", n), ("in_h", h), ("in_w", w), ("channels", c), ("out_h", win.out_h),
              ("out_w", win.out_w), ("filter_h", win.filter_h), ("filter_w", win.filter_w),
              ("stride_h", win.stride_h), ("stride_w", win.stride_w), ("pad_top", win.pad_top),
              ("pad_left", win.pad_left), ("channel_block", _channel_block(c))]
    if isinstance(p, OrtAveragePool):
        return lower_ort(node, fields + [("act_min", -128), ("act_max", 127)], p)
    if p.out_dtype == "float32":
        fields.append(("float_range", CArray.of("float", np.array(p.clamp, dtype=np.float32))))
    else:
        fields += [("act_min", int(p.clamp[0])), ("act_max", int(p.clamp[1]))]
    kind = "average_pool" if node.op == "AVERAGE_POOL_2D" else "max_pool"
    suffix = KERNEL_SUFFIX[p.out_dtype]
    return KernelCall(f"ariel_{kind}_{suffix}", "ariel_pool_params", tuple(fields),
                      (node.inputs[0], node.outputs[0]), "pool_f32.c" if suffix == "f32" else "pool.c")


def _register(name: str, evaluate) -> OpDef:
    return register(OpDef(name=name, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                          options_type=Pool2DOptions, tflite_options="Pool2DOptions", check=check,
                          work_items=work_items, lower=lower))


AVERAGE_POOL_2D = _register("AVERAGE_POOL_2D", evaluate_average)
MAX_POOL_2D = _register("MAX_POOL_2D", evaluate_max)
