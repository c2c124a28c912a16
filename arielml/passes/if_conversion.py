"""IF decided at run time, compiled by if-conversion: Plan -> Plan (the first pass of the pipeline).

The C runtime executes a flat op table, so an IF whose condition is only known at run time (one
passes/control_flow.py could not inline) is compiled as both branches, one after the other, each
inlined with its results in tensors of its own, then one SELECT_V2 per output picking the taken
branch's result by the condition. A branch is a pure function of its inputs (state inside a branch
is refused), so the bytes are those of the branch TFLite runs; the cost is that both run (the
plan's estimates and the profile say so: every op of both branches appears in them).

Not converted (the IF stays, and compiling it fails with a clear error):
- branches with operators whose addressing depends on the values (GATHER, GATHER_ND,
  EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE) or that divide (DIV, FLOOR_DIV, FLOOR_MOD): run on
  the values of the branch TFLite does not take, they could read out of bounds or trap;
- branches with control flow of their own (IF, WHILE) or state;
- a condition of more than one element (TFLite reads its first) or of higher rank than an output,
  and outputs SELECT_V2 does not take.
The reference executor keeps the IF (it runs the taken branch only): the oracle the converted plan
is compared with."""
from __future__ import annotations

import dataclasses

from arielml.ir import Graph, Node, Tensor
from arielml.ops.compare import SELECT_TYPES
from arielml.ops.registry import REGISTRY
from arielml.passes.control_flow import inline
from arielml.passes.plan import Plan

UNSAFE_ON_UNTAKEN_VALUES = ("GATHER", "GATHER_ND", "EMBEDDING_LOOKUP", "DYNAMIC_UPDATE_SLICE", "DIV", "FLOOR_DIV",
                            "FLOOR_MOD", "IF", "WHILE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")


def if_convert(plan: Plan) -> Plan:
    graph = plan.graph
    if not any(n.op == "IF" for n in graph.nodes):
        return plan
    tensors, nodes, notes = list(graph.tensors), [], list(plan.notes)
    for node in graph.nodes:
        if node.op == "IF" and _convertible(graph, node):
            nodes += _converted(graph, tensors, node)
            notes.append(f"IF #{node.index}: its condition is known only at run time; both branches run and a "
                         "SELECT_V2 per output keeps the taken one's result")
        else:
            nodes.append(node)
    converted = dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes))
    return dataclasses.replace(plan, graph=converted, notes=tuple(notes))


def _safe(sub: Graph) -> bool:
    for n in sub.nodes:
        opdef = REGISTRY.get(n.op)
        if opdef is None or n.op in UNSAFE_ON_UNTAKEN_VALUES or opdef.state_inputs or opdef.internal_state:
            return False
    return not sub.variables


def _convertible(graph: Graph, node: Node) -> bool:
    o = node.options
    branches = [graph.subgraphs[i] if 0 < i < len(graph.subgraphs) else None
                for i in (o.then_subgraph_index, o.else_subgraph_index)]
    cond = graph.tensors[node.inputs[0]]
    outputs = [graph.tensors[t] for t in node.outputs]
    return (all(b is not None and _safe(b) for b in branches) and cond.dtype == "bool" and cond.num_elements == 1
            and all(len(cond.shape) <= len(out.shape) and out.dtype in SELECT_TYPES for out in outputs))


def _converted(graph: Graph, tensors: list[Tensor], node: Node) -> list[Node]:
    o = node.options
    results = []
    nodes: list[Node] = []
    for name, index in (("then", o.then_subgraph_index), ("else", o.else_subgraph_index)):
        targets = []
        for t in node.outputs:
            tensors.append(dataclasses.replace(graph.tensors[t], name=f"if{node.index}/{name}/{graph.tensors[t].name}"))
            targets.append(len(tensors) - 1)
        nodes += inline(tensors, graph.subgraphs[index], list(node.inputs[1:]), targets, node.index,
                        f"if{node.index}/{name}")
        results.append(targets)
    for out, taken, other in zip(node.outputs, *results):
        nodes.append(Node("SELECT_V2", (node.inputs[0], taken, other), (out,), index=node.index))
    return nodes
