"""FULLY_CONNECTED: y = x · Wᵀ + b over the last input dimension.

Variants: int8 (per-tensor or per-channel weights), legacy uint8 (weight zero point), int16
activations with int8 weights (int64 accumulator), float32 (summed in float32 in LiteRT's order:
bit-exact), and hybrid (float32 activations with quantised int8 weights). Hybrid with per-tensor
int8 weights and symmetric input quantisation (LiteRT's default) is bit-exact: each row quantised on
the fly as LiteRT does (ops/hybrid.py). Other hybrid weights are dequantised once at prepare time;
LiteRT quantises the activations on the fly instead, so those agree with it within that
quantisation error. Each has a C kernel in runtime/kernels/ (`lower`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node
from arielml.ops.common import Requant, conv_requant, float_clamp, ort_requant, quantisation_problem
from arielml.ops.float_order import fully_connected_in_order
from arielml.ops.hybrid import HYBRID_MAX_WINDOW, VECTOR_BOUNDS, hybrid_fully_connected
from arielml.ops.kernel_support import (bias_index, check_shifts, check_window, dequantised_weights, float_rq_field,
                                        folded_bias, requant_arrays, require_constant, rounding_code, rq_field,
                                        single_rounding_acc_limit)
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported


@dataclass(frozen=True)
class FullyConnectedOptions:
    fused_activation_function: int = 0
    weights_format: int = 0
    keep_num_dims: bool = False
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class FullyConnectedParams:
    out_shape: tuple[int, ...]
    out_dtype: str
    input_zero_point: int = 0
    weight_zero_point: int = 0
    requant: Requant | None = None  # quantised models
    clamp: tuple[float, float] | None = None  # float models
    float_weights: np.ndarray | None = None  # hybrid models: weights dequantised at prepare time
    # exact hybrid (per-tensor int8 weights, symmetric input quantisation): the weight scale and the
    # activation's name (LiteRT's vector activation, see ops/hybrid.py); the int8 weights as stored
    hybrid_filter_scale: float | None = None
    activation: str = "NONE"


def _units_and_depth(node: Node, graph: Graph) -> tuple[int, int]:
    weights = graph.tensors[node.inputs[1]]
    return weights.shape[0], weights.shape[-1]


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    units, depth = _units_and_depth(node, graph)
    if node.options.keep_num_dims:
        return [x.shape[:-1] + (units,)]
    return [(x.num_elements // depth, units)]


def check(node: Node, graph: Graph) -> None:
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    if node.options.weights_format != 0:
        raise unsupported(node, "shuffled weight formats are not supported")
    if len(w.shape) != 2 or x.num_elements % w.shape[-1]:
        raise unsupported(node, f"input {x.shape} does not match weights {w.shape}")
    if x.dtype not in ("int8", "uint8", "int16", "float32"):
        raise unsupported(node, f"{x.dtype} input is not supported")
    if x.dtype == "float32" and w.dtype != "float32" and (w.quant is None or not w.is_constant):
        raise unsupported(node, f"hybrid {w.dtype} weights must be constant and carry quantisation parameters")
    out = graph.tensors[node.outputs[0]]
    if x.dtype != "float32":
        for t in (x, w, out):
            if t.quant is None:
                raise unsupported(node, f"quantised tensor '{t.name}' has no quantisation parameters")
        if len(w.quant.scale) not in (1, w.shape[0]):
            raise unsupported(node, f"weights have {len(w.quant.scale)} scales for {w.shape[0]} output units")
    for t in (x, w, out):
        if problem := quantisation_problem(t):
            raise unsupported(node, problem)
    bias = graph.tensor(node.inputs[2]) if len(node.inputs) > 2 else None
    if bias is not None and bias.num_elements != w.shape[0]:
        raise unsupported(node, f"bias has {bias.num_elements} values for {w.shape[0]} output units")
    fused_activation(node, node.options.fused_activation_function)


def _exact_hybrid(node: Node, graph: Graph) -> bool:
    """Hybrid FULLY_CONNECTED computed as LiteRT does: float32 input, int8 weights with one scale
    and zero point 0, symmetric input quantisation, a window the int32 accumulator holds."""
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    return (x.dtype == "float32" and w.dtype == "int8" and w.quant is not None and len(w.quant.scale) == 1
            and w.quant.zero_point[0] == 0 and not node.options.asymmetric_quantize_inputs
            and w.shape[-1] <= HYBRID_MAX_WINDOW)


def prepare(node: Node, graph: Graph, semantics: Semantics) -> FullyConnectedParams:
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    out = graph.tensors[node.outputs[0]]
    activation = fused_activation(node, node.options.fused_activation_function)
    shape = tuple(infer_shapes(node, graph)[0])
    if out.dtype == "float32":
        if _exact_hybrid(node, graph):
            # float_weights kept for what reads the weights' values (error bounds in tests)
            return FullyConnectedParams(shape, out.dtype, clamp=float_clamp(activation),
                                        float_weights=dequantised_weights(w),
                                        hybrid_filter_scale=float(w.quant.scale[0]), activation=activation)
        hybrid = dequantised_weights(w) if w.dtype != "float32" else None
        return FullyConnectedParams(shape, out.dtype, clamp=float_clamp(activation), float_weights=hybrid)
    onnxruntime = semantics.name == "onnxruntime" and x.dtype in ("int8", "uint8")  # MLAS's float32 requantisation
    return FullyConnectedParams(shape, out.dtype, input_zero_point=x.quant.single_zero_point,
                                weight_zero_point=w.quant.zero_point[0],
                                requant=ort_requant(x, w, out, activation) if onnxruntime
                                else conv_requant(x, w, out, activation, semantics))


def evaluate(p: FullyConnectedParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    depth = w.shape[-1]
    rows = x.reshape(-1, depth)
    if p.hybrid_filter_scale is not None:
        y = hybrid_fully_connected(rows, w, p.hybrid_filter_scale, bias, p.activation)
        return [y.reshape(p.out_shape)]
    if p.requant is None:
        weights = p.float_weights if p.float_weights is not None else w
        # float32 in LiteRT's order (one multiply-add per depth step over all rows and units at
        # once): bit-exact with its reference kernel and with the C kernel, also for inf and NaN
        y = np.clip(fully_connected_in_order(rows, weights, bias), *p.clamp).astype(np.float32)
        return [y.reshape(p.out_shape)]
    acc = (rows.astype(np.int64) - p.input_zero_point) @ (w.astype(np.int64) - p.weight_zero_point).T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    y = p.requant.apply(acc)
    return [y.astype(p.out_dtype).reshape(p.out_shape)]


def macs(node: Node, graph: Graph) -> int:
    units, depth = _units_and_depth(node, graph)
    rows = graph.tensors[node.inputs[0]].num_elements // depth
    return rows * units * depth


# ---- C lowering -----------------------------------------------------------------------------------

def work_items(node: Node, graph: Graph) -> int:
    return graph.tensors[node.outputs[0]].num_elements  # one item per output element (row, unit)


def lower(node: Node, graph: Graph, p: FullyConnectedParams) -> KernelCall:
    x, w, out = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]
    bias = graph.tensor(bias_index(node))
    require_constant(node, w, bias)
    units, depth = w.shape
    shape = (("rows", out.num_elements // units), ("units", units), ("depth", depth))
    buffers = (node.inputs[0], node.inputs[1], bias_index(node), node.outputs[0])
    if p.hybrid_filter_scale is not None:  # int8 weights as stored, rows quantised in the kernel
        if bias is not None and bias.dtype != "float32":
            raise no_kernel(node, f"hybrid FULLY_CONNECTED with {bias.dtype} bias")
        lo, hi = VECTOR_BOUNDS[p.activation]
        fields = shape + (("has_min", int(lo is not None)), ("has_max", int(hi is not None)),
                          ("act_min", float(lo or 0.0)), ("act_max", float(hi or 0.0)),
                          ("filter_scale", float(p.hybrid_filter_scale)))
        return KernelCall("ariel_fully_connected_hybrid_f32", "ariel_fully_connected_hybrid_params", fields,
                          buffers, "hybrid_f32.c")
    if p.requant is None:
        if bias is not None and bias.dtype != "float32":
            raise no_kernel(node, f"float32 FULLY_CONNECTED with {bias.dtype} bias")
        hybrid = p.float_weights is not None
        fields = shape + (("act_min", float(p.clamp[0])), ("act_max", float(p.clamp[1])),
                          ("weights", CArray.of("float", p.float_weights) if hybrid else 0))
        if hybrid:
            buffers = (buffers[0], NO_TENSOR, *buffers[2:])
        return KernelCall("ariel_fully_connected_f32", "ariel_fully_connected_f32_params", fields, buffers,
                          "fully_connected_f32.c")
    r = p.requant
    if r.float_scale is not None:  # semantics "onnxruntime": kernels/conv_s8_float_requant.c
        if not (x.dtype == w.dtype == out.dtype == "int8") or (bias is not None and bias.dtype != "int32"):
            raise no_kernel(node, "onnxruntime's requantisation runs int8 FULLY_CONNECTED with int32 bias only")
        check_window(node, "uint8" if p.weight_zero_point else x.dtype, depth)
        weight_sums = (w.data.astype(np.int64) - p.weight_zero_point).sum(axis=1)
        fields = shape + (("weight_offset", -p.weight_zero_point), ("output_zero_point", r.output_zero_point),
                          ("act_min", r.clamp_min), ("act_max", r.clamp_max), ("rounding", 0),
                          ("per_channel", int(r.float_scale.size > 1)),
                          ("bias", folded_bias(bias, weight_sums, p.input_zero_point)),
                          float_rq_field(r.float_scale, units), ("acc_limit", (1 << 31) - 1))
        return KernelCall("ariel_fully_connected_s8_fq", "ariel_fully_connected_q8_params", fields,
                          (buffers[0], buffers[1], NO_TENSOR, buffers[3]), "conv_s8_float_requant.c")
    check_shifts(node, r.shift)
    output = (("output_zero_point", r.output_zero_point), ("act_min", r.clamp_min), ("act_max", r.clamp_max),
              ("rounding", rounding_code(r.rounding)))
    if x.dtype in ("int8", "uint8") and w.dtype == x.dtype and out.dtype == x.dtype:
        if bias is not None and bias.dtype != "int32":
            raise no_kernel(node, f"{x.dtype} FULLY_CONNECTED with {bias.dtype} bias")
        check_window(node, "uint8" if p.weight_zero_point else x.dtype, depth)  # |w + offset| may reach 255
        weight_sums = (w.data.astype(np.int64) - p.weight_zero_point).sum(axis=1)
        fields = shape + (("weight_offset", -p.weight_zero_point),) + output + requant_arrays(r) + (
            ("bias", folded_bias(bias, weight_sums, p.input_zero_point)), rq_field(r.multiplier, r.shift, r.rounding),
            ("acc_limit", single_rounding_acc_limit(r.shift, r.rounding)))
        suffix, source = ("s8", "fully_connected_s8.c") if x.dtype == "int8" else ("u8", "fully_connected.c")
        folded_buffers = (buffers[0], buffers[1], NO_TENSOR, buffers[3])  # the bias lives in params.bias
        return KernelCall(f"ariel_fully_connected_{suffix}", "ariel_fully_connected_q8_params", fields,
                          folded_buffers, source)
    if x.dtype == "int16" and w.dtype == "int8" and out.dtype == "int16" and p.input_zero_point == 0 \
            and p.weight_zero_point == 0 and (bias is None or bias.dtype in ("int32", "int64")):
        fields = shape + output + requant_arrays(r) + (
            ("bias_is_int64", int(bias is not None and bias.dtype == "int64")),)
        return KernelCall("ariel_fully_connected_s16", "ariel_fully_connected_s16_params", fields, buffers,
                          "fully_connected.c")
    raise no_kernel(node, f"{x.dtype} input with {w.dtype} weights, {out.dtype} output"
                          f"{'' if bias is None else ', ' + bias.dtype + ' bias'}")


FULLY_CONNECTED = register(OpDef(
    name="FULLY_CONNECTED", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=FullyConnectedOptions, tflite_options="FullyConnectedOptions", macs=macs, check=check,
    work_items=work_items, lower=lower))
