"""TRANSPOSE_CONV over NHWC tensors, bit-exact with LiteRT's reference kernels.

Inputs (TFLite's order): the output shape (int32 [4]; when it is computed at run time its values
are not read and the file's output shape is used, as TFLite Micro does), the weights
[OC, KH, KW, IC], the input [N, H, W, IC], an optional bias [OC]. Dilation is always 1.

Supported variants (anything else is rejected by `check`):
  - float32 input, weights, bias and output;
  - int8 input and output, int8 weights (per-tensor or per-channel scales along axis 0, zero point 0),
    int32 bias: an int32 accumulator that wraps, as LiteRT's int32 scratch buffer does;
  - 16x8: int16 input and output (zero point 0), int8 weights, int64 bias (or none): an int64
    accumulator and the reduced-multiplier int64 requantisation (TFLM's int16x8 variant).

Padding: TFLite computes it as for a convolution that maps the *output* back to the input
(ComputePaddingHeightWidth over the output size), so an output pixel oy receives input row iy
through filter row ky = oy + pad_top - iy * stride_h.

LiteRT's reference kernel scatters: it walks input pixels (iy, ix) and input channels ic in
row-major order and adds input * filter into a zeroed output, then adds the bias. So one output
element sums its contributions in (iy, ix, ic) order, i.e. filter rows and columns in *descending*
order (iy grows as ky falls). The float32 reference and C kernel gather in exactly that order, one
float32 product and one float32 addition at a time, so float32 is bit-exact too. The integer sums
do not depend on the order (int32 wrap-around and int64 are associative).

The C kernel (runtime/kernels/transpose_conv.c) gathers: one work item is one output row (batch
folded in) times one block of output channels, like CONV_2D's."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.common import (PADDING_SAME, PADDING_VALID, Requant, conv_requant, float_clamp,
                                quantisation_problem, window_2d)
from arielml.ops.conv import channel_block
from arielml.ops.data_kernels import require_addressable
from arielml.ops.kernel_support import check_shifts, rq_field
from arielml.ops.quant_math import DOUBLE_ROUNDING, wrap_int32
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported
from arielml.ops.shape import constant_ints, input_tensor

_INT64_TYPE = 4  # schema TensorType INT64


@dataclass(frozen=True)
class TransposeConvOptions:
    padding: int = 0
    stride_w: int = 0
    stride_h: int = 0
    fused_activation_function: int = 0
    quantized_bias_type: int = 0


@dataclass(frozen=True)
class TransposeConvParams:
    out_shape: tuple[int, int, int, int]
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    out_dtype: str
    input_zero_point: int = 0
    requant: Requant | None = None  # int8 / int16
    clamp: tuple[float, float] | None = None  # float32


def _tensors(node: Node, graph: Graph) -> tuple[Tensor, Tensor, Tensor | None, Tensor]:
    weights = input_tensor(node, graph, 1, "weights")
    x = input_tensor(node, graph, 2, "data")
    bias = graph.tensor(node.inputs[3]) if len(node.inputs) > 3 else None
    return x, weights, bias, graph.tensors[node.outputs[0]]


def _out_shape(node: Node, graph: Graph) -> tuple[int, int, int, int]:
    """The output shape input's values; when that input is computed at run time (TFLite Micro's own
    int16 seanet models feed it as a graph input), the output tensor's shape in the file, which is
    what TFLite Micro uses (it never reads the values; LiteRT would resize the output to them)."""
    shape_tensor = input_tensor(node, graph, 0, "output shape")
    if shape_tensor.is_constant:
        shape = constant_ints(node, graph, 0, "output shape")
    elif shape_tensor.dtype == "int32" and shape_tensor.shape == (4,):
        shape = np.asarray(graph.tensors[node.outputs[0]].shape, dtype=np.int64)
    else:
        raise unsupported(node, f"the output shape input must be int32 [4], got {shape_tensor.dtype} "
                                f"{shape_tensor.shape}")
    x, w, _, _ = _tensors(node, graph)
    if len(shape) != 4 or len(x.shape) != 4 or len(w.shape) != 4:
        raise unsupported(node, f"needs a 4-D input, 4-D weights and a 4-element output shape, got {x.shape}, "
                                f"{w.shape} and {len(shape)} elements")
    if min(x.shape + w.shape) < 1 or min(shape) < 1:
        raise unsupported(node, "empty tensors are not supported")
    if shape[0] != x.shape[0] or shape[3] != w.shape[0] or x.shape[3] != w.shape[3]:
        raise unsupported(node, f"output shape {tuple(int(s) for s in shape)} does not fit input {x.shape} and "
                                f"weights {w.shape} (expected [N, H, W, OC] with weights [OC, KH, KW, IC])")
    return tuple(int(s) for s in shape)


def check(node: Node, graph: Graph) -> None:
    out_shape = _out_shape(node, graph)
    x, w, bias, out = _tensors(node, graph)
    o = node.options
    if min(o.stride_h, o.stride_w) < 1:
        raise unsupported(node, f"strides ({o.stride_h}, {o.stride_w}) must be >= 1")
    if o.padding not in (PADDING_SAME, PADDING_VALID):
        raise unsupported(node, f"padding type {o.padding} is neither SAME nor VALID")
    fused_activation(node, o.fused_activation_function)
    if bias is not None and bias.shape != (out_shape[3],):
        raise unsupported(node, f"bias shape {bias.shape} does not match {out_shape[3]} output channels")
    for t in (x, w, out):
        if problem := quantisation_problem(t):
            raise unsupported(node, problem)
    if x.dtype == "float32":
        if w.dtype != "float32" or out.dtype != "float32" or (bias is not None and bias.dtype != "float32"):
            raise unsupported(node, "a float32 transpose convolution needs float32 weights, bias and output "
                                    "(hybrid int8 weights are not supported)")
        return
    if (x.dtype, w.dtype) not in (("int8", "int8"), ("int16", "int8")) or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {w.dtype} weights and {out.dtype} output is not supported "
                                "(supported: float32, int8, int16 with int8 weights)")
    if x.quant is None or w.quant is None or out.quant is None or x.quant.per_channel or out.quant.per_channel:
        raise unsupported(node, "quantised input, weights and output need quantisation parameters "
                                "(per-tensor for input and output)")
    if w.quant.per_channel and (len(w.quant.scale) != out_shape[3] or w.quant.axis != 0):
        raise unsupported(node, f"per-channel weights need {out_shape[3]} scales along axis 0")
    if any(z != 0 for z in w.quant.zero_point):
        raise unsupported(node, "int8 weights must have zero point 0 (TFLite's quantisation spec)")
    if x.dtype == "int16":
        if x.quant.single_zero_point != 0 or out.quant.single_zero_point != 0:
            raise unsupported(node, "int16 input and output must have zero point 0")
        if bias is not None and bias.dtype != "int64":
            raise unsupported(node, f"int16 TRANSPOSE_CONV needs int64 bias, got {bias.dtype}")
    elif bias is not None and bias.dtype != "int32":
        raise unsupported(node, f"int8 TRANSPOSE_CONV needs int32 bias, got {bias.dtype}")


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_out_shape(node, graph)]


def macs(node: Node, graph: Graph) -> int:
    """One multiply-accumulate per (input pixel, filter tap, output channel, input channel) whose tap
    lands inside the output (counted per tap along each axis)."""
    x, w, _, _ = _tensors(node, graph)
    p = _geometry(node, graph)
    rows = sum(1 for iy in range(x.shape[1]) for ky in range(w.shape[1])
               if 0 <= iy * p[0] - p[2] + ky < p[4])
    cols = sum(1 for ix in range(x.shape[2]) for kx in range(w.shape[2])
               if 0 <= ix * p[1] - p[3] + kx < p[5])
    return x.shape[0] * rows * cols * w.shape[0] * w.shape[3]


def _geometry(node: Node, graph: Graph) -> tuple[int, int, int, int, int, int]:
    """(stride_h, stride_w, pad_top, pad_left, out_h, out_w)"""
    _, w, _, _ = _tensors(node, graph)
    _, out_h, out_w, _ = _out_shape(node, graph)
    o = node.options
    win = window_2d(out_h, out_w, w.shape[1], w.shape[2], o.stride_h, o.stride_w, o.padding)
    return o.stride_h, o.stride_w, win.pad_top, win.pad_left, out_h, out_w


def prepare(node: Node, graph: Graph, semantics: Semantics) -> TransposeConvParams:
    x, w, bias, out = _tensors(node, graph)
    stride_h, stride_w, pad_top, pad_left, _, _ = _geometry(node, graph)
    activation = fused_activation(node, node.options.fused_activation_function)
    common = dict(out_shape=_out_shape(node, graph), stride_h=stride_h, stride_w=stride_w, pad_top=pad_top,
                  pad_left=pad_left, out_dtype=out.dtype)
    if x.dtype == "float32":
        return TransposeConvParams(**common, clamp=float_clamp(activation))
    # Measured (tests/test_ops_transpose_conv.py): LiteRT's reference and TFLite Micro both requantise
    # the int32 accumulator with gemmlowp's double rounding, as for CONV_2D.
    requant = conv_requant(x, w, out, activation, semantics)
    requant = Requant(requant.multiplier, requant.shift, requant.output_zero_point, requant.clamp_min,
                      requant.clamp_max, DOUBLE_ROUNDING)
    return TransposeConvParams(**common, input_zero_point=x.quant.single_zero_point, requant=requant)


# --------------------------------------------------------------------------- numpy reference

def requantize_int64(acc: np.ndarray, multiplier: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier for int64 accumulators: the multiplier reduced to 16
    bits, one rounding. The result is NOT clamped to int32: the reference casts it (wraps), which
    measured LiteRT and TFLite Micro outputs show when a large bias meets a small output scale
    (quant_math.multiply_by_quantized_multiplier_int64 clamps instead). |acc| < 2^47 keeps the
    product inside int64 (the C kernel computes it modulo 2^64 either way)."""
    multiplier = np.asarray(multiplier, dtype=np.int64)
    reduced = np.where(multiplier < 0x7FFF0000, (multiplier + (1 << 15)) >> 16, 0x7FFF)
    total_shift = 15 - np.asarray(shift, dtype=np.int64)
    return (acc * reduced + (np.int64(1) << (total_shift - 1))) >> total_shift


