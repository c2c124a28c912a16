"""Control flow known at compile time, inlined: Graph -> Graph (run by the frontend on every model
with several subgraphs, before passes/resource_variables.py).

- IF whose condition is known at compile time: the branch it takes is copied into the main graph,
  its inputs reading the IF's inputs and its results landing in the IF's outputs.
- WHILE whose trip count is known at compile time: the loop variables the condition depends on
  (with every variable the body computes them from) all start from values known at compile time.
  The loop is then simulated on those variables alone (the body pruned to what computes them), and
  unrolled when it is short (MAX_UNROLLED_TRIPS, MAX_UNROLLED_NODES): the body copied once per trip.

"Known at compile time": a constant tensor, or the output of an operator without state whose inputs
are all known (evaluated here with the reference executor; small tensors only). The inlined nodes
go through the same walk, so control flow nested in a branch or a body is inlined in turn.

Anything else stays an IF or WHILE operator over the model's subgraphs (ops/control_flow.py)."""
from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np

from arielml.errors import ArielError, ModelFormatError
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.registry import LITERT, REGISTRY
from arielml.ops.resource_variables import COPY

MAX_UNROLLED_TRIPS = 16
MAX_UNROLLED_NODES = 512  # body nodes x trips
MAX_SIMULATED_TRIPS = 10_000  # a loop running longer than this at compile time stays a loop
MAX_KNOWN_ELEMENTS = 4096  # larger results are not evaluated at compile time (it is for conditions)
# nodes the inlining may add in all: far beyond any real model; a subgraph that (through a corrupt
# file) calls itself would otherwise be inlined for ever
MAX_INLINED_NODES = 100_000
_NOT_EVALUATED = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "IF", "WHILE")


def inline_control_flow(graph: Graph) -> Graph:
    if len(graph.subgraphs) < 2:
        return graph
    tensors = list(graph.tensors)
    known: dict[int, np.ndarray] = {t: tensor.data for t, tensor in enumerate(tensors) if tensor.is_constant}
    notes = list(graph.notes)
    pending, nodes, added = deque(graph.nodes), [], 0
    while pending:
        node = pending.popleft()
        for t in node.inputs:  # constants an inlined subgraph brought along are known too
            if t != NO_TENSOR and t not in known and tensors[t].is_constant:
                known[t] = tensors[t].data
        inlined = None
        if node.op == "IF" and node.inputs and node.inputs[0] in known:
            taken = bool(np.asarray(known[node.inputs[0]]).flat[0])
            branch = node.options.then_subgraph_index if taken else node.options.else_subgraph_index
            inlined = inline(tensors, _subgraph(graph, node, branch), list(node.inputs[1:]), list(node.outputs),
                             node.index, f"if{node.index}")
            notes.append(f"IF #{node.index}: the condition is known at compile time ({taken}); the "
                         f"{'then' if taken else 'else'} branch (subgraph {branch}) is inlined")
        elif node.op == "WHILE":
            trips = _trip_count(graph, node, known)
            if trips is not None and trips <= MAX_UNROLLED_TRIPS and (
                    trips * len(_subgraph(graph, node, node.options.body_subgraph_index).nodes) <= MAX_UNROLLED_NODES):
                inlined = _unroll(graph, tensors, node, trips)
                notes.append(f"WHILE #{node.index}: {trips} trips, known at compile time; the loop is unrolled")
        if inlined is not None:
            added += len(inlined)
            if added > MAX_INLINED_NODES:
                raise ModelFormatError(f"{node.op} (operator #{node.index}): inlining its subgraphs adds more than "
                                       f"{MAX_INLINED_NODES} operators; a subgraph calls itself (corrupt file)")
            pending.extendleft(reversed(inlined))
            continue
        nodes.append(node)
        _evaluate_known(graph, tensors, node, known)
    return dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes), notes=tuple(dict.fromkeys(notes)))


def _subgraph(graph: Graph, node: Node, index: int) -> Graph:
    from arielml.ops.control_flow import subgraph
    if not 0 < index < len(graph.subgraphs) or graph.subgraphs[index] is None:
        return subgraph(node, graph, index)  # raises the clear error
    return graph.subgraphs[index]


def inline(tensors: list[Tensor], sub: Graph, inputs: list[int], outputs: list[int] | None, index: int,
           tag: str) -> list[Node]:
    """Copy sub's nodes into the outer graph (whose tensors are `tensors`, appended to): sub's inputs
    read the outer `inputs`, its other tensors become new outer tensors (constants keep their data),
    and its results land in the outer `outputs` (an ARIEL_COPY where a result is one of sub's
    inputs, a constant, or listed twice). Returns the new nodes, each carrying the outer `index`."""
    mapping = dict(zip(sub.inputs, inputs))
    written = {t for n in sub.nodes for t in n.outputs}
    copies = []
    for k, t in enumerate(sub.outputs):
        if t in written and t not in mapping:
            mapping[t] = outputs[k]
        else:
            copies.append(k)

    def outer(t: int) -> int:
        if t == NO_TENSOR:
            return t
        if t not in mapping:
            tensors.append(dataclasses.replace(sub.tensors[t], name=f"{tag}/{sub.tensors[t].name}"))
            mapping[t] = len(tensors) - 1
        return mapping[t]

    nodes = [dataclasses.replace(n, inputs=tuple(outer(t) for t in n.inputs),
                                 outputs=tuple(outer(t) for t in n.outputs), index=index) for n in sub.nodes]
    nodes += [Node(COPY, (outer(sub.outputs[k]),), (outputs[k],), index=index) for k in copies]
    return nodes


