"""CUMSUM along one axis (float32, int32, int64), optionally exclusive (each output leaves its own
element out) and/or reverse (summed from the end).

Every line along the axis is summed one element at a time from 0, in the direction asked: LiteRT's
order, so float32 is bit-exact; integer sums wrap around. TFLite Micro's int8 CUMSUM (rescaled
through a 2 * input_scale intermediate) is not implemented and is rejected. The C kernel
(runtime/kernels/cumsum.c) takes one line per work item."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import require_addressable
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import constant_ints, input_tensor

DTYPES = ("float32", "int32", "int64")
SUFFIX = {"float32": "f32", "int32": "s32", "int64": "s64"}


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


def _plan(node: Node, graph: Graph) -> CumsumParams:
    x = input_tensor(node, graph, 0, "data")
    out = graph.tensors[node.outputs[0]]
    if x.dtype not in DTYPES or out.dtype != x.dtype:
        raise unsupported(node, f"{x.dtype} input with {out.dtype} output is not supported (supported: "
                                f"{', '.join(DTYPES)}, the same type in and out; int8 is not)")
    if len(x.shape) == 0 or x.num_elements == 0:
        raise unsupported(node, "a scalar or empty input is not supported")
    axis_values = constant_ints(node, graph, 1, "axis")
    rank = len(x.shape)
    if len(axis_values) != 1 or not -rank <= int(axis_values[0]) < rank:
        raise unsupported(node, f"needs one axis in [-{rank}, {rank}), got {axis_values.tolist()}")
    axis = int(axis_values[0]) % rank
    o = node.options or CumsumOptions()
    return CumsumParams(int(np.prod(x.shape[:axis], dtype=np.int64)), x.shape[axis],
                        int(np.prod(x.shape[axis + 1:], dtype=np.int64)), bool(o.exclusive), bool(o.reverse), x.dtype)


def check(node: Node, graph: Graph) -> None:
    _plan(node, graph)


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    _plan(node, graph)
    return [graph.tensors[node.inputs[0]].shape]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> CumsumParams:
    return _plan(node, graph)


def evaluate(p: CumsumParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[0]
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
    return KernelCall(f"ariel_cumsum_{SUFFIX[p.dtype]}", "ariel_cumsum_params", fields,
                      (node.inputs[0], node.outputs[0]), "cumsum.c")


CUMSUM = register(OpDef(name="CUMSUM", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                        options_type=CumsumOptions, tflite_options="CumsumOptions", check=check,
                        work_items=work_items, lower=lower, num_inputs=(2, 2), num_outputs=(1, 1)))
