"""EQUAL, NOT_EQUAL, GREATER, GREATER_EQUAL, LESS, LESS_EQUAL, LOGICAL_AND, LOGICAL_OR, LOGICAL_NOT
and SELECT_V2, with numpy broadcasting, bit-exact with TFLite's reference kernels.

Comparisons give bool. float32, int32 and int64 compare the stored values; bool takes EQUAL and
NOT_EQUAL only. int8 and uint8 (and, measured in LiteRT, int16 for EQUAL and NOT_EQUAL, which must
then be quantised) are rescaled to a common fixed-point unit first, as TFLite does: each input plus its
offset (minus the zero point), shifted left by 8, times its own scale as a fixed-point multiplier
below one (QuantizeMultiplierSmallerThanOneExp), rounded twice (gemmlowp: rounding doubling high
multiply, then a rounding right shift; measured for LiteRT, and what TFLite Micro does); the two
scaled values are compared. A scale of 1 or more is refused, as TFLite refuses it. int16 GREATER,
GREATER_EQUAL, LESS and LESS_EQUAL compare the stored values in LiteRT, whatever the scales
(TFLite Micro's int16 path reads scaling parameters it never sets; see docs/semantics.md).

LOGICAL_AND / LOGICAL_OR / LOGICAL_NOT: bool in, bool out. SELECT_V2: out = condition ? x : y,
the three broadcast against each other; x, y and out share one type (quantised values are copied,
not requantised, as TFLite does).

C: kernels/compare.c (integer, bool and 8-bit comparisons through per-input 256-entry tables of
scaled values, filled by this module's reference), kernels/compare_f32.c (float32), the logical
operators in compare.c, LOGICAL_NOT as the 8-bit table kernel, SELECT_V2 in kernels/select.c.
Broadcasting reuses the ADD/SUB cursor of ariel_elementwise_loops.h through ariel_binary_params."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.kernel_support import requant_records
from arielml.ops.pointwise_lowering import MAX_C_RANK, broadcast_layout, element_work_items, range_fields
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier
from arielml.ops.registry import OpDef, Semantics, register, unsupported

MAX_BROADCAST_RANK = 6
COMPARISONS = {"EQUAL": np.equal, "NOT_EQUAL": np.not_equal, "GREATER": np.greater,
               "GREATER_EQUAL": np.greater_equal, "LESS": np.less, "LESS_EQUAL": np.less_equal}
COMPARE_TYPES = ("float32", "int8", "uint8", "int16", "int32", "int64")
EQUALITY_ONLY_TYPES = ("bool",)
RESCALED = ("int8", "uint8")
RESCALED_EQUALITY = ("int16",)  # LiteRT rescales int16 for EQUAL / NOT_EQUAL only
COMPARE_LEFT_SHIFT = 8
# measured (tests/test_ops_compare.py): LiteRT's reference comparisons round twice, as TFLite Micro
COMPARE_ROUNDING = DOUBLE_ROUNDING
SELECT_TYPES = ("bool", "float32", "int8", "uint8", "int16", "int32", "int64")
C_SUFFIX = {"float32": "f32", "int16": "s16", "int32": "s32", "int64": "s64", "bool": "u8"}


@dataclass(frozen=True)
class CompareParams:
    op: str
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class RescaledCompareParams:
    """int8 / uint8: both inputs scaled to a common unit before comparing."""

    op: str
    out_shape: tuple[int, ...]
    offsets: tuple[int, int]  # minus the zero points
    multipliers: tuple[int, int]
    shifts: tuple[int, int]  # <= 0
    rounding: str


@dataclass(frozen=True)
class LogicalParams:
    op: str
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class SelectParams:
    out_shape: tuple[int, ...]
    dtype: str


def broadcast_shape(node: Node, graph: Graph, inputs) -> tuple[int, ...]:
    shapes = [graph.tensors[t].shape for t in inputs]
    try:
        shape = tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        raise unsupported(node, f"input shapes {' and '.join(map(str, shapes))} do not broadcast") from None
    if len(set(shapes)) > 1 and len(shape) > MAX_BROADCAST_RANK:
        raise unsupported(node, f"broadcasting over {len(shape)} dimensions; TFLite broadcasts at most "
                                f"{MAX_BROADCAST_RANK}")
    return shape


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [broadcast_shape(node, graph, node.inputs)]


def _tensors(node: Node, graph: Graph) -> list[Tensor]:
    return [graph.tensors[t] for t in node.inputs] + [graph.tensors[t] for t in node.outputs]


def _check_arity(node: Node, inputs: int) -> None:
    if len(node.inputs) != inputs or len(node.outputs) != 1 or NO_TENSOR in node.inputs:
        raise unsupported(node, f"expects {inputs} input(s) and one output")


def _rescaled(op: str, dtype: str) -> bool:
    return dtype in RESCALED or (dtype in RESCALED_EQUALITY and op in ("EQUAL", "NOT_EQUAL"))


def check_compare(node: Node, graph: Graph) -> None:
    _check_arity(node, 2)
    a, b, out = _tensors(node, graph)
    if a.dtype != b.dtype:
        raise unsupported(node, f"inputs {a.dtype} and {b.dtype} must have one type")
    if out.dtype != "bool":
        raise unsupported(node, f"output is {out.dtype}; comparisons give bool")
    types = COMPARE_TYPES + (EQUALITY_ONLY_TYPES if node.op in ("EQUAL", "NOT_EQUAL") else ())
    if a.dtype not in types:
        raise unsupported(node, f"{a.dtype} is not supported (supported: {', '.join(types)})")
    broadcast_shape(node, graph, node.inputs)
    if _rescaled(node.op, a.dtype):
        for t in (a, b):
            if t.quant is None or t.quant.per_channel:
                raise unsupported(node, f"{t.dtype} input '{t.name}' needs per-tensor quantisation parameters "
                                        f"(TFLite's {node.op} rescales {t.dtype} inputs by their scales)")
            scale = t.quant.single_scale
            if not (math.isfinite(scale) and 0 < scale < 1):
                raise unsupported(node, f"input '{t.name}' has scale {scale:g}; TFLite compares {t.dtype} "
                                        "inputs only with scales in (0, 1)")


def check_logical(node: Node, graph: Graph) -> None:
    _check_arity(node, 1 if node.op == "LOGICAL_NOT" else 2)
    tensors = _tensors(node, graph)
    if any(t.dtype != "bool" for t in tensors):
        raise unsupported(node, f"types {', '.join(t.dtype for t in tensors)}; {node.op} takes and gives bool")
    broadcast_shape(node, graph, node.inputs)


def check_select(node: Node, graph: Graph) -> None:
    _check_arity(node, 3)
    condition, x, y, out = _tensors(node, graph)
    if condition.dtype != "bool":
        raise unsupported(node, f"condition is {condition.dtype}; it must be bool")
    if not x.dtype == y.dtype == out.dtype:
        raise unsupported(node, f"x {x.dtype}, y {y.dtype} and output {out.dtype} must have one type")
    if x.dtype not in SELECT_TYPES:
        raise unsupported(node, f"{x.dtype} is not supported (supported: {', '.join(SELECT_TYPES)})")
    broadcast_shape(node, graph, node.inputs)


def prepare_compare(node: Node, graph: Graph, semantics: Semantics):
    a, b, _ = _tensors(node, graph)
    shape = infer_shapes(node, graph)[0]
    if not _rescaled(node.op, a.dtype):
        return CompareParams(node.op, shape)
    (m1, s1), (m2, s2) = (quantize_multiplier(float(t.quant.single_scale)) for t in (a, b))
    return RescaledCompareParams(node.op, shape, (-a.quant.single_zero_point, -b.quant.single_zero_point),
                                 (m1, m2), (s1, s2), COMPARE_ROUNDING)


def prepare_logical(node: Node, graph: Graph, semantics: Semantics) -> LogicalParams:
    return LogicalParams(node.op, infer_shapes(node, graph)[0])


def prepare_select(node: Node, graph: Graph, semantics: Semantics) -> SelectParams:
    return SelectParams(infer_shapes(node, graph)[0], graph.tensors[node.outputs[0]].dtype)


# ---- evaluation ------------------------------------------------------------------------------------

def scaled_values(x: np.ndarray, offset: int, multiplier: int, shift: int, rounding: str) -> np.ndarray:
    """(x + offset) * 2^8 * scale in fixed point; |x + offset| <= 65535, so the shift cannot overflow."""
    shifted = (x.astype(np.int64) + offset) << COMPARE_LEFT_SHIFT
    return multiply_by_quantized_multiplier(shifted, multiplier, shift, rounding)


def evaluate_compare(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    a, b = np.asarray(inputs[0]), np.asarray(inputs[1])
    if isinstance(p, RescaledCompareParams):
        a = scaled_values(a, p.offsets[0], p.multipliers[0], p.shifts[0], p.rounding)
        b = scaled_values(b, p.offsets[1], p.multipliers[1], p.shifts[1], p.rounding)
    with np.errstate(invalid="ignore"):  # NaN compares false (true for NOT_EQUAL), as in C
        result = COMPARISONS[p.op](a, b)
    return [np.array(np.broadcast_to(result, p.out_shape), dtype=np.bool_)]


def evaluate_logical(p: LogicalParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    if p.op == "LOGICAL_NOT":
        result = np.logical_not(inputs[0])
    else:
        result = (np.logical_and if p.op == "LOGICAL_AND" else np.logical_or)(inputs[0], inputs[1])
    return [np.array(np.broadcast_to(result, p.out_shape), dtype=np.bool_)]


def evaluate_select(p: SelectParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    condition, x, y = inputs
    return [np.array(np.broadcast_to(np.where(condition, x, y), p.out_shape), dtype=p.dtype)]


# ---- C lowering ------------------------------------------------------------------------------------

def _binary_layout(node: Node, graph: Graph) -> tuple:
    a, b, out = _tensors(node, graph)[:3]
    dims, a_strides, b_strides = broadcast_layout(a.shape, b.shape, out.shape)
    if len(dims) > MAX_C_RANK:
        raise no_kernel(node, f"broadcasting over {len(dims)} dimensions (the kernels index {MAX_C_RANK})")
    return range_fields(node, graph) + (
        ("rank", len(dims)), ("dims", CArray.of("int32_t", dims)),
        ("a_strides", CArray.of("int32_t", a_strides)), ("b_strides", CArray.of("int32_t", b_strides)))


def lower_compare(node: Node, graph: Graph, p) -> KernelCall:
    a = graph.tensors[node.inputs[0]]
    fields = _binary_layout(node, graph)
    buffers = (node.inputs[0], node.inputs[1], node.outputs[0])
    if isinstance(p, RescaledCompareParams) and a.dtype == "int16":
        records = [CArray.of("int32_t", requant_records([p.multipliers[i]], [p.shifts[i]], p.rounding)) for i in (0, 1)]
        fields += (("a_offset", p.offsets[0]), ("b_offset", p.offsets[1]), ("left_shift", COMPARE_LEFT_SHIFT),
                   ("a_rq", records[0]), ("b_rq", records[1]))
        return KernelCall(f"ariel_{p.op.lower()}_q16", "ariel_binary_params", fields, buffers, "compare.c")
    if isinstance(p, RescaledCompareParams):
        every_byte = np.arange(256, dtype=np.uint8).view(a.np_dtype)  # indexed by the bit pattern (uint8_t)x
        tables = [scaled_values(every_byte, p.offsets[i], p.multipliers[i], p.shifts[i], p.rounding) for i in (0, 1)]
        fields += (("a_table", CArray.of("int32_t", tables[0])), ("b_table", CArray.of("int32_t", tables[1])))
        return KernelCall(f"ariel_{p.op.lower()}_q8", "ariel_binary_params", fields, buffers, "compare.c")
    source = "compare_f32.c" if a.dtype == "float32" else "compare.c"
    return KernelCall(f"ariel_{p.op.lower()}_{C_SUFFIX[a.dtype]}", "ariel_binary_params", fields, buffers, source)


def lower_logical(node: Node, graph: Graph, p: LogicalParams) -> KernelCall:
    if p.op == "LOGICAL_NOT":  # a table over the byte: 0 -> 1, 1 -> 0 (bool is stored as 0 or 1)
        table = np.zeros(256, dtype=np.uint8)
        table[0] = 1
        fields = range_fields(node, graph) + (("table", CArray.of("uint8_t", table)),)
        return KernelCall("ariel_table8_to_8", "ariel_table8_params", fields, (node.inputs[0], node.outputs[0]),
                          "unary.c")
    return KernelCall(f"ariel_{p.op.lower()}", "ariel_binary_params", _binary_layout(node, graph),
                      (node.inputs[0], node.inputs[1], node.outputs[0]), "compare.c")


def select_layout(shapes, out_shape) -> tuple[list[int], list[list[int]]]:
    """Output dimensions and each input's element strides along them (0 where it broadcasts),
    size-1 dimensions dropped and neighbours merged where every input stays contiguous."""
    rank = len(out_shape)

    def strides(shape) -> list[int]:
        padded = (1,) * (rank - len(shape)) + tuple(shape)
        return [0 if padded[d] == 1 else math.prod(padded[d + 1:]) for d in range(rank)]

    natural = [strides(s) for s in shapes]
    dims: list[int] = []
    walked: list[list[int]] = [[] for _ in shapes]
    for d in range(rank):
        if out_shape[d] == 1:
            continue
        if dims and all(w[-1] == n[d] * out_shape[d] for w, n in zip(walked, natural)):
            dims[-1] *= out_shape[d]
            for w, n in zip(walked, natural):
                w[-1] = n[d]
        else:
            dims.append(int(out_shape[d]))
            for w, n in zip(walked, natural):
                w.append(n[d])
    if not dims:
        return [1], [[0] for _ in shapes]
    return dims, walked


def lower_select(node: Node, graph: Graph, p: SelectParams) -> KernelCall:
    shapes = [graph.tensors[t].shape for t in node.inputs]
    dims, (c_strides, x_strides, y_strides) = select_layout(shapes, p.out_shape)
    if len(dims) > MAX_C_RANK:
        raise no_kernel(node, f"broadcasting over {len(dims)} dimensions (the kernel indexes {MAX_C_RANK})")
    size = int(np.dtype(p.dtype).itemsize)
    fields = range_fields(node, graph) + (
        ("rank", len(dims)), ("dims", CArray.of("int32_t", dims)),
        ("condition_strides", CArray.of("int32_t", c_strides)), ("x_strides", CArray.of("int32_t", x_strides)),
        ("y_strides", CArray.of("int32_t", y_strides)))
    return KernelCall(f"ariel_select_{8 * size}", "ariel_select_params", fields,
                      (node.inputs[0], node.inputs[1], node.inputs[2], node.outputs[0]), "select.c")


for _name in COMPARISONS:
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=prepare_compare, evaluate=evaluate_compare,
                   check=check_compare, work_items=element_work_items, lower=lower_compare, num_inputs=(2, 2),
                   num_outputs=(1, 1)))
for _name, _inputs in (("LOGICAL_AND", 2), ("LOGICAL_OR", 2), ("LOGICAL_NOT", 1)):
    register(OpDef(name=_name, infer_shapes=infer_shapes, prepare=prepare_logical, evaluate=evaluate_logical,
                   check=check_logical, work_items=element_work_items, lower=lower_logical,
                   num_inputs=(_inputs, _inputs), num_outputs=(1, 1)))
register(OpDef(name="SELECT_V2", infer_shapes=infer_shapes, prepare=prepare_select, evaluate=evaluate_select,
               check=check_select, work_items=element_work_items, lower=lower_select, num_inputs=(3, 3),
               num_outputs=(1, 1)))
