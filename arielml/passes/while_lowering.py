"""WHILE decided at run time, compiled as a loop of the op table: Plan -> Plan (after if_convert).

    ASSIGN_VARIABLE(L_k, input_k)        the loop variables L_k: variable tensors (state block)
  top:
    <cond subgraph on L>  -> c
    ARIEL_BRANCH_IF_FALSE(c) -> exit
    <body subgraph on L>  -> B_k          fresh tensors, written once per trip
    ASSIGN_VARIABLE(L_k, B_k)
    ARIEL_JUMP -> top
  exit:
    READ_VARIABLE(L_k) -> output_k

Why the loop variables are variable tensors: they are the only values that cross from one trip to
the next (a subgraph sees nothing but its inputs and its constants), and the state block is outside
the arena, so the memory planner's straight-line lifetimes stay right for everything else (a tensor
of the cond or body lives within one trip; one defined before the loop and read after it spans the
whole stretch). ASSIGN_VARIABLE writes them through its state input, so every other tensor still has
one writer and the graph verifies. A session carries them like other state; every invocation
assigns them before reading them, so they never leak from one invocation to the next.

Not lowered (compiling stays a clear error): a cond or body with state, or with control flow of its
own other than an IF whose branches are simple (such an IF stays in the loop and passes/if_jumps.py,
which runs next, turns it into jumps). The reference executor keeps the WHILE (it evaluates the
subgraphs)."""
from __future__ import annotations

import dataclasses

from arielml.ir import Graph, Node, Tensor
from arielml.ops.control_flow import BRANCH_IF_FALSE, JUMP, MARKER_SHAPE, JumpOptions
from arielml.ops.registry import REGISTRY
from arielml.ops.resource_variables import ASSIGN_MARKER_SHAPE
from arielml.passes.control_flow import inline
from arielml.passes.plan import Plan

NOT_IN_A_LOOP = ("IF", "WHILE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")


def lower_while(plan: Plan) -> Plan:
    graph = plan.graph
    if not any(n.op == "WHILE" and _lowerable(graph, n) for n in graph.nodes):
        return plan
    tensors, nodes, notes = list(graph.tensors), [], list(plan.notes)
    for node in graph.nodes:
        if node.op == "WHILE" and _lowerable(graph, node):
            _lower(graph, tensors, nodes, node)
            notes.append(f"WHILE #{node.index}: its trip count is known only at run time; it runs as a loop of the "
                         "op table (loop variables in the state block)")
        else:
            nodes.append(node)
    lowered = dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes))
    return dataclasses.replace(plan, graph=lowered, notes=tuple(notes))


def _simple(sub: Graph, graph: Graph | None = None) -> bool:
    """No state and no control flow in `sub`; with `graph` (the model, whose subgraphs an IF names),
    an IF whose branches are themselves simple is allowed (passes/if_jumps.py lowers it)."""
    return not sub.variables and all(
        (graph is not None and simple_if(graph, n, sub)) or (
            n.op in REGISTRY and n.op not in NOT_IN_A_LOOP and not REGISTRY[n.op].state_inputs
            and REGISTRY[n.op].internal_state is None) for n in sub.nodes)


def simple_if(graph: Graph, node: Node, owner: Graph | None = None) -> bool:
    """An IF with a bool condition, outputs, and two branches without state or control flow. `graph`
    holds the subgraphs the IF names; `owner` is the (sub)graph the node is in (default: graph)."""
    if node.op != "IF" or not node.inputs or not node.outputs:
        return False
    o = node.options
    branches = [graph.subgraphs[i] if 0 < i < len(graph.subgraphs) else None
                for i in (o.then_subgraph_index, o.else_subgraph_index)]
    condition = (owner or graph).tensors[node.inputs[0]]
    return condition.dtype == "bool" and all(b is not None and _simple(b) for b in branches)


def _lowerable(graph: Graph, node: Node) -> bool:
    if not node.inputs:  # no loop variable: nothing could ever end the loop
        return False
    o = node.options
    subs = [graph.subgraphs[i] if 0 < i < len(graph.subgraphs) else None
            for i in (o.cond_subgraph_index, o.body_subgraph_index)]
    return all(s is not None and _simple(s, graph) for s in subs)


def _new(tensors: list[Tensor], template: Tensor, name: str, **changes) -> int:
    fields = {"data": None, "variable": False, "initial": None, **changes}
    tensors.append(dataclasses.replace(template, name=name, **fields))
    return len(tensors) - 1


def _marker(tensors: list[Tensor], name: str, shape=MARKER_SHAPE) -> int:
    tensors.append(Tensor(name=name, shape=shape, dtype="int8"))
    return len(tensors) - 1


def assign_node(tensors: list[Tensor], variable: int, value: int, name: str, index: int) -> Node:
    """ASSIGN_VARIABLE(variable, value) with a fresh marker output named `name`."""
    return Node("ASSIGN_VARIABLE", (variable, value), (_marker(tensors, name, ASSIGN_MARKER_SHAPE),), index=index)


def _lower(graph: Graph, tensors: list[Tensor], nodes: list[Node], node: Node) -> None:
    cond = graph.subgraphs[node.options.cond_subgraph_index]
    body = graph.subgraphs[node.options.body_subgraph_index]
    tag, index = f"while{node.index}", node.index
    loop_vars = [_new(tensors, graph.tensors[t], f"{tag}/var{k}", variable=True) for k, t in enumerate(node.inputs)]

    def assign(variable: int, value: int, what: str) -> Node:
        return assign_node(tensors, variable, value, f"{tag}/{what}", index)

    nodes += [assign(v, t, f"enter{k}") for k, (v, t) in enumerate(zip(loop_vars, node.inputs))]
    top = nodes[-1].outputs[0]  # the loop starts after the last entry assignment
    condition = _new(tensors, cond.tensors[cond.outputs[0]], f"{tag}/condition")
    nodes += inline(tensors, cond, loop_vars, [condition], index, f"{tag}/cond")
    branch = len(nodes)
    nodes.append(None)  # the branch, once the exit's position is known
    results = [_new(tensors, body.tensors[t], f"{tag}/next{k}") for k, t in enumerate(body.outputs)]
    nodes += inline(tensors, body, loop_vars, results, index, f"{tag}/body")
    nodes += [assign(v, t, f"next{k}") for k, (v, t) in enumerate(zip(loop_vars, results))]
    jump = _marker(tensors, f"{tag}/jump")
    nodes.append(Node(JUMP, (), (jump,), JumpOptions(top), index=index))
    nodes[branch] = Node(BRANCH_IF_FALSE, (condition,), (_marker(tensors, f"{tag}/branch"),), JumpOptions(jump),
                         index=index)
    nodes += [Node("READ_VARIABLE", (v,), (out,), index=index) for v, out in zip(loop_vars, node.outputs)]
