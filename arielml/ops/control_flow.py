"""IF and WHILE: operators whose bodies are other subgraphs of the model (Graph.subgraphs).

Where the outcome is known at compile time (a constant IF condition, a WHILE loop whose trip count
depends only on constants), passes/control_flow.py inlines the subgraphs into the main graph when
the model is read, and nothing of the control flow remains. The operators below are the general
case, whose condition is only known at run time:

- IF (cond, inputs...) -> outputs: runs the then-subgraph when cond's first element is true, else
  the else-subgraph, on the inputs; its outputs are the branch's (LiteRT and TFLite Micro read a bool
  condition's first element).
- WHILE (vars...) -> vars: while the cond-subgraph gives true on the loop variables, the
  body-subgraph maps them to their next values; the outputs are the last values.

The numpy reference runs the subgraphs with the reference executor. They have no C kernel yet (the
runtime executes a flat op table): compiling a model that keeps one fails with a clear error."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported

# operators a runtime branch or loop body may not contain: their state would have to live in the
# main graph's state block (inline the control flow with a constant condition instead)
STATEFUL_IN_SUBGRAPH = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")


@dataclass(frozen=True)
class IfOptions:
    then_subgraph_index: int = 0
    else_subgraph_index: int = 0


@dataclass(frozen=True)
class WhileOptions:
    cond_subgraph_index: int = 0
    body_subgraph_index: int = 0


@dataclass(frozen=True)
class Subgraph:
    graph: Graph
    prepared: tuple[Any, ...]  # the reference executor's prepared params of its nodes


@dataclass(frozen=True)
class ControlFlowParams:
    subgraphs: tuple[Subgraph, ...]  # IF: (then, else); WHILE: (cond, body)


_VERIFYING: set[int] = set()  # ids of the subgraphs being verified, up the stack (a cycle is corrupt)


def _verify_subgraph(node: Node, sub: Graph) -> None:
    from arielml.errors import ModelFormatError
    from arielml.ir.verify import verify
    if id(sub) in _VERIFYING:
        raise ModelFormatError(f"{node.op} (operator #{node.index}): subgraph '{sub.name}' calls itself (corrupt "
                               "file; TFLite has no recursion)")
    _VERIFYING.add(id(sub))
    try:
        verify(sub)
    finally:
        _VERIFYING.discard(id(sub))


def subgraph(node: Node, graph: Graph, index: int) -> Graph:
    """The model's subgraph `index`, checked to exist and to be runnable inside a branch or loop."""
    if not 0 < index < len(graph.subgraphs) or graph.subgraphs[index] is None:
        raise unsupported(node, f"names subgraph {index}, the model has subgraphs 1..{len(graph.subgraphs) - 1} "
                                "besides the main one (corrupt file)")
    sub = graph.subgraphs[index]
    for inner in sub.nodes:
        if inner.op in STATEFUL_IN_SUBGRAPH or sub.variables:
            raise unsupported(node, f"subgraph {index} keeps state ({inner.op}); state inside a branch or loop "
                                    "decided at run time is not supported")
    return sub


def _signature(sub: Graph, tensors) -> list[tuple[str, tuple[int, ...]]]:
    return [(sub.tensors[t].dtype, sub.tensors[t].shape) for t in tensors]


def _outer(graph: Graph, tensors) -> list[tuple[str, tuple[int, ...]]]:
    return [(graph.tensors[t].dtype, graph.tensors[t].shape) for t in tensors]


def _check_binding(node: Node, what: str, expected, got) -> None:
    if expected != got:
        raise unsupported(node, f"{what}: the subgraph has {got}, the operator {expected} (TFLite's dynamic "
                                "shapes between subgraphs are not supported)")


def _if_subgraphs(node: Node, graph: Graph) -> tuple[Graph, Graph]:
    return (subgraph(node, graph, node.options.then_subgraph_index),
            subgraph(node, graph, node.options.else_subgraph_index))


def _if_check(node: Node, graph: Graph) -> None:
    cond = graph.tensors[node.inputs[0]]
    if cond.dtype != "bool" or cond.num_elements < 1:
        raise unsupported(node, f"its condition is {cond.dtype}{list(cond.shape)}; TFLite takes a bool tensor")
    for sub in _if_subgraphs(node, graph):
        _verify_subgraph(node, sub)
        _check_binding(node, "inputs", _outer(graph, node.inputs[1:]), _signature(sub, sub.inputs))
        _check_binding(node, "outputs", _outer(graph, node.outputs), _signature(sub, sub.outputs))


def _while_subgraphs(node: Node, graph: Graph) -> tuple[Graph, Graph]:
    return (subgraph(node, graph, node.options.cond_subgraph_index),
            subgraph(node, graph, node.options.body_subgraph_index))


