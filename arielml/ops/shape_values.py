"""SHAPE and BROADCAST_ARGS: operators whose values are shapes.

Every tensor shape is static in arielml, so SHAPE's output is known at compile time: its kernel
(kernels/indexing.c ariel_constant_output) writes the precomputed bytes and never reads the input.
BROADCAST_ARGS is the same when both shape inputs are constants; when they are run-time tensors, a
small kernel (ariel_broadcast_args) computes the broadcast shape on the device. Two shapes that do
not broadcast: LiteRT aborts (constant shapes are refused at compile time; at run time the
reference raises InputError and the kernel writes 0 for that dimension)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.errors import InputError
from arielml.ir import Graph, Node
from arielml.ops.data_kernels import element_size
from arielml.ops.registry import OpDef, Semantics, register, unsupported
from arielml.ops.shape import input_tensor

SHAPE_TYPES = {2: "int32", 4: "int64"}  # schema TensorType codes of ShapeOptions.out_type


@dataclass(frozen=True)
class ShapeOptions:
    out_type: int = 2  # INT32


@dataclass(frozen=True)
class ShapeValueParams:
    where: str
    dtype: str
    out_shape: tuple[int, ...]
    value: tuple[int, ...] | None  # the output when known at compile time


def _shape_plan(node: Node, graph: Graph) -> ShapeValueParams:
    x = input_tensor(node, graph, 0, "input")
    out = graph.tensors[node.outputs[0]]
    o = node.options or ShapeOptions()
    dtype = SHAPE_TYPES.get(o.out_type)
    if dtype is None or out.dtype != dtype:
        raise unsupported(node, f"output type {out.dtype} (out_type {o.out_type}) is not supported (int32 or int64)")
    return ShapeValueParams(f"SHAPE (operator #{node.index})", dtype, (len(x.shape),), tuple(x.shape))


def broadcast_shapes(a, b) -> tuple[int, ...] | None:
    """The broadcast of two shapes aligned on the right, None when a pair of dimensions is neither
    equal nor 1."""
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for da, db in zip(a, b):
        if da != 1 and db != 1 and da != db:
            return None
        out.append(db if da == 1 else da)
    return tuple(out)


def _broadcast_args_plan(node: Node, graph: Graph) -> ShapeValueParams:
    a, b = input_tensor(node, graph, 0, "shape"), input_tensor(node, graph, 1, "shape")
    out = graph.tensors[node.outputs[0]]
    if a.dtype not in ("int32", "int64") or not a.dtype == b.dtype == out.dtype:
        raise unsupported(node, f"types {a.dtype}, {b.dtype} -> {out.dtype}; all must be int32 or all int64")
    if len(a.shape) != 1 or len(b.shape) != 1:
        raise unsupported(node, f"the shapes must be 1-D tensors, they have shapes {a.shape} and {b.shape}")
    value = None
    if a.is_constant and b.is_constant:
        value = broadcast_shapes(a.data.tolist(), b.data.tolist())
        if value is None:
            raise unsupported(node, f"shapes {a.data.tolist()} and {b.data.tolist()} do not broadcast")
    return ShapeValueParams(f"BROADCAST_ARGS (operator #{node.index})", a.dtype, (max(a.shape[0], b.shape[0]),), value)


def evaluate_shape_value(p: ShapeValueParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    if p.value is not None:
        return [np.asarray(p.value, dtype=p.dtype).reshape(p.out_shape)]
    a, b = (np.asarray(x).tolist() for x in inputs[:2])
    value = broadcast_shapes(a, b)
    if value is None:
        raise InputError(f"{p.where}: shapes {a} and {b} do not broadcast (LiteRT aborts; the C kernel writes 0 "
                         "for the dimensions that do not)")
    return [np.asarray(value, dtype=p.dtype).reshape(p.out_shape)]


def _lower(node: Node, graph: Graph, p: ShapeValueParams) -> KernelCall:
    if p.value is None:
        a, b = (graph.tensors[t] for t in node.inputs[:2])
        fields = (("element_size", element_size(a)), ("rank_a", a.shape[0]), ("rank_b", b.shape[0]))
        return KernelCall("ariel_broadcast_args", "ariel_broadcast_args_params", fields,
                          (node.inputs[0], node.inputs[1], node.outputs[0]), "indexing.c")
    data = np.asarray(p.value, dtype=p.dtype).view(np.uint8)  # the bytes as stored (little-endian targets)
    fields = (("output_buffer", len(node.inputs)), ("nbytes", int(data.size)),
              ("bytes", CArray.of("uint8_t", data if data.size else [0])))
    return KernelCall("ariel_constant_output", "ariel_constant_output_params", fields,
                      (*node.inputs, node.outputs[0]), "indexing.c")


def _opdef(name, plan, **kw) -> OpDef:
    def check(node: Node, graph: Graph) -> None:
        plan(node, graph)

    def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
        return [plan(node, graph).out_shape]

    def prepare(node: Node, graph: Graph, semantics: Semantics):
        return plan(node, graph)

    return OpDef(name=name, check=check, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate_shape_value,
                 work_items=lambda node, graph: 1, lower=_lower, num_outputs=(1, 1), **kw)


register(_opdef("SHAPE", _shape_plan, options_type=ShapeOptions, tflite_options="ShapeOptions", num_inputs=(1, 1),
               shape_only=True))
register(_opdef("BROADCAST_ARGS", _broadcast_args_plan, num_inputs=(2, 2)))
