"""IF decided at run time whose branches if-conversion must not run both of: Plan -> Plan (after
lower_while), compiled as jumps of the op table, so that only the taken branch runs.

    ARIEL_BRANCH_IF_FALSE(condition) -> else
    <then subgraph>           -> T_k
    ASSIGN_VARIABLE(R_k, T_k)
    ARIEL_JUMP -> end
  else:
    <else subgraph>           -> E_k
    ASSIGN_VARIABLE(R_k, E_k)
  end:
    READ_VARIABLE(R_k)        -> output_k

if_conversion runs both branches and selects, which is wrong for a branch that gathers or divides
on values the taken branch guards against (an index out of range, a zero divisor). The results R_k
are variable tensors for the reason loop variables are (passes/while_lowering.py): two branches
write them and each tensor keeps one writer. The condition is read as the runtime reads a WHILE's
(its first byte, TFLite's first element).

Lowered here: IFs left after if_conversion whose branches hold neither control flow nor state, also
inside a WHILE body (lower_while leaves an IF with such branches in the loop, and this pass runs
after it). The reference executor keeps the IF."""
from __future__ import annotations

import dataclasses

from arielml.ir import Graph, Node, Tensor
from arielml.ops.control_flow import BRANCH_IF_FALSE, JUMP, JumpOptions
from arielml.passes.control_flow import inline
from arielml.passes.plan import Plan
from arielml.passes.while_lowering import _marker, _new, assign_node, simple_if as jumpable


def lower_if_jumps(plan: Plan) -> Plan:
    graph = plan.graph
    if not any(jumpable(graph, n) for n in graph.nodes):
        return plan
    tensors, nodes, notes = list(graph.tensors), [], list(plan.notes)
    for node in graph.nodes:
        if jumpable(graph, node):
            _lower(graph, tensors, nodes, node)
            notes.append(f"IF #{node.index}: its condition is known only at run time and a branch must not run on "
                         "the other's values; it runs as jumps of the op table (only the taken branch runs)")
        else:
            nodes.append(node)
    lowered = dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes))
    return dataclasses.replace(plan, graph=lowered, notes=tuple(notes))


def _lower(graph: Graph, tensors: list[Tensor], nodes: list[Node], node: Node) -> None:
    o = node.options
    tag, index = f"if{node.index}", node.index
    results = [_new(tensors, graph.tensors[t], f"{tag}/result{k}", variable=True) for k, t in enumerate(node.outputs)]
    branch = len(nodes)
    nodes.append(None)  # the branch, once the else branch's start is known
    jump = None
    for name, sub_index in (("then", o.then_subgraph_index), ("else", o.else_subgraph_index)):
        sub = graph.subgraphs[sub_index]
        values = [_new(tensors, sub.tensors[t], f"{tag}/{name}{k}") for k, t in enumerate(sub.outputs)]
        nodes += inline(tensors, sub, list(node.inputs[1:]), values, index, f"{tag}/{name}")
        nodes += [assign_node(tensors, r, v, f"{tag}/{name}/assign{k}", index)
                  for k, (r, v) in enumerate(zip(results, values))]
        if jump is None:  # after the then branch: skip the else branch
            jump = len(nodes)
            nodes.append(None)
    end = nodes[-1].outputs[0]  # the else branch's last node (an assignment: every IF has an output)
    jump_marker = _marker(tensors, f"{tag}/jump")
    nodes[jump] = Node(JUMP, (), (jump_marker,), JumpOptions(end), index=index)
    nodes[branch] = Node(BRANCH_IF_FALSE, (node.inputs[0],), (_marker(tensors, f"{tag}/branch"),),
                         JumpOptions(jump_marker), index=index)
    nodes += [Node("READ_VARIABLE", (r,), (out,), index=index) for r, out in zip(results, node.outputs)]