def _while_check(node: Node, graph: Graph) -> None:
    cond, body = _while_subgraphs(node, graph)
    _verify_subgraph(node, cond)
    _verify_subgraph(node, body)
    variables = _outer(graph, node.inputs)
    _check_binding(node, "outputs", variables, _outer(graph, node.outputs))
    _check_binding(node, "condition inputs", variables, _signature(cond, cond.inputs))
    _check_binding(node, "body inputs", variables, _signature(body, body.inputs))
    _check_binding(node, "body outputs", variables, _signature(body, body.outputs))
    out = _signature(cond, cond.outputs)
    if len(out) != 1 or out[0][0] != "bool" or not cond.tensors[cond.outputs[0]].num_elements:
        raise unsupported(node, f"its condition subgraph gives {out}; TFLite takes one bool tensor")


def _prepare(subgraphs: tuple[Graph, ...], semantics: Semantics) -> ControlFlowParams:
    from arielml.backends.reference import prepare_all
    return ControlFlowParams(tuple(Subgraph(sub, tuple(prepare_all(sub, semantics))) for sub in subgraphs))


def run_subgraph(sub: Subgraph, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from arielml.backends.reference import run_reference
    return [np.array(out, copy=True) for out in run_reference(sub.graph, list(inputs), list(sub.prepared))]


def _if_evaluate(p: ControlFlowParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    then_branch, else_branch = p.subgraphs
    return run_subgraph(then_branch if bool(np.asarray(inputs[0]).flat[0]) else else_branch, inputs[1:])


def _while_evaluate(p: ControlFlowParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    cond, body = p.subgraphs
    values = [np.array(v, copy=True) for v in inputs]
    while bool(np.asarray(run_subgraph(cond, values)[0]).flat[0]):
        values = run_subgraph(body, values)
    return values


register(OpDef(name="IF", options_type=IfOptions, tflite_options="IfOptions",
               infer_shapes=lambda node, graph: [graph.tensors[t].shape for t in node.outputs],
               prepare=lambda node, graph, semantics: _prepare(_if_subgraphs(node, graph), semantics),
               evaluate=_if_evaluate, check=_if_check, num_inputs=(1, None), num_outputs=(0, None)))
register(OpDef(name="WHILE", options_type=WhileOptions, tflite_options="WhileOptions",
               infer_shapes=lambda node, graph: [graph.tensors[t].shape for t in node.inputs],
               prepare=lambda node, graph, semantics: _prepare(_while_subgraphs(node, graph), semantics),
               evaluate=_while_evaluate, check=_while_check, num_inputs=(0, None), num_outputs=(0, None)))


# --- the runtime's jumps (compiler-only; made by passes/while_lowering.py) ---------------------------
# A WHILE decided at run time becomes a stretch of the op table that the C runtime walks again and
# again: ARIEL_BRANCH_IF_FALSE leaves the loop when the condition's first byte is 0, ARIEL_JUMP goes
# back to the condition. The destination is "the node after the one that writes tensor `after`" (a
# marker output): later passes may drop or reorder nodes (fold_pad, bands), so a node position would
# go stale, a tensor does not; the code generator turns it into an op-table index. Every core
# evaluates them identically between barriers (ariel_runtime.c). Each carries an empty marker output
# (the compiler's passes take every operator to have one).
BRANCH_IF_FALSE = "ARIEL_BRANCH_IF_FALSE"
JUMP = "ARIEL_JUMP"
CONTROL_OPS = (BRANCH_IF_FALSE, JUMP)
CONTROL_KIND = {BRANCH_IF_FALSE: "ARIEL_OP_BRANCH_IF_FALSE", JUMP: "ARIEL_OP_JUMP"}  # ariel_runtime.h
MARKER_SHAPE = (0,)


@dataclass(frozen=True)
class JumpOptions:
    after: int  # continue at the node after the one that writes this tensor


def _not_evaluated(p, inputs):
    raise AssertionError("jumps exist only in compiled plans; the reference executor runs IF/WHILE themselves")


def _lower_control(node: Node, graph: Graph, p) -> Any:
    from arielml.codegen.kernel_call import KernelCall
    # no kernel runs: the code generator emits the op-table row of a jump (codegen/emit.py)
    return KernelCall("0", "", (("after", node.options.after),), tuple(node.inputs), "data.c")


register(OpDef(name=BRANCH_IF_FALSE, options_type=JumpOptions, infer_shapes=lambda node, graph: [MARKER_SHAPE],
               prepare=lambda node, graph, semantics: node.options, evaluate=_not_evaluated, lower=_lower_control,
               num_inputs=(1, 1), num_outputs=(1, 1), compiler_only=True))
register(OpDef(name=JUMP, options_type=JumpOptions, infer_shapes=lambda node, graph: [MARKER_SHAPE],
               prepare=lambda node, graph, semantics: node.options, evaluate=_not_evaluated, lower=_lower_control,
               num_inputs=(0, 0), num_outputs=(1, 1), compiler_only=True))
