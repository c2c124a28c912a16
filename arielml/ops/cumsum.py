"""CUMSUM along one axis (float32, int32, int64; int8 as TFLite Micro has it), optionally exclusive
(each output leaves its own element out) and/or reverse (summed from the end).

Every line along the axis is summed one element at a time from 0, in the direction asked: LiteRT's
order, so float32 is bit-exact; integer sums wrap around.

int8 exists only in TFLite Micro (LiteRT rejects it), which treats it like a quantised ADD chain:
every value (x - zp) * 2^20 is requantised by 1/2 (input_scale / (2 * input_scale)), the results are
summed in int32 (wrapping, as its C++ does in practice), and each running sum is requantised by
2 * input_scale / (2^20 * output_scale), plus the output zero point, clamped; both with gemmlowp's
double rounding. Its running sum does not start at 0 but at the requantised input offset
(-zp * 2^20 / 2), a quirk of its code that shifts every output; reproduced, tested against TFLite
Micro. The C kernel (runtime/kernels/cumsum.c) takes one line per work item."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import require_addressable
from arielml.ops.kernel_support import requant_records
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import constant_ints, input_tensor

DTYPES = ("float32", "int32", "int64", "int8")
SUFFIX = {"float32": "f32", "int32": "s32", "int64": "s64", "int8": "s8"}
LEFT_SHIFT = 20  # TFLite Micro's kCumSumIntegerShift


@dataclass(frozen=True)
class CumsumOptions:
    exclusive: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class CumsumParams:
    outer: int  # product of the axes before the summed one
    size: int  # length of the summed axis
    inner: int  # product of the axes after it
    exclusive: bool
    reverse: bool
    dtype: str
    # int8 only: -input zero point, output zero point, and (multiplier, shift) of the two requantisations
    input_offset: int = 0
    output_zero_point: int = 0
    input_rq: tuple[int, int] = (0, 0)
    output_rq: tuple[int, int] = (0, 0)


def _plan(node: Node, graph: Graph) -> CumsumParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    if x.dtype not in DTYPES or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {out.dtype} output is not supported (supported: "
                                f"{', '.join(DTYPES)}, the same type in and out)")
    if len(x.shape) == 0 or x.num_elements == 0:
        raise unsupported(node, "a scalar or empty input is not supported")
    axis_values = constant_ints(node, graph, 1, "axis")
    rank = len(x.shape)
    if len(axis_values) != 1 or not -rank <= int(axis_values[0]) < rank:
        raise unsupported(node, f"needs one axis in [-{rank}, {rank}), got {axis_values.tolist()}")
    axis = int(axis_values[0]) % rank
    o = node.options or CumsumOptions()
    p = CumsumParams(int(np.prod(x.shape[:axis], dtype=np.int64)), x.shape[axis],
                     int(np.prod(x.shape[axis + 1:], dtype=np.int64)), bool(o.exclusive), bool(o.reverse), x.dtype)
    if x.dtype != "int8":
        return p
    if x.quant is None or out.quant is None or x.quant.per_channel or out.quant.per_channel:
        raise unsupported(node, "int8 input and output need per-tensor quantisation parameters")
    twice_input_scale = 2 * float(np.float32(x.quant.scale[0]))
    input_rq = quantize_multiplier(float(np.float32(x.quant.scale[0])) / twice_input_scale)
    output_rq = quantize_multiplier(twice_input_scale / ((1 << LEFT_SHIFT) * float(np.float32(out.quant.scale[0]))))
    if output_rq[1] > 0:
        raise unsupported(node, "the output scale is too small for TFLite Micro's int8 CUMSUM (its multiplier must be "
                                "below one)")
    return replace(p, input_offset=-int(x.quant.zero_point[0]), output_zero_point=int(out.quant.zero_point[0]),
                   input_rq=input_rq, output_rq=output_rq)


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    _plan(node, graph)
    return [graph.tensors[node.inputs[0]].shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> CumsumParams:
    return _plan(node, graph)


def _evaluate_int8(p: CumsumParams, x: np.ndarray) -> np.ndarray:
    lines = x.reshape(p.outer, p.size, p.inner).astype(np.int64)
    scaled = multiply_by_quantized_multiplier((lines + p.input_offset) << LEFT_SHIFT, *p.input_rq, DOUBLE_ROUNDING)
    start = multiply_by_quantized_multiplier(np.int64(p.input_offset << LEFT_SHIFT), *p.input_rq, DOUBLE_ROUNDING)
    total = np.full((p.outer, p.inner), int(start), dtype=np.int64)
    sums = np.empty_like(lines)
    for i in (range(p.size - 1, -1, -1) if p.reverse else range(p.size)):
        if p.exclusive:
            sums[:, i, :] = total
            total = wrap_int32(total + scaled[:, i, :])
        else:
            total = wrap_int32(total + scaled[:, i, :])
            sums[:, i, :] = total
    out = multiply_by_quantized_multiplier(sums, *p.output_rq, DOUBLE_ROUNDING) + p.output_zero_point
    return np.clip(out, -128, 127).astype(np.int8).reshape(x.shape)


def evaluate(p: CumsumParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
    if p.dtype == "int8":
        return [_evaluate_int8(p, x)]
    lines = x.reshape(p.outer, p.size, p.inner)
    out = np.empty_like(lines)
    total = np.zeros((p.outer, p.inner), dtype=x.dtype)
    order = range(p.size - 1, -1, -1) if p.reverse else range(p.size)
    with np.errstate(over="ignore", invalid="ignore"):
        for i in order:  # one addition at a time (integer additions wrap, as numpy's do)
            if p.exclusive:
                out[:, i, :] = total
                total = total + lines[:, i, :]
            else:
                total = total + lines[:, i, :]
                out[:, i, :] = total
    return [out.reshape(x.shape)]


def work_items(node: Node, graph: Graph) -> int:
    p = _plan(node, graph)
    return p.outer * p.inner  # one line per item


def lower(node: Node, graph: Graph, p: CumsumParams) -> KernelCall:
    require_addressable(node, graph.tensors[node.inputs[0]])
    fields = (("size", p.size), ("inner", p.inner), ("exclusive", int(p.exclusive)), ("reverse", int(p.reverse)))
    if p.dtype == "int8":  # two 32-bit requantisation records (exact: double rounding)
        records = requant_records([p.input_rq[0], p.output_rq[0]], [p.input_rq[1], p.output_rq[1]], DOUBLE_ROUNDING)
        fields += (("input_offset", p.input_offset), ("output_zero_point", p.output_zero_point),
                   ("rq", CArray.of("int32_t", records)))
    return KernelCall(f"ariel_cumsum_{SUFFIX[p.dtype]}", "ariel_cumsum_params", fields,
                      (node.inputs[0], node.outputs[0]), "cumsum.c")


CUMSUM = register(OpDef(name="CUMSUM", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                        options_type=CumsumOptions, tflite_options="CumsumOptions", check=check,
                        work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