def _unroll(graph: Graph, tensors: list[Tensor], node: Node, trips: int) -> list[Node]:
    body = _subgraph(graph, node, node.options.body_subgraph_index)
    current, nodes = list(node.inputs), []
    for trip in range(trips):
        last = trip == trips - 1
        if last:
            targets = list(node.outputs)
        else:  # this trip's results: new tensors shaped like the body's outputs
            targets = []
            for k, t in enumerate(body.outputs):
                tensors.append(dataclasses.replace(body.tensors[t], data=None, variable=False,
                                                   name=f"while{node.index}/trip{trip}/var{k}"))
                targets.append(len(tensors) - 1)
        nodes += inline(tensors, body, current, targets, node.index, f"while{node.index}/trip{trip}")
        current = targets
    if trips == 0:
        nodes = [Node(COPY, (t,), (out,), index=node.index) for t, out in zip(node.inputs, node.outputs)]
    return nodes


def _dependencies(sub: Graph) -> list[set[int]]:
    """Per output of sub: the positions of the inputs it is computed from."""
    deps: dict[int, set[int]] = {t: {k} for k, t in enumerate(sub.inputs)}
    for n in sub.nodes:
        d = set().union(*(deps.get(t, set()) for t in n.inputs if t != NO_TENSOR))
        for t in n.outputs:
            deps[t] = d
    return [deps.get(t, set()) for t in sub.outputs]


def _pruned(sub: Graph, keep_outputs: list[int]) -> Graph:
    """sub computing only the outputs at positions keep_outputs (the nodes they need)."""
    needed = {sub.outputs[k] for k in keep_outputs}
    kept = []
    for n in reversed(sub.nodes):
        if needed & set(n.outputs):
            kept.append(n)
            needed |= {t for t in n.inputs if t != NO_TENSOR}
    return dataclasses.replace(sub, nodes=tuple(reversed(kept)), outputs=tuple(sub.outputs[k] for k in keep_outputs))


def _trip_count(graph: Graph, node: Node, known: dict[int, np.ndarray]) -> int | None:
    """How often the loop's body runs, when the condition's variables are known; else None."""
    from arielml.backends.reference import run_reference
    cond = _subgraph(graph, node, node.options.cond_subgraph_index)
    body = _subgraph(graph, node, node.options.body_subgraph_index)
    if len(cond.inputs) != len(node.inputs) or len(body.outputs) != len(node.inputs) or len(cond.outputs) != 1:
        return None  # malformed: the WHILE operator's check says why
    relevant = _dependencies(cond)[0]
    body_deps = _dependencies(body)
    while True:
        grown = relevant.union(*(body_deps[k] for k in relevant))
        if grown == relevant:
            break
        relevant = grown
    if any(node.inputs[k] not in known for k in relevant):
        return None
    order = sorted(relevant)
    step = _pruned(body, order)
    values = [np.zeros(body.tensors[t].shape, body.tensors[t].np_dtype) for t in body.inputs]
    for k in order:
        values[k] = np.asarray(known[node.inputs[k]])
    try:
        with np.errstate(all="ignore"):
            for trips in range(MAX_SIMULATED_TRIPS + 1):
                if not bool(np.asarray(run_reference(cond, values)[0]).flat[0]):
                    return trips
                for k, value in zip(order, run_reference(step, values)):
                    values[k] = value
    except (ArielError, ArithmeticError, ValueError, IndexError, AssertionError):
        return None  # the condition cannot be evaluated here: the loop stays a loop
    return None


def _evaluate_known(graph: Graph, tensors: list[Tensor], node: Node, known: dict[int, np.ndarray]) -> None:
    """Record node's outputs as known when its inputs are and it is a pure operator with small results."""
    opdef = REGISTRY.get(node.op)
    if (opdef is None or node.op in _NOT_EVALUATED or opdef.state_inputs or opdef.internal_state is not None
            or any(t != NO_TENSOR and t not in known for t in node.inputs)
            or sum(tensors[t].num_elements for t in node.outputs) > MAX_KNOWN_ELEMENTS):
        return
    view = Graph(tensors=tuple(tensors), nodes=(node,), inputs=(), outputs=(), subgraphs=graph.subgraphs)
    try:
        with np.errstate(all="ignore"):
            opdef.check(node, view)
            results = opdef.evaluate(opdef.prepare(node, view, LITERT),
                                     [None if t == NO_TENSOR else known[t] for t in node.inputs])
    except Exception:  # the verifier reports a bad operator later with its own message; here: unknown
        return
    for t, value in zip(node.outputs, results):
        if tuple(np.shape(value)) == tensors[t].shape:
            known[t] = np.asarray(value)
