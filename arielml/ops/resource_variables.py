"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE), CALL_ONCE, and ARIEL_COPY.

TFLite keeps a resource variable outside the tensors: VAR_HANDLE names it by (container,
shared_name), READ_VARIABLE copies its value out, ASSIGN_VARIABLE copies a value in, and CALL_ONCE
runs an init subgraph (usually assigning the initial values) once, before the first invocation.
arielml resolves all of that at compile time (passes/resource_variables.py): each variable becomes
one variable tensor of the model's state block (the shape and dtype of the values assigned to it),
every handle is replaced by that tensor, VAR_HANDLE and CALL_ONCE disappear, and what the init
subgraph assigns (it reads only constants) becomes the variable's initial value. What remains to run
is two copies, both on data.c's row copy:

- READ_VARIABLE (variable) -> value: a copy out of the state block;
- ASSIGN_VARIABLE (variable, value) -> (): a copy into it (state_inputs: the variable); once
  resolved it carries an empty marker output (see ASSIGN_MARKER_SHAPE).

ARIEL_COPY is the compiler's own tensor copy (never read from a file): control-flow inlining
(passes/control_flow.py) binds a subgraph output that is one of its inputs, or a constant, to the
operator's output tensor with it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported

COPY = "ARIEL_COPY"
# a copy splits into at most this many work items, each at least MIN_ITEM_BYTES long: a copy is
# memory-bound, finer tiles would cost more in scheduling than they share out
MAX_COPY_ITEMS = 64
MIN_ITEM_BYTES = 64


@dataclass(frozen=True)
class VarHandleOptions:
    container: bytes = b""
    shared_name: bytes = b""


@dataclass(frozen=True)
class CallOnceOptions:
    init_subgraph_index: int = 0


@dataclass(frozen=True)
class CopyParams:
    nbytes: int


def copy_items(nbytes: int) -> int:
    """Work items of a copy of nbytes: the largest count up to MAX_COPY_ITEMS that divides the bytes
    into equal pieces of at least MIN_ITEM_BYTES (one item for short copies)."""
    for items in range(min(MAX_COPY_ITEMS, nbytes // MIN_ITEM_BYTES), 1, -1):
        if nbytes % items == 0:
            return items
    return 1


def _copy_call(node: Node, graph: Graph, source: int, destination: int) -> KernelCall:
    nbytes = graph.tensors[destination].nbytes
    return KernelCall("ariel_copy_rows", "ariel_copy_rows_params", (("item_bytes", nbytes // copy_items(nbytes)),),
                      (source, destination), "data.c")


def _same_layout(node: Node, a, b) -> None:
    if a.shape != b.shape or a.dtype != b.dtype:
        raise unsupported(node, f"copies between tensors of one shape and type; got {a.dtype}{list(a.shape)} and "
                                f"{b.dtype}{list(b.shape)} (TFLite's dynamic resizing of a variable is not supported)")


def _copy_prepare(node: Node, graph: Graph, semantics: Semantics) -> CopyParams:
    return CopyParams(graph.tensors[node.outputs[0]].nbytes)


def _copy_evaluate(p, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    return [np.array(inputs[0], copy=True)]


def _copy_check(node: Node, graph: Graph) -> None:
    _same_layout(node, graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]])


def _copy_items(node: Node, graph: Graph) -> int:
    return copy_items(graph.tensors[node.outputs[0]].nbytes)


register(OpDef(name=COPY, infer_shapes=lambda node, graph: [graph.tensors[node.inputs[0]].shape],
               prepare=_copy_prepare, evaluate=_copy_evaluate, check=_copy_check, work_items=_copy_items,
               lower=lambda node, graph, p: _copy_call(node, graph, node.inputs[0], node.outputs[0]),
               num_inputs=(1, 1), num_outputs=(1, 1), compiler_only=True))


# --- READ_VARIABLE / ASSIGN_VARIABLE: once resolved, their first input is the variable tensor -------

def _check_resolved(node: Node, graph: Graph) -> None:
    variable = graph.tensors[node.inputs[0]]
    if not variable.variable:
        raise unsupported(node, "its variable handle was not resolved (it does not come from a VAR_HANDLE of the "
                                "same model)")


def _read_check(node: Node, graph: Graph) -> None:
    _check_resolved(node, graph)
    _same_layout(node, graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]])


def _assign_check(node: Node, graph: Graph) -> None:
    _check_resolved(node, graph)
    _same_layout(node, graph.tensors[node.inputs[1]], graph.tensors[node.inputs[0]])


register(OpDef(name="READ_VARIABLE", infer_shapes=lambda node, graph: [graph.tensors[node.inputs[0]].shape],
               prepare=_copy_prepare, evaluate=_copy_evaluate, check=_read_check, work_items=_copy_items,
               lower=lambda node, graph, p: _copy_call(node, graph, node.inputs[0], node.outputs[0]),
               num_inputs=(1, 1), num_outputs=(1, 1)))


@dataclass(frozen=True)
class AssignParams:
    nbytes: int
    marker: bool  # the node carries the compiler's empty marker output (see ASSIGN_MARKER)


# TFLite's ASSIGN_VARIABLE has no output. The compiler's passes and cost model take every operator
# to have one (they read node.outputs[0]), so passes/resource_variables.py gives each resolved
# ASSIGN_VARIABLE an empty (0-element) marker output that nothing reads and the kernel never touches.
ASSIGN_MARKER_SHAPE = (0,)


def _assign_prepare(node: Node, graph: Graph, semantics: Semantics) -> AssignParams:
    return AssignParams(graph.tensors[node.inputs[0]].nbytes, bool(node.outputs))


def _assign_evaluate(p: AssignParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    # the outputs (the empty marker), then the variable's new value (state_inputs): the assigned one
    marker = [np.zeros(ASSIGN_MARKER_SHAPE, np.int8)] if p.marker else []
    return marker + [np.array(inputs[1], copy=True)]


register(OpDef(name="ASSIGN_VARIABLE", infer_shapes=lambda node, graph: [ASSIGN_MARKER_SHAPE] * len(node.outputs),
               prepare=_assign_prepare, evaluate=_assign_evaluate, check=_assign_check,
               work_items=lambda node, graph: copy_items(graph.tensors[node.inputs[0]].nbytes),
               lower=lambda node, graph, p: _copy_call(node, graph, node.inputs[1], node.inputs[0]),
               num_inputs=(2, 2), num_outputs=(0, 1), state_inputs=(0,)))


# --- VAR_HANDLE and CALL_ONCE: resolved at compile time, never executed --------------------------

def _resolved_at_compile_time(node: Node, graph: Graph) -> None:
    raise unsupported(node, "is resolved when the model is read (passes/resource_variables.py); this one was "
                            "left in the graph, which is an arielml bug")


def _never(p, inputs):
    raise AssertionError("VAR_HANDLE and CALL_ONCE are resolved before execution")


register(OpDef(name="VAR_HANDLE", options_type=VarHandleOptions, tflite_options="VarHandleOptions",
               infer_shapes=lambda node, graph: [()], prepare=lambda node, graph, semantics: None, evaluate=_never,
               check=_resolved_at_compile_time, num_inputs=(0, 0), num_outputs=(1, 1)))
register(OpDef(name="CALL_ONCE", options_type=CallOnceOptions, tflite_options="CallOnceOptions",
               infer_shapes=lambda node, graph: [], prepare=lambda node, graph, semantics: None, evaluate=_never,
               check=_resolved_at_compile_time, num_inputs=(0, 0), num_outputs=(0, 0)))
