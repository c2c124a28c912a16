"""Ending an invocation early (OpDef.ends_invocation: TFLite Micro's CIRCULAR_BUFFER returns
kTfLiteAbort on the invocations it only buffers): after such an operator, a branch to the end of
the op table when its flag is 0, so the operators after it - and any state they keep - run only on
the invocations TFLite Micro completes. The branch and its destination are the runtime jumps of
ops/control_flow.py: ARIEL_BRANCH_IF_FALSE continues "after the node that writes tensor `after`",
here a JUMP appended as the last node, which jumps to right after itself (it does nothing else)."""
from __future__ import annotations

import dataclasses

from arielml.ir import Node, Tensor
from arielml.ops.control_flow import BRANCH_IF_FALSE, JUMP, MARKER_SHAPE, JumpOptions
from arielml.ops.registry import REGISTRY
from arielml.passes.plan import Plan


def _marker(tensors: list[Tensor], name: str) -> int:
    tensors.append(Tensor(name=name, shape=MARKER_SHAPE, dtype="int8"))
    return len(tensors) - 1


def add_early_exits(plan: Plan) -> Plan:
    graph = plan.graph
    enders = [n for n in graph.nodes if REGISTRY.get(n.op) is not None and REGISTRY[n.op].ends_invocation is not None]
    if not enders:
        return plan
    tensors = list(graph.tensors)
    end = _marker(tensors, "invocation_end")
    nodes: list[Node] = []
    for node in graph.nodes:
        nodes.append(node)
        if node in enders:
            flag = node.inputs[REGISTRY[node.op].ends_invocation]
            nodes.append(Node(BRANCH_IF_FALSE, (flag,), (_marker(tensors, f"{node.op.lower()}_{node.index}/exit"),),
                              JumpOptions(end), index=node.index))
    nodes.append(Node(JUMP, (), (end,), JumpOptions(end), index=graph.nodes[-1].index))
    return dataclasses.replace(plan, graph=dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes)))
