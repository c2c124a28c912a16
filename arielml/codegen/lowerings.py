"""C lowerings of the built-in kernels: for each operator, how many work items it has and how its
prepared params fill the kernel's C params struct (declared in runtime/include/ariel_kernels.h).

They are attached to the registry with `extend` because the numpy references live in the family
modules of `arielml/ops`; a new operator may equally pass `work_items=` and `lower=` to its OpDef
directly (docs/runtime.md, "how to add a kernel")."""
from __future__ import annotations

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node
from arielml.ops.registry import extend

# largest dot product / window the int32 accumulators of the kernels hold exactly (see the C files)
MAX_FC_DEPTH = 33025  # 255 * 255 * depth < 2^31
MAX_CONV_WINDOW = 65793  # 255 * 128 * taps * channels < 2^31
CONV_CHANNEL_BLOCK = 16  # output channels per conv work item


def rounding_code(rounding: str) -> int:
    return 1 if rounding == "double" else 0


def _bias(node: Node) -> int:
    return node.inputs[2] if len(node.inputs) > 2 else NO_TENSOR


def _require_int8(node: Node, graph: Graph, what: str) -> None:
    x, w, out = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]
    bias = graph.tensor(_bias(node))
    if (x.dtype, w.dtype, out.dtype) != ("int8", "int8", "int8") or (bias is not None and bias.dtype != "int32"):
        raise no_kernel(node, f"only int8 {what} with int32 bias has a C kernel so far "
                              f"(got {x.dtype} input, {w.dtype} weights, {out.dtype} output)")
    if not w.is_constant or (bias is not None and not bias.is_constant):
        raise no_kernel(node, "weights and bias must be constant")


def _check_shifts(node: Node, shift: np.ndarray) -> None:
    if shift.size and (shift.max() > 30 or shift.min() < -31):
        raise no_kernel(node, f"requantisation shift {int(shift.max())} is outside the kernel's range -31..30")


# ---- FULLY_CONNECTED -------------------------------------------------------------------------

def fc_work_items(node: Node, graph: Graph) -> int:
    return graph.tensors[node.outputs[0]].num_elements  # one item per output neuron (and row)


def lower_fully_connected(node: Node, graph: Graph, p) -> KernelCall:
    _require_int8(node, graph, "FULLY_CONNECTED")
    units, depth = graph.tensors[node.inputs[1]].shape
    if depth > MAX_FC_DEPTH:
        raise no_kernel(node, f"depth {depth} could overflow the int32 accumulator (max {MAX_FC_DEPTH})")
    r = p.requant
    if r.multiplier.size != 1:
        raise no_kernel(node, "per-channel FULLY_CONNECTED quantisation")
    _check_shifts(node, r.shift)
    rows = graph.tensors[node.outputs[0]].num_elements // units
    fields = (("rows", rows), ("units", units), ("depth", depth), ("input_offset", -p.input_zero_point),
              ("weight_offset", -p.weight_zero_point), ("multiplier", int(r.multiplier[0])),
              ("shift", int(r.shift[0])), ("output_zero_point", r.output_zero_point), ("act_min", r.clamp_min),
              ("act_max", r.clamp_max), ("rounding", rounding_code(r.rounding)))
    return KernelCall("ariel_fully_connected_s8", "ariel_fully_connected_s8_params", fields,
                      (node.inputs[0], node.inputs[1], _bias(node), node.outputs[0]), "fully_connected.c")


# ---- CONV_2D and DEPTHWISE_CONV_2D ------------------------------------------------------------

def _channel_block(out_c: int) -> int:
    return min(out_c, CONV_CHANNEL_BLOCK)


def conv_work_items(node: Node, graph: Graph) -> int:
    n, out_h, _, out_c = graph.tensors[node.outputs[0]].shape
    return n * out_h * -(-out_c // _channel_block(out_c))


def lower_conv(node: Node, graph: Graph, p) -> KernelCall:
    _require_int8(node, graph, node.op)
    x, w, out = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]], graph.tensors[node.outputs[0]]
    if p.wide_accumulator or p.weight_zero_point != 0:
        raise no_kernel(node, "int64 accumulators or weight zero points")
    win = p.window
    group_in = 1 if p.depthwise else w.shape[3]
    if win.taps * group_in > MAX_CONV_WINDOW:
        raise no_kernel(node, f"a window of {win.taps * group_in} taps could overflow the int32 accumulator")
    out_c = out.shape[3]
    r = p.requant
    _check_shifts(node, r.shift)
    multiplier = np.broadcast_to(r.multiplier, (out_c,))
    shift = np.broadcast_to(r.shift, (out_c,))
    fields = (("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", x.shape[3]),
              ("out_h", out.shape[1]), ("out_w", out.shape[2]), ("out_c", out_c),
              ("filter_h", win.filter_h), ("filter_w", win.filter_w), ("stride_h", win.stride_h),
              ("stride_w", win.stride_w), ("dilation_h", win.dilation_h), ("dilation_w", win.dilation_w),
              ("pad_top", win.pad_top), ("pad_left", win.pad_left), ("groups", p.groups),
              ("depth_multiplier", p.depth_multiplier), ("channel_block", _channel_block(out_c)),
              ("input_offset", -p.input_zero_point), ("output_zero_point", r.output_zero_point),
              ("act_min", r.clamp_min), ("act_max", r.clamp_max), ("rounding", rounding_code(r.rounding)),
              ("multiplier", CArray.of("int32_t", multiplier)), ("shift", CArray.of("int32_t", shift)))
    kernel = "ariel_depthwise_conv_s8" if p.depthwise else "ariel_conv_s8"
    return KernelCall(kernel, "ariel_conv_s8_params", fields,
                      (node.inputs[0], node.inputs[1], _bias(node), node.outputs[0]), "conv.c")


extend("FULLY_CONNECTED", work_items=fc_work_items, lower=lower_fully_connected)
extend("CONV_2D", work_items=conv_work_items, lower=lower_conv)
extend("DEPTHWISE_CONV_2D", work_items=conv_work_items, lower=lower_conv)
for _view in ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"):
    extend(_view, view=True)
