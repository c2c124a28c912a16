"""ARIEL_COPY_ROWS: an operator only the compiler makes (passes/bands.py), never read from a file.

When a prefix of the graph runs band by band, the rows of an intermediate tensor that the next band
needs again (the halo of a window) are kept rather than recomputed: before the band, they move from
the end of the tensor's row buffer to its start. Semantically the output is the input; the C kernel
copies bytes. The name cannot come from a model: TFLite builtins have fixed names and custom
operators read as "CUSTOM:<name>"."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported

COPY_ROWS = "ARIEL_COPY_ROWS"


@dataclass(frozen=True)
class CopyRowsOptions:
    overlapping: bool = False  # source and destination share bytes: one work item, memmove


@dataclass(frozen=True)
class CopyRowsParams:
    rows: int
    row_bytes: int
    overlapping: bool


def _plan(node: Node, graph: Graph) -> CopyRowsParams:
    x, out = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.shape != out.shape or x.dtype != out.dtype or len(x.shape) < 2 or x.shape[0] != 1:
        raise unsupported(node, f"copies rows between tensors of one shape, got {x.shape} and {out.shape}")
    rows = x.shape[1]
    return CopyRowsParams(rows, x.nbytes // rows if rows else 0, node.options.overlapping)


def _infer(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    return [graph.tensors[node.inputs[0]].shape]


def _prepare(node: Node, graph: Graph, semantics: Semantics) -> CopyRowsParams:
    return _plan(node, graph)


def _evaluate(p: CopyRowsParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.array(inputs[0], copy=True)]


def _items(node: Node, graph: Graph) -> int:
    p = _plan(node, graph)
    return 1 if p.overlapping else p.rows


def _lower(node: Node, graph: Graph, p: CopyRowsParams) -> KernelCall:
    item_bytes = p.row_bytes * (p.rows if p.overlapping else 1)
    return KernelCall("ariel_copy_rows", "ariel_copy_rows_params", (("item_bytes", item_bytes),),
                      (node.inputs[0], node.outputs[0]), "data.c")


register(OpDef(name=COPY_ROWS, options_type=CopyRowsOptions, infer_shapes=_infer, prepare=_prepare,
               evaluate=_evaluate, check=lambda node, graph: _plan(node, graph) and None, work_items=_items,
               lower=_lower, num_inputs=(1, 1), num_outputs=(1, 1), compiler_only=True))
