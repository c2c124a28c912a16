"""The reference executor: the semantics every other backend must reproduce byte for byte.

Like the memory planner, it keeps a tensor only while a later operator still reads it: an activation
is dropped after its last reader (graph outputs never are), so a long chain of large activations
needs memory for the few alive at once, not for all of them."""
from __future__ import annotations

import numpy as np

from arielml.ir import NO_TENSOR, Graph
from arielml.ir.verify import operator_errors
from arielml.ops.registry import LITERT, Semantics, lookup


def prepare_all(graph: Graph, semantics: Semantics = LITERT) -> list:
    """Compile-time parameters of every node, in node order."""
    prepared = []
    for node in graph.nodes:
        opdef = lookup(node)
        with operator_errors(node, "prepare"):  # safety net: op code failing on a corrupt graph -> ArielError
            prepared.append(opdef.prepare(node, graph, semantics))
    return prepared


def dead_after(graph: Graph) -> list[tuple[int, ...]]:
    """Per node: the non-constant tensors nothing reads after it (its inputs at their last read, its
    outputs that nothing reads), graph outputs excepted."""
    last: dict[int, int] = {}
    for pos, node in enumerate(graph.nodes):
        for t in node.inputs + node.outputs:
            if t != NO_TENSOR:
                last[t] = pos
    keep = set(graph.outputs) | set(graph.variables)  # state outlives the invocation
    dead: list[list[int]] = [[] for _ in graph.nodes]
    for t, pos in last.items():
        if t not in keep and not graph.tensors[t].is_constant:
            dead[pos].append(t)
    return [tuple(ts) for ts in dead]


def run_reference(graph: Graph, inputs: list[np.ndarray], prepared: list | None = None,
                  state: dict[int, np.ndarray] | None = None) -> list[np.ndarray]:
    """Evaluate the graph in execution order. Inputs must already be validated (see api).
    `state`: the variable tensors' values (Graph.initial_state() for a fresh session), updated in
    place with their values after this invocation; None: a fresh state, thrown away afterwards."""
    prepared = prepare_all(graph) if prepared is None else prepared
    state = graph.initial_state() if state is None else state
    values: dict[int, np.ndarray] = dict(state)
    for t, array in zip(graph.inputs, inputs):
        values[t] = array
    for node, params, dead in zip(graph.nodes, prepared, dead_after(graph)):
        opdef = lookup(node)
        args = [None if t == NO_TENSOR else values[t] if t in values else graph.tensors[t].data
                for t in node.inputs]
        with operator_errors(node, "evaluate"):  # safety net, as in prepare_all
            results = opdef.evaluate(params, args)
        del args  # the inputs' last references, when they are dead now
        updated = [node.inputs[k] for k in opdef.state_inputs]
        assert len(results) == len(node.outputs) + len(updated), f"{node.op} #{node.index}: wrong result count"
        for t, result in zip(tuple(node.outputs) + tuple(updated), results):
            tensor = graph.tensors[t]
            assert result.dtype == tensor.np_dtype and tuple(result.shape) == tensor.shape, (
                f"{node.op} #{node.index}: produced {result.dtype}{result.shape}, expected {tensor.dtype}{tensor.shape}")
            values[t] = result
        del results
        for t in dead:
            values.pop(t, None)
        if opdef.ends_invocation is not None and not bool(np.ravel(values[node.inputs[opdef.ends_invocation]])[0]):
            break  # the rest of this invocation does not run (TFLite Micro's kTfLiteAbort)
    state.update({t: values[t] for t in graph.variables})
    # outputs nothing wrote (an invocation that ended early) are unspecified: zeros here
    return [values[t] if t in values else graph.tensors[t].data if graph.tensors[t].is_constant
            else np.zeros(graph.tensors[t].shape, graph.tensors[t].np_dtype) for t in graph.outputs]
