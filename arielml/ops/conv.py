"""CONV_2D and DEPTHWISE_CONV_2D over NHWC tensors, bit-exact with TFLite's reference kernels.

Supported variants (anything else is rejected by `check`):
  - float32 activations and weights (float bias);
  - hybrid: float32 activations with int8 weights carrying quantisation parameters (zero point 0)
    compute as LiteRT does, bit for bit: the input quantised on the fly per batch (symmetric for
    CONV_2D with equal weight scales, asymmetric for differing scales and for DEPTHWISE_CONV_2D), an
    int32 accumulation, a float rescale (ops/hybrid.py; the asymmetric path matches LiteRT on finite
    inputs only). Hybrid weights with a non-zero zero point are dequantised once at prepare time and
    run in float, agreeing with LiteRT only within its input quantisation error;
  - int8 activations, int8 weights (per-tensor or per-channel scales, zero point 0), int32 bias;
  - legacy uint8: uint8 activations and uint8 weights with any zero points (per-tensor), int32 bias;
  - 16x8: int16 activations (zero point 0), int8 weights, int64 bias (int64 accumulator and the
    reduced-multiplier requantisation) or, for CONV_2D only, int32 bias declared by the options'
    quantized_bias_type (int32 accumulator, as TFLite templates it);
  - grouped CONV_2D (input channels a multiple of the weights' input channels), except hybrid.
Every variant has a C kernel in runtime/kernels/conv_s8.c or conv.c (`lower`); the 8-bit kernels get the
input offset folded into the bias at compile time.

Requantisation of int32 accumulators uses gemmlowp's double rounding under both semantics: LiteRT's
reference convolution kernels and TFLite Micro agree on it (measured; see tests/test_ops_conv.py).

The quantised accumulation runs as a float64 matrix product (BLAS). It is exact: every product
(x - x_zero_point) * (w - w_zero_point) is an integer of magnitude <= 255 * 255 < 2^16 (8-bit) or
2^15 * 2^7 = 2^22 (16x8), so every partial sum over a window of K = KH*KW*C_in taps stays below
2^22 * K, which float64 represents exactly while K < 2^31 (checked in `check`). The sum is converted
back to int64 before the bias and the requantisation."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.common import (PADDING_SAME, PADDING_VALID, Requant, Window2D, conv_requant, float_clamp,
                                ort_requant, padded_input, quantisation_problem, window_2d, window_columns, window_tap)
from arielml.ops.float_order import conv_in_order, depthwise_in_order, overflow_possible
from arielml.ops.hybrid import HYBRID_ASYM_MAX_WINDOW, HYBRID_MAX_WINDOW, hybrid_conv, hybrid_conv_per_channel
from arielml.ops.kernel_support import (bias_index, check_shifts, check_window, dequantised_weights,
                                        float_rq_field, folded_bias, requant_arrays, require_constant, rounding_code,
                                        rq_field)
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier_int64, wrap_int32
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported

MAX_EXACT_WINDOW = 1 << 31  # taps per output for which the float64 accumulation is exact (see above)


@dataclass(frozen=True)
class Conv2DOptions:
    padding: int = 0
    stride_w: int = 0
    stride_h: int = 0
    fused_activation_function: int = 0
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1
    # 16x8 only: the bias type LiteRT reads (schema TensorType; 0 = unset means int64)
    quantized_bias_type: int = 0
    # (top, bottom, left, right): a PAD folded in by passes/fold_pad.py (never read from a file)
    explicit_padding: tuple[int, ...] = field(default=(), metadata={"compiler_only": True})


@dataclass(frozen=True)
class DepthwiseConv2DOptions:
    padding: int = 0
    stride_w: int = 0
    stride_h: int = 0
    depth_multiplier: int = 0
    fused_activation_function: int = 0
    dilation_w_factor: int = 1
    dilation_h_factor: int = 1
    explicit_padding: tuple[int, ...] = field(default=(), metadata={"compiler_only": True})  # as Conv2DOptions


@dataclass(frozen=True)
class ConvParams:
    window: Window2D
    out_shape: tuple[int, ...]
    out_dtype: str
    depthwise: bool
    groups: int = 1  # CONV_2D: input channels / weight input channels
    depth_multiplier: int = 1  # DEPTHWISE_CONV_2D: output channels / input channels
    input_zero_point: int = 0
    weight_zero_point: int = 0
    requant: Requant | None = None  # quantised models
    wide_accumulator: bool = False  # 16x8 with int64 bias: int64 accumulator, int64 requantisation
    clamp: tuple[float, float] | None = None  # float and hybrid models
    float_weights: np.ndarray | None = None  # hybrid models: weights dequantised at prepare time
    # per-tensor hybrid CONV_2D: the weight scale; the int8 weights are used as stored (exact, see ops/hybrid.py)
    hybrid_filter_scale: float | None = None
    # hybrid CONV_2D with differing per-channel scales, and hybrid DEPTHWISE_CONV_2D: the weight scale
    # of every output channel; the input is quantised asymmetrically (ops/hybrid.py)
    hybrid_channel_scales: np.ndarray | None = None


# ---- checks and shapes -----------------------------------------------------------------------------

_INT32, _INT64 = 2, 4  # schema TensorType codes
_QUANTISED = {("int8", "int8"), ("uint8", "uint8"), ("int16", "int8")}


def _tensors(node: Node, graph: Graph) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    bias = graph.tensor(node.inputs[2]) if len(node.inputs) > 2 else None
    return graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], bias, graph.tensors[node.outputs[0]]


def _window(node: Node, graph: Graph) -> Window2D:
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    o = node.options
    return window_2d(x.shape[1], x.shape[2], w.shape[1], w.shape[2], o.stride_h, o.stride_w, o.padding,
                     o.dilation_h_factor, o.dilation_w_factor, o.explicit_padding)


def _out_channels(node: Node, graph: Graph) -> int:
    w = graph.tensors[node.inputs[1]]
    return w.shape[3] if node.op == "DEPTHWISE_CONV_2D" else w.shape[0]


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    win = _window(node, graph)
    return [(x.shape[0], win.out_h, win.out_w, _out_channels(node, graph))]


def _is_hybrid(x: Tensor, w: Tensor) -> bool:
    return x.dtype == "float32" and w.dtype == "int8"


def check(node: Node, graph: Graph) -> None:
    if len(node.inputs) < 2 or len(node.outputs) != 1 or NO_TENSOR in node.inputs[:2]:
        raise unsupported(node, "expects an input, a weight tensor, an optional bias and one output")
    x, w, bias, out = _tensors(node, graph)
    if len(x.shape) != 4 or len(w.shape) != 4 or min(x.shape + w.shape) < 1:
        raise unsupported(node, f"needs a non-empty 4-D NHWC input and 4-D weights, got {x.shape} and {w.shape}")
    for t in (x, w, out):
        if problem := quantisation_problem(t):
            raise unsupported(node, problem)
    o = node.options
    if min(o.stride_h, o.stride_w, o.dilation_h_factor, o.dilation_w_factor) < 1:
        raise unsupported(node, f"strides ({o.stride_h}, {o.stride_w}) and dilations must be >= 1")
    if o.padding not in (PADDING_SAME, PADDING_VALID):
        raise unsupported(node, f"padding type {o.padding} is neither SAME nor VALID")
    fused_activation(node, o.fused_activation_function)
    win = _window(node, graph)
    if win.out_h < 1 or win.out_w < 1:
        raise unsupported(node, f"the {w.shape[1]}x{w.shape[2]} filter does not fit the {x.shape[1]}x{x.shape[2]} "
                                "input with VALID padding")
    channels = _out_channels(node, graph)
    if node.op == "DEPTHWISE_CONV_2D":
        if w.shape[0] != 1 or channels % x.shape[3]:
            raise unsupported(node, f"weights {w.shape} do not fit {x.shape[3]} input channels "
                                    "(expected [1, KH, KW, C*multiplier])")
    elif w.shape[3] < 1 or x.shape[3] % w.shape[3] or channels % (x.shape[3] // w.shape[3]):
        raise unsupported(node, f"weights {w.shape} do not fit {x.shape[3]} input channels")
    if win.taps * x.shape[3] >= MAX_EXACT_WINDOW:
        raise unsupported(node, "the convolution window is too large (>= 2^31 taps)")
    if bias is not None and bias.shape != (channels,):
        raise unsupported(node, f"bias shape {bias.shape} does not match {channels} output channels")
    _check_types(node, x, w, bias, out, channels)


def _check_types(node: Node, x: Tensor, w: Tensor, bias: Tensor | None, out: Tensor, channels: int) -> None:
    weight_axis = 3 if node.op == "DEPTHWISE_CONV_2D" else 0
    if x.dtype == "float32" and w.dtype == "float32":
        if out.dtype != "float32" or (bias is not None and bias.dtype != "float32"):
            raise unsupported(node, "a float32 convolution needs float32 bias and output")
        return
    if _is_hybrid(x, w):
        if out.dtype != "float32" or (bias is not None and bias.dtype != "float32"):
            raise unsupported(node, "a hybrid (int8 weights, float32 input) convolution needs float32 bias and output")
        if w.quant is None or not w.is_constant:
            raise unsupported(node, "hybrid int8 weights must be constant and carry quantisation parameters")
        _check_weight_scales(node, w, channels, weight_axis)
        if node.op == "CONV_2D" and x.shape[3] != w.shape[3]:
            raise unsupported(node, "grouped hybrid convolution is not supported (LiteRT rejects or mis-sizes it)")
        if node.op == "DEPTHWISE_CONV_2D" and len(w.quant.scale) != channels:
            raise unsupported(node, "hybrid depthwise weights must be quantised per channel (as LiteRT requires)")
        mode = _hybrid_mode(node, w)
        taps = w.shape[1] * w.shape[2] * (1 if node.op == "DEPTHWISE_CONV_2D" else w.shape[3])
        limit = HYBRID_MAX_WINDOW if mode == "symmetric" else HYBRID_ASYM_MAX_WINDOW
        if mode is not None and taps > limit:
            raise unsupported(node, f"the hybrid convolution window has more than {limit} taps "
                                    "(LiteRT's int32 accumulator could overflow)")
        return
    if (x.dtype, w.dtype) not in _QUANTISED or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {w.dtype} weights and {out.dtype} output is not supported "
                                "(supported: float32, hybrid float32/int8, int8, uint8, int16 with int8 weights)")
    if x.quant is None or w.quant is None or out.quant is None or x.quant.per_channel or out.quant.per_channel:
        raise unsupported(node, "quantised input, weights and output need quantisation parameters "
                                "(per-tensor for input and output)")
    _check_weight_scales(node, w, channels, weight_axis)
    if x.dtype == "uint8" and w.quant.per_channel:
        raise unsupported(node, "uint8 weights must be quantised per tensor")
    if w.dtype == "int8" and any(z != 0 for z in w.quant.zero_point):
        raise unsupported(node, "int8 weights must have zero point 0 (TFLite's quantisation spec)")
    if x.dtype == "int16" and (x.quant.single_zero_point != 0 or out.quant.single_zero_point != 0):
        raise unsupported(node, "int16 input and output must have zero point 0")
    wanted_bias = ("int32", "int64") if x.dtype == "int16" and node.op == "CONV_2D" else \
        ("int64",) if x.dtype == "int16" else ("int32",)
    if bias is not None and bias.dtype not in wanted_bias:
        raise unsupported(node, f"{x.dtype} {node.op} needs {' or '.join(wanted_bias)} bias, got {bias.dtype}")
    if x.dtype == "int16" and node.op == "CONV_2D":
        # LiteRT picks the 16x8 accumulator from the options, not from the bias tensor: an int32 bias
        # without quantized_bias_type=INT32 would be read as int64 (garbage), so we refuse it.
        declared = {0: "int64", _INT32: "int32", _INT64: "int64"}.get(node.options.quantized_bias_type)
        if bias is not None and declared != bias.dtype:
            raise unsupported(node, f"{bias.dtype} bias but the options declare quantized_bias_type "
                                    f"{node.options.quantized_bias_type}; re-export the model")


def _hybrid_mode(node: Node, w: Tensor) -> str | None:
    """How LiteRT quantises a hybrid convolution's input, which arielml then reproduces exactly
    (ops/hybrid.py): "symmetric" for CONV_2D whose weight scales are all equal (LiteRT takes its
    per-tensor path then), "asymmetric" for CONV_2D with differing scales and for DEPTHWISE_CONV_2D;
    None (weights dequantised instead) for weights with a non-zero zero point."""
    if w.quant is None or any(z != 0 for z in w.quant.zero_point):
        return None
    if node.op == "CONV_2D" and len(set(w.quant.scale)) == 1:
        return "symmetric"
    return "asymmetric"


def _check_weight_scales(node: Node, w: Tensor, channels: int, axis: int) -> None:
    if w.quant.per_channel and (len(w.quant.scale) != channels or w.quant.axis != axis):
        raise unsupported(node, f"per-channel weight quantisation needs {channels} scales along axis {axis}, "
                                f"got {len(w.quant.scale)} along axis {w.quant.axis}")


def macs(node: Node, graph: Graph) -> int:
    """One multiply-accumulate per weight use."""
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    n, out_h, out_w, channels = graph.tensors[node.outputs[0]].shape
    per_output = w.shape[1] * w.shape[2] * (1 if node.op == "DEPTHWISE_CONV_2D" else w.shape[3])
    return n * out_h * out_w * channels * per_output


# ---- prepare ---------------------------------------------------------------------------------------

def prepare(node: Node, graph: Graph, semantics: Semantics) -> ConvParams:
    x, w, bias, out = _tensors(node, graph)
    activation = fused_activation(node, node.options.fused_activation_function)
    depthwise = node.op == "DEPTHWISE_CONV_2D"
    channels = _out_channels(node, graph)
    common = dict(window=_window(node, graph), out_shape=tuple(infer_shapes(node, graph)[0]), out_dtype=out.dtype,
                  depthwise=depthwise, groups=1 if depthwise else x.shape[3] // w.shape[3],
                  depth_multiplier=channels // x.shape[3] if depthwise else 1)
    if x.dtype == "float32":
        mode = _hybrid_mode(node, w) if _is_hybrid(x, w) else None
        if mode is not None:
            # float_weights kept for what reads the weights' values (tests bound the error of the
            # dequantising paths with them); these paths compute with the int8 weights
            exact = dict(hybrid_filter_scale=float(w.quant.scale[0])) if mode == "symmetric" else \
                dict(hybrid_channel_scales=np.asarray(w.quant.scale, np.float32))
            return ConvParams(**common, clamp=float_clamp(activation), float_weights=dequantised_weights(w), **exact)
        hybrid = dequantised_weights(w) if _is_hybrid(x, w) else None
        return ConvParams(**common, clamp=float_clamp(activation), float_weights=hybrid)
    if semantics.name == "onnxruntime" and x.dtype in ("int8", "uint8"):  # MLAS's float32 requantisation
        return ConvParams(**common, input_zero_point=x.quant.single_zero_point,
                          weight_zero_point=w.quant.zero_point[0], requant=ort_requant(x, w, out, activation))
    # Both LiteRT's reference kernels and TFLite Micro requantise convolutions with gemmlowp's double
    # rounding (measured: single rounding differs from LiteRT by 1 on every int8 zoo conv model),
    # so the semantics does not change the rounding here.
    requant = replace(conv_requant(x, w, out, activation, semantics), rounding=DOUBLE_ROUNDING)
    wide = x.dtype == "int16" and (bias.dtype == "int64" if bias is not None
                                   else node.op == "DEPTHWISE_CONV_2D" or node.options.quantized_bias_type != _INT32)
    return ConvParams(**common, input_zero_point=x.quant.single_zero_point, weight_zero_point=w.quant.zero_point[0],
                      requant=requant, wide_accumulator=wide)


# ---- evaluate --------------------------------------------------------------------------------------

def _conv_sum(x: np.ndarray, w: np.ndarray, p: ConvParams) -> np.ndarray:
    """float64 sum over the window of x * w; x (N,H,W,C) already offset so that padding is 0."""
    cols = window_columns(x, p.window, 0.0)  # (N, OH, OW, taps, C)
    n, out_h, out_w, taps, c = cols.shape
    out_channels = w.shape[0]
    if p.groups == 1:
        return (cols.reshape(-1, taps * c) @ w.reshape(out_channels, -1).T).reshape(n, out_h, out_w, out_channels)
    group_in, group_out = c // p.groups, out_channels // p.groups
    cols = cols.reshape(-1, taps, p.groups, group_in)
    result = np.empty((cols.shape[0], out_channels))
    for g in range(p.groups):
        result[:, g * group_out:(g + 1) * group_out] = (
            cols[:, :, g, :].reshape(-1, taps * group_in)
            @ w[g * group_out:(g + 1) * group_out].reshape(group_out, -1).T)
    return result.reshape(n, out_h, out_w, out_channels)


def _depthwise_sum(x: np.ndarray, w: np.ndarray, p: ConvParams) -> np.ndarray:
    """Sum over the taps of x[c] * w[c*M + m]; output channel c*M + m as in TFLite."""
    xp = padded_input(x, p.window, 0)
    n, c = x.shape[0], x.shape[3]
    weights = w.reshape(p.window.filter_h, p.window.filter_w, c, p.depth_multiplier)
    acc = np.zeros((n, p.window.out_h, p.window.out_w, c, p.depth_multiplier), dtype=x.dtype)
    for i in range(p.window.filter_h):
        for j in range(p.window.filter_w):
            acc += window_tap(xp, p.window, i, j)[..., None] * weights[i, j]
    return acc.reshape(n, p.window.out_h, p.window.out_w, c * p.depth_multiplier)


def _window_sum(x: np.ndarray, w: np.ndarray, p: ConvParams) -> np.ndarray:
    return _depthwise_sum(x, w, p) if p.depthwise else _conv_sum(x, w, p)


def _float_overflow_possible(x: np.ndarray, weights: np.ndarray, bias, p: ConvParams) -> bool:
    magnitudes = np.abs(weights.astype(np.float64))
    per_output = magnitudes.reshape(-1, magnitudes.shape[-1]).sum(axis=0) if p.depthwise \
        else magnitudes.reshape(magnitudes.shape[0], -1).sum(axis=1)
    return overflow_possible(x, per_output, bias)


def evaluate(p: ConvParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    if p.hybrid_filter_scale is not None:
        return [hybrid_conv(x, w, p.hybrid_filter_scale, bias, p.window, p.clamp)]
    if p.hybrid_channel_scales is not None:
        return [hybrid_conv_per_channel(x, w, p.hybrid_channel_scales, bias, p.window, p.clamp,
                                        p.depth_multiplier if p.depthwise else 0)]
    if p.requant is None:  # float32 or hybrid: accumulate in float64, round once to float32
        weights = p.float_weights if p.float_weights is not None else w
        if p.depthwise:  # few taps per output: LiteRT's float32 order costs little and is bit-exact
            acc = depthwise_in_order(x, weights, bias, p.window, p.depth_multiplier)
            return [np.clip(acc, *p.clamp).astype(np.float32)]
        if _float_overflow_possible(x, weights, bias, p):  # LiteRT's order decides inf and NaN
            acc = conv_in_order(x, weights, bias, p.window, p.groups)
            return [np.clip(acc, *p.clamp).astype(np.float32)]
        acc = _window_sum(x.astype(np.float64), weights.astype(np.float64), p)
        if bias is not None:
            acc = acc + bias.astype(np.float64)
        return [np.clip(acc.astype(np.float32), *p.clamp).astype(np.float32)]
    if p.depthwise:  # few taps per output: int64 elementwise is as fast as BLAS here
        acc = _depthwise_sum(x.astype(np.int64) - p.input_zero_point, w.astype(np.int64) - p.weight_zero_point, p)
    else:  # exact in float64, see the module docstring
        acc = _conv_sum(x.astype(np.float64) - p.input_zero_point,
                        w.astype(np.float64) - p.weight_zero_point, p).astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    r = p.requant
    if p.wide_accumulator:
        scaled = multiply_by_quantized_multiplier_int64(acc, r.multiplier, r.shift)
        y = np.clip(scaled + r.output_zero_point, r.clamp_min, r.clamp_max)
    else:
        y = r.apply(wrap_int32(acc))  # the C accumulator is int32 and wraps
    return [y.astype(p.out_dtype)]


# ---- C lowering (runtime/kernels/conv_s8.c, conv.c) -------------------------------------------------------------

CHANNEL_BLOCK = 16  # output channels per work item (ARIEL_CONV_MAX_CHANNEL_BLOCK)
DW_MAX_TAPS = 64  # filter taps of the repacked int8 depthwise kernel (DW_MAX_TAPS in ariel_conv_q8_portable.h)


MIN_WORK_ITEMS = 8  # enough for the scheduler to balance two to four cores


def channel_block(rows: int, out_c: int) -> int:
    """Output channels per work item: CHANNEL_BLOCK, or fewer (multiples of 4, which the SIMD kernels
    take whole) when an output of few rows (a band of rows, passes/bands.py; a small map) would
    otherwise leave fewer than MIN_WORK_ITEMS work items to share among cores."""
    block = min(out_c, CHANNEL_BLOCK)
    while block > 4 and rows * -(-out_c // block) < MIN_WORK_ITEMS:
        block -= 4
    return block


def work_items(node: Node, graph: Graph) -> int:
    """Output rows (batch folded in) x blocks of channel_block output channels."""
    n, out_h, _, out_c = graph.tensors[node.outputs[0]].shape
    return n * out_h * -(-out_c // channel_block(n * out_h, out_c))


def _geometry_fields(x: Tensor, out: Tensor, p: ConvParams) -> tuple[tuple[str, int], ...]:
    win = p.window
    values = dict(in_h=x.shape[1], in_w=x.shape[2], in_c=x.shape[3], out_h=out.shape[1], out_w=out.shape[2],
                  out_c=out.shape[3], filter_h=win.filter_h, filter_w=win.filter_w, stride_h=win.stride_h,
                  stride_w=win.stride_w, dilation_h=win.dilation_h, dilation_w=win.dilation_w,
                  pad_top=win.pad_top, pad_left=win.pad_left, groups=p.groups, depth_multiplier=p.depth_multiplier,
                  channel_block=channel_block(out.shape[0] * out.shape[1], out.shape[3]))
    return tuple((f"g.{name}", int(v)) for name, v in values.items())


def _weight_sums(w: Tensor, p: ConvParams) -> np.ndarray:
    """sum(w + weight_offset) per output channel, over all its taps (and input channels)."""
    wq = w.data.astype(np.int64) - p.weight_zero_point
    return wq.reshape(-1, wq.shape[3]).sum(axis=0) if p.depthwise else wq.reshape(wq.shape[0], -1).sum(axis=1)


def _per_channel(r: Requant, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """multiplier and shift of every output channel (the 8-bit kernels index records by channel)."""
    return (np.broadcast_to(r.multiplier.ravel(), (channels,)) if r.multiplier.size == 1 else r.multiplier,
            np.broadcast_to(r.shift.ravel(), (channels,)) if r.shift.size == 1 else r.shift)


def lower(node: Node, graph: Graph, p: ConvParams) -> KernelCall:
    x, w, bias, out = _tensors(node, graph)
    require_constant(node, w, bias)
    name = "depthwise_conv" if p.depthwise else "conv"
    geometry = _geometry_fields(x, out, p)
    buffers = (node.inputs[0], node.inputs[1], bias_index(node), node.outputs[0])
    if p.hybrid_filter_scale is not None:  # int8 weights as stored, input quantised in the kernel
        fields = geometry + (("act_min", float(p.clamp[0])), ("act_max", float(p.clamp[1])),
                             ("filter_scale", float(p.hybrid_filter_scale)))
        return KernelCall("ariel_conv_hybrid_f32", "ariel_conv_hybrid_params", fields, buffers, "hybrid_f32.c")
    if p.hybrid_channel_scales is not None:  # asymmetric input quantisation, per-channel rescale
        fields = geometry + (("act_min", float(p.clamp[0])), ("act_max", float(p.clamp[1])),
                             ("channel_scales", CArray.of("float", p.hybrid_channel_scales)))
        return KernelCall(f"ariel_{name}_hybrid_pc_f32", "ariel_conv_hybrid_pc_params", fields, buffers,
                          "hybrid_f32.c")
    if p.requant is None:  # float32, or hybrid with the weights dequantised by prepare
        hybrid = p.float_weights is not None
        fields = geometry + (("act_min", float(p.clamp[0])), ("act_max", float(p.clamp[1])),
                             ("weights", CArray.of("float", p.float_weights) if hybrid else 0))
        if hybrid:
            buffers = (buffers[0], NO_TENSOR, *buffers[2:])
        return KernelCall(f"ariel_{name}_f32", "ariel_conv_f32_params", fields, buffers, "conv_f32.c")
    r = p.requant
    if r.float_scale is not None:
        return _lower_float_requant(node, x, w, bias, out, p, geometry, buffers)
    common = geometry + (("output_zero_point", r.output_zero_point), ("act_min", r.clamp_min),
                         ("act_max", r.clamp_max), ("rounding", rounding_code(r.rounding))) + requant_arrays(r)
    if x.dtype in ("int8", "uint8"):
        check_shifts(node, r.shift)
        check_window(node, x.dtype, p.window.taps * (1 if p.depthwise else w.shape[3]))
        bias_fold = folded_bias(bias, _weight_sums(w, p), p.input_zero_point)
        if r.rounding != DOUBLE_ROUNDING:  # ariel_rq without an accumulator clamp: exact for double rounding
            raise no_kernel(node, "8-bit convolutions requantise with double rounding only")
        fields = common + (("input_zero_point", p.input_zero_point), ("weight_offset", -p.weight_zero_point),
                           ("bias", bias_fold),
                           rq_field(*_per_channel(r, out.shape[3]), r.rounding))
        weights = buffers[1]
        if p.depthwise and x.dtype == "int8" and p.depth_multiplier == 1 and p.window.taps <= DW_MAX_TAPS:
            # channel-major [out_c][filter_h * filter_w] for depthwise_dm1_s8 (ariel_conv_q8_portable.h), which
            # then reads no other copy of the weights
            fields += (("packed_weights", CArray.of("int8_t", w.data.reshape(-1, w.shape[3]).T)),)
            weights = NO_TENSOR
        suffix, source = ("s8", "conv_s8.c") if x.dtype == "int8" else ("u8", "conv.c")
        return KernelCall(f"ariel_{name}_{suffix}", "ariel_conv_params", fields,
                          (buffers[0], weights, NO_TENSOR, buffers[3]), source)
    # 16x8: int64 requantisation needs 15 - shift in 1..46
    check_shifts(node, r.shift, hi=14 if p.wide_accumulator else 30)
    fields = common + (("wide", int(p.wide_accumulator)),
                       ("bias_is_int64", int(bias is not None and bias.dtype == "int64")))
    return KernelCall(f"ariel_{name}_s16", "ariel_conv_params", fields, buffers, "conv.c")


def _lower_float_requant(node, x, w, bias, out, p: ConvParams, geometry, buffers) -> KernelCall:
    """semantics "onnxruntime": the portable int8 loops with MLAS's float32 requantisation
    (kernels/conv_s8_float_requant.c; no ISA-specific variant)."""
    r = p.requant
    if x.dtype != "int8":
        raise no_kernel(node, f"{x.dtype} convolutions with onnxruntime's requantisation (int8 only)")
    check_window(node, x.dtype, p.window.taps * (1 if p.depthwise else w.shape[3]))
    fields = geometry + (("output_zero_point", r.output_zero_point), ("act_min", r.clamp_min),
                         ("act_max", r.clamp_max), ("rounding", 0), ("per_channel", int(r.float_scale.size > 1)),
                         ("input_zero_point", p.input_zero_point), ("weight_offset", -p.weight_zero_point),
                         ("bias", folded_bias(bias, _weight_sums(w, p), p.input_zero_point)),
                         float_rq_field(r.float_scale, out.shape[3]))
    weights = buffers[1]
    if p.depthwise and p.depth_multiplier == 1 and p.window.taps <= DW_MAX_TAPS:
        fields += (("packed_weights", CArray.of("int8_t", w.data.reshape(-1, w.shape[3]).T)),)
        weights = NO_TENSOR
    name = "depthwise_conv" if p.depthwise else "conv"
    return KernelCall(f"ariel_{name}_s8_fq", "ariel_conv_params", fields, (buffers[0], weights, NO_TENSOR, buffers[3]),
                      "conv_s8_float_requant.c")


CONV_2D = register(OpDef(
    name="CONV_2D", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=Conv2DOptions, tflite_options="Conv2DOptions", macs=macs, check=check,
    work_items=work_items, lower=lower))

DEPTHWISE_CONV_2D = register(OpDef(
    name="DEPTHWISE_CONV_2D", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=DepthwiseConv2DOptions, tflite_options="DepthwiseConv2DOptions", macs=macs, check=check,
    work_items=work_items, lower=lower))
