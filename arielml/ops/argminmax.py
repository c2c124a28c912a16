"""ARG_MAX and ARG_MIN along one axis, with an int32 or int64 output.

The reference kernels start from the first element of the axis and move to a later one only when
it compares strictly greater (ARG_MAX) or smaller (ARG_MIN): ties keep the first index. Stored
values are compared: quantisation parameters play no part. LiteRT (reference resolver) and TFLite
Micro agree on every input without NaN (measured, tests/test_ops_argminmax.py).

NaN: TFLite Micro's comparisons are strict, so a NaN never wins and a NaN in first place is never
replaced ([nan, 1, 2] -> 0). The LiteRT build we test with does neither that nor what its current
source says (a NaN-aware comparator, [nan, 1, 2] -> 2): [1, 1, nan, 3] gives 0 for ARG_MAX, whose
source answer is 3. arielml follows TFLite Micro there. numpy's argmax treats NaN differently
again, so the reference walks the axis the same way the C kernel (runtime/kernels/argminmax.c,
one work item per output element) does. int16 input is rejected: neither LiteRT nor TFLite Micro
takes it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import require_addressable
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import constant_ints, input_tensor

INPUT_DTYPES = ("float32", "int8", "uint8", "int32")
SUFFIX = {"float32": "f32", "int8": "s8", "uint8": "u8", "int32": "s32"}


@dataclass(frozen=True)
class ArgMaxOptions:
    output_type: int = 0


@dataclass(frozen=True)
class ArgMinOptions:
    output_type: int = 0


@dataclass(frozen=True)
class ArgParams:
    find_max: bool
    outer: int  # product of the axes before the reduced one
    size: int  # length of the reduced axis
    inner: int  # product of the axes after it
    out_shape: tuple[int, ...]
    out_dtype: str


def _plan(node: Node, graph: Graph) -> ArgParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    if x.dtype not in INPUT_DTYPES:
        raise unsupported(node, f"{x.dtype} input is not supported (supported: {', '.join(INPUT_DTYPES)})")
    if out.dtype not in ("int32", "int64"):
        raise unsupported(node, f"the output must be int32 or int64, got {out.dtype}")
    if len(x.shape) == 0 or x.num_elements == 0:
        raise unsupported(node, "a scalar or empty input is not supported")
    axis_values = constant_ints(node, graph, 1, "axis", ("int32", "int64"))
    if len(axis_values) != 1:
        raise unsupported(node, f"needs exactly one axis, got {len(axis_values)}")
    rank = len(x.shape)
    axis = int(axis_values[0])
    if not -rank <= axis < rank:
        raise unsupported(node, f"axis {axis} is out of range for a tensor of rank {rank}")
    axis %= rank
    return ArgParams(node.op == "ARG_MAX", int(np.prod(x.shape[:axis], dtype=np.int64)), x.shape[axis],
                     int(np.prod(x.shape[axis + 1:], dtype=np.int64)), x.shape[:axis] + x.shape[axis + 1:],
                     out.dtype)


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [_plan(node, graph).out_shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> ArgParams:
    return _plan(node, graph)


def evaluate(p: ArgParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0].reshape(p.outer, p.size, p.inner)
    best = x[:, 0, :].copy()
    index = np.zeros((p.outer, p.inner), dtype=np.int64)
    with np.errstate(invalid="ignore"):
        for i in range(1, p.size):  # strict comparisons, first index on ties, as the reference
            value = x[:, i, :]
            wins = value > best if p.find_max else value < best
            best = np.where(wins, value, best)
            index = np.where(wins, i, index)
    return [index.astype(p.out_dtype).reshape(p.out_shape)]


def work_items(node: Node, graph: Graph) -> int:
    return graph.tensors[node.outputs[0]].num_elements  # one item per output element


def lower(node: Node, graph: Graph, p: ArgParams) -> KernelCall:
    x = graph.tensors[node.inputs[0]]
    require_addressable(node, x)
    fields = (("size", p.size), ("inner", p.inner), ("find_max", int(p.find_max)),
              ("wide_output", int(p.out_dtype == "int64")))
    return KernelCall(f"ariel_arg_{SUFFIX[x.dtype]}", "ariel_arg_params", fields, (node.inputs[0], node.outputs[0]),
                      "argminmax.c")


ARG_MAX = register(OpDef(name="ARG_MAX", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                         options_type=ArgMaxOptions, tflite_options="ArgMaxOptions", check=check,
                         work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
ARG_MIN = register(OpDef(name="ARG_MIN", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                         options_type=ArgMinOptions, tflite_options="ArgMinOptions", check=check,
                         work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
