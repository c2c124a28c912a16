"""ADD_N: the sum of n inputs of one shape (no broadcasting), bit-exact with TFLite.

float32, measured: LiteRT starts from input 0 and clamps every partial sum to [-FLT_MAX, FLT_MAX]
(one ADD per further input: inf + -inf is NaN, 3e38 + 3e38 - 3e38 is 4.03e37); TFLite Micro
(`semantics="tflm"`) sums from 0 without a clamp. int32 (LiteRT) wraps in two's complement.
int8 (TFLite Micro): every input (one scale and zero point for all) minus the zero point, << 20,
scaled by 1/2, summed onto the scaled input offset itself (TFLite starts the sum from it, not from
0), rescaled by 2 scale / (2^20 output scale), both rounding twice (gemmlowp); + output zp.

C: kernels/add_n.c (int32, int8 through a 256-entry table of scaled values) and add_n_f32.c."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.binary_math import BINARY_ROUNDING, C_SUFFIX, check_quant, tensors_of, scaled_inputs
from arielml.ops.kernel_support import requant_records
from arielml.ops.pointwise_lowering import check_shift, element_work_items, range_fields
from arielml.ops.quant_math import multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from arielml.ops.registry import OpDef, Semantics, register, unsupported

ADD_N_TYPES = ("float32", "int32", "int8")
ADD_N_LEFT_SHIFT = 20


@dataclass(frozen=True)
class AddNParams:
    shape: tuple[int, ...]
    dtype: str
    inputs: int
    clamp: bool  # float32, LiteRT: each partial sum clamped to [-FLT_MAX, FLT_MAX]


@dataclass(frozen=True)
class QuantizedAddNParams:
    shape: tuple[int, ...]
    inputs: int
    input_offset: int
    input_multiplier: int
    input_shift: int
    output_multiplier: int
    output_shift: int
    output_offset: int
    rounding: str


def check_add_n(node: Node, graph: Graph) -> None:
    if len(node.inputs) < 2 or len(node.outputs) != 1 or NO_TENSOR in node.inputs:
        raise unsupported(node, "expects at least two inputs and one output")
    tensors = tensors_of(node, graph)
    first, out = tensors[0], tensors[-1]
    if any(t.dtype != first.dtype for t in tensors):
        raise unsupported(node, f"all inputs and the output must have one type (got {', '.join(t.dtype for t in tensors)})")
    if first.dtype not in ADD_N_TYPES:
        raise unsupported(node, f"{first.dtype} is not supported (supported: {', '.join(ADD_N_TYPES)})")
    if any(t.shape != first.shape for t in tensors[:-1]):
        raise unsupported(node, "all inputs must have one shape (ADD_N does not broadcast)")
    if first.dtype == "int8":
        for t in tensors:
            check_quant(node, t)
        if any(t.quant.single_scale != first.quant.single_scale or
               t.quant.single_zero_point != first.quant.single_zero_point for t in tensors[:-1]):
            raise unsupported(node, "int8 inputs must share one scale and zero point (as TFLite Micro requires)")
        if _add_n_output_real(first, out) >= 1.0:
            raise unsupported(node, f"output scale {out.quant.single_scale:g} is too small for input scale "
                                    f"{first.quant.single_scale:g} (TFLite needs 2 scale / (2^20 output scale) < 1)")
        # each scaled term is below 2^27 in magnitude; the int32 sum holds (inputs + 1) of them
        if len(node.inputs) + 1 > 15:
            raise unsupported(node, f"{len(node.inputs)} int8 inputs could overflow TFLite's int32 sum (at most 14)")


def _add_n_output_real(first: Tensor, out: Tensor) -> float:
    return 2.0 * first.quant.single_scale / ((1 << ADD_N_LEFT_SHIFT) * out.quant.single_scale)


def infer_add_n(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def prepare_add_n(node: Node, graph: Graph, semantics: Semantics):
    first, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if first.dtype != "int8":
        return AddNParams(first.shape, first.dtype, len(node.inputs), semantics.name != "tflm")
    (mi, si), (mo, so) = quantize_multiplier(0.5), quantize_multiplier(_add_n_output_real(first, out))
    return QuantizedAddNParams(first.shape, len(node.inputs), -first.quant.single_zero_point, mi, si, mo, so,
                               out.quant.single_zero_point, BINARY_ROUNDING)


def evaluate_add_n(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    if isinstance(p, AddNParams) and p.dtype == "float32":
        big = np.float32(np.finfo(np.float32).max)
        with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN as in C
            if p.clamp:  # LiteRT: input 0, then one clamped ADD per further input
                total = np.array(inputs[0], dtype=np.float32)
                for x in inputs[1:]:
                    total = np.clip(total + x, -big, big)
            else:  # TFLite Micro: from 0, no clamp
                total = np.zeros(p.shape, dtype=np.float32)
                for x in inputs:
                    total = total + x
        return [np.array(total, dtype=np.float32)]
    if isinstance(p, AddNParams):
        total = np.zeros(p.shape, dtype=np.int64)
        for x in inputs:
            total = wrap_int32(total + x)  # in input order, wrapping
        return [np.array(total, dtype=p.dtype)]
    scale = lambda x: scaled_inputs(x, p.input_offset, ADD_N_LEFT_SHIFT, p.input_multiplier,  # noqa: E731
                                    p.input_shift, p.rounding)
    total = scale(np.zeros(p.shape, dtype=np.int64))  # TFLite starts from the scaled offset
    for x in inputs:
        total = wrap_int32(total + scale(x))
    out = multiply_by_quantized_multiplier(total, p.output_multiplier, p.output_shift, p.rounding) + p.output_offset
    return [np.array(np.clip(out, -128, 127), dtype=np.int8)]


def lower_add_n(node: Node, graph: Graph, p) -> KernelCall:
    buffers = tuple(node.inputs) + (node.outputs[0],)
    fields = range_fields(node, graph) + (("inputs", len(node.inputs)),)
    if isinstance(p, AddNParams):
        source = "add_n_f32.c" if p.dtype == "float32" else "add_n.c"
        params_type = "ariel_add_n_f32_params" if p.dtype == "float32" else "ariel_add_n_params"
        if p.dtype == "float32":
            fields += (("clamp", int(p.clamp)),)
        return KernelCall(f"ariel_add_n_{C_SUFFIX[p.dtype]}", params_type, fields, buffers, source)
    check_shift(node, p.input_shift, p.output_shift)
    every_byte = np.arange(256, dtype=np.uint8).view(np.int8)
    table = scaled_inputs(every_byte, p.input_offset, ADD_N_LEFT_SHIFT, p.input_multiplier, p.input_shift, p.rounding)
    start = int(scaled_inputs(np.zeros(1, np.int64), p.input_offset, ADD_N_LEFT_SHIFT, p.input_multiplier,
                              p.input_shift, p.rounding)[0])
    fields += (("start", start), ("table", CArray.of("int32_t", table)), ("output_offset", p.output_offset),
               ("rq", CArray.of("int32_t", requant_records([p.output_multiplier], [p.output_shift], p.rounding))))
    return KernelCall("ariel_add_n_q_s8", "ariel_add_n_params", fields, buffers, "add_n.c")


register(OpDef(name="ADD_N", infer_shapes=infer_add_n, prepare=prepare_add_n, evaluate=evaluate_add_n,
               check=check_add_n, work_items=element_work_items, lower=lower_add_n, num_inputs=(2, None),
               num_outputs=(1, 1)))