def _tap_slices(p: TransposeConvParams, k: int, axis: int, in_size: int) -> tuple[slice, slice] | None:
    """(input slice, output slice) of filter tap k along axis 1 (rows) or 2 (columns): input index i
    lands on output index i * stride - pad + k; only those inside the output are kept."""
    stride, pad, out_size = (p.stride_h, p.pad_top, p.out_shape[1]) if axis == 1 else \
        (p.stride_w, p.pad_left, p.out_shape[2])
    first = max(0, -(-(pad - k) // stride))  # smallest i with i * stride - pad + k >= 0
    last = min(in_size - 1, (out_size - 1 + pad - k) // stride)
    if last < first:
        return None
    start = first * stride - pad + k
    return slice(first, last + 1), slice(start, start + (last - first) * stride + 1, stride)


def evaluate(p: TransposeConvParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    w, x = inputs[1], inputs[2]
    bias = inputs[3] if len(inputs) > 3 else None
    _, kh, kw, in_c = w.shape
    integer = p.requant is not None
    acc = np.zeros(p.out_shape, dtype=np.int64 if integer else np.float32)
    xs = x.astype(np.int64) - p.input_zero_point if integer else x
    # filter taps in descending order: LiteRT's scatter order for float32 (see the module docstring)
    for ky in reversed(range(kh)):
        rows = _tap_slices(p, ky, 1, x.shape[1])
        for kx in reversed(range(kw)):
            cols = _tap_slices(p, kx, 2, x.shape[2])
            if rows is None or cols is None:
                continue
            patch = xs[:, rows[0], cols[0], :]
            target = (slice(None), rows[1], cols[1], slice(None))
            if integer:  # exact in int64: |x| * |w| * in_c * taps < 2^63
                acc[target] += patch @ w[:, ky, kx, :].astype(np.int64).T
            else:
                with np.errstate(over="ignore", invalid="ignore"):
                    for ic in range(in_c):  # one float32 product and addition at a time
                        acc[target] += patch[..., ic:ic + 1] * w[:, ky, kx, ic]
    if not integer:
        with np.errstate(over="ignore", invalid="ignore"):
            if bias is not None:
                acc = acc + bias.astype(np.float32)
        return [np.clip(acc, *p.clamp).astype(np.float32)]
    r = p.requant
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    if p.out_dtype == "int16":
        y = np.clip(wrap_int32(requantize_int64(acc, r.multiplier, r.shift)), r.clamp_min, r.clamp_max)
    else:
        y = r.apply(wrap_int32(acc))  # LiteRT's int32 scratch buffer wraps
    return [y.astype(p.out_dtype)]


# --------------------------------------------------------------------------- C lowering

def work_items(node: Node, graph: Graph) -> int:
    """Output rows (batch folded in) x blocks of output channels."""
    n, out_h, _, out_c = _out_shape(node, graph)
    return n * out_h * -(-out_c // channel_block(n * out_h, out_c))


def lower(node: Node, graph: Graph, p: TransposeConvParams) -> KernelCall:
    x, w, bias, out = _tensors(node, graph)
    if not w.is_constant or (bias is not None and not bias.is_constant):
        raise no_kernel(node, "weights and bias must be constant")
    require_addressable(node, x, w, out)
    n, out_h, out_w, out_c = p.out_shape
    fields = [("batches", n), ("in_h", x.shape[1]), ("in_w", x.shape[2]), ("in_c", x.shape[3]), ("out_h", out_h),
              ("out_w", out_w), ("out_c", out_c), ("filter_h", w.shape[1]), ("filter_w", w.shape[2]),
              ("stride_h", p.stride_h), ("stride_w", p.stride_w), ("pad_top", p.pad_top), ("pad_left", p.pad_left),
              ("channel_block", channel_block(n * out_h, out_c))]
    buffers = (node.inputs[2], node.inputs[1], node.inputs[3] if bias is not None else NO_TENSOR, node.outputs[0])
    if p.requant is None:
        fields += [("float_min", float(p.clamp[0])), ("float_max", float(p.clamp[1]))]
        return KernelCall("ariel_transpose_conv_f32", "ariel_transpose_conv_params", tuple(fields), buffers,
                          "transpose_conv.c")
    r = p.requant
    multiplier = np.broadcast_to(r.multiplier.ravel(), (out_c,)) if r.multiplier.size == 1 else r.multiplier
    shift = np.broadcast_to(r.shift.ravel(), (out_c,)) if r.shift.size == 1 else r.shift
    # int64 requantisation: 15 - shift must stay in 1..46; int32: ariel_mul_double's range
    check_shifts(node, shift, hi=14 if p.out_dtype == "int16" else 30)
    fields += [("input_offset", -p.input_zero_point), ("output_zero_point", r.output_zero_point),
               ("act_min", r.clamp_min), ("act_max", r.clamp_max)]
    if p.out_dtype == "int8":
        if x.shape[3] >= 1 << 16:
            raise no_kernel(node, f"{x.shape[3]} input channels (the int8 kernel's exact dot products take < 65536)")
        # sum of the weights of every (oc, ky, kx): the input offset's share of a tap, folded once
        fields.append(("tap_weight_sums", CArray.of("int32_t", w.data.astype(np.int64).sum(axis=3))))
        # 32-bit requantisation records; exact without an accumulator clamp because rounding is double
        assert r.rounding == DOUBLE_ROUNDING
        fields.append(rq_field(multiplier, shift, r.rounding))
    else:  # int64 accumulator: multiplier and shift of every channel for the 16-bit reduced multiplier
        fields += [("multiplier", CArray.of("int32_t", multiplier)), ("shift", CArray.of("int32_t", shift))]
    suffix = "s8" if p.out_dtype == "int8" else "s16"
    return KernelCall(f"ariel_transpose_conv_{suffix}", "ariel_transpose_conv_params", tuple(fields), buffers,
                      "transpose_conv.c")


TRANSPOSE_CONV = register(OpDef(
    name="TRANSPOSE_CONV", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=TransposeConvOptions, tflite_options="TransposeConvOptions", macs=macs, check=check,
    work_items=work_items, lower=lower, num_inputs=(3, 4), num_outputs=(1, 1)))
