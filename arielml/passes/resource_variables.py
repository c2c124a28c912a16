"""Resource variables resolved at compile time: Graph -> Graph (run by the frontend, after
passes/control_flow.py has inlined the control flow it could).

TFLite names a resource variable by VAR_HANDLE's (container, shared_name); every handle with the same
pair is the same variable, in whichever subgraph it is made. Here:

1. CALL_ONCE's init subgraph reads nothing but constants, so it is run now (reference executor):
   the values it assigns become the variables' initial values (Tensor.initial). TFLite runs it at
   the first invocation; the state block starts with those values, and <name>_reset() (called by
   the first <name>_init()) and Session.reset() restore them: a reset is a fresh start.
2. Each variable becomes one variable tensor of the main graph (the state block), shaped and typed
   like the values assigned to it (and read from it); every handle is replaced by it, and the
   VAR_HANDLE and CALL_ONCE operators disappear. READ_VARIABLE and ASSIGN_VARIABLE stay, as copies
   out of and into the state (ops/resource_variables.py); ASSIGN_VARIABLE gets an empty marker
   output (the compiler's passes take every operator to have an output).

A variable nothing assigns before it is read starts from zero bytes (TFLite Micro zero-fills a
resource variable; LiteRT refuses to read an unassigned one)."""
from __future__ import annotations

import dataclasses

import numpy as np

from arielml.errors import UnsupportedOperatorError
from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ir.verify import operator_errors
from arielml.ops.registry import LITERT, lookup
from arielml.ops.resource_variables import ASSIGN_MARKER_SHAPE

RESOURCE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")
Key = tuple[bytes, bytes]  # (container, shared_name)


def resolve_resource_variables(graph: Graph) -> Graph:
    if not any(n.op in RESOURCE_OPS for n in graph.nodes):
        return graph
    initial: dict[Key, np.ndarray] = {}
    for node in graph.nodes:
        if node.op == "CALL_ONCE":
            _run_init(graph, node, initial, depth=0)
    handles = _handles(graph)
    layouts = _layouts(graph, handles, initial)
    tensors, nodes = list(graph.tensors), []
    variable_of: dict[Key, int] = {}
    for key, template in layouts.items():
        value = initial.get(key)
        if value is None:
            value = np.zeros(template.shape, template.np_dtype)
        tensors.append(dataclasses.replace(template, name=f"variable:{_name(key)}", data=None, variable=True,
                                           initial=np.array(value, dtype=template.np_dtype).reshape(template.shape)))
        variable_of[key] = len(tensors) - 1
    for node in graph.nodes:
        if node.op in ("VAR_HANDLE", "CALL_ONCE"):
            continue
        node = dataclasses.replace(node, inputs=tuple(variable_of[handles[t]] if t in handles else t
                                                      for t in node.inputs))
        if node.op == "ASSIGN_VARIABLE" and not node.outputs:
            tensors.append(Tensor(name=f"assign{node.index}:marker", shape=ASSIGN_MARKER_SHAPE, dtype="int8"))
            node = dataclasses.replace(node, outputs=(len(tensors) - 1,))
        nodes.append(node)
    used = {t for n in nodes for t in n.inputs + n.outputs} | set(graph.inputs) | set(graph.outputs)
    for t in handles:
        if t in set(graph.inputs) | set(graph.outputs):
            raise UnsupportedOperatorError(f"resource tensor '{graph.tensors[t].name}' is a graph input or output; "
                                           "arielml keeps resource variables inside the model")
        if t not in used:  # the handle itself is gone: leave a harmless scalar in its slot
            tensors[t] = Tensor(name=tensors[t].name, shape=(), dtype="int32", data=np.zeros((), np.int32))
    notes = list(graph.notes) + [
        f"resource variable '{_name(key)}' is state tensor {variable_of[key]}"
        + (" (initial value from CALL_ONCE's init subgraph, computed at compile time)" if key in initial else "")
        for key in layouts]
    return dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes), notes=tuple(notes))


def _name(key: Key) -> str:
    container, shared = key
    return (container.decode(errors="replace") + "/" if container else "") + shared.decode(errors="replace")


def _key(node: Node) -> Key:
    return (node.options.container or b"", node.options.shared_name or b"")


def _handles(graph: Graph) -> dict[int, Key]:
    """resource tensor -> the variable it names"""
    handles = {}
    for node in graph.nodes:
        if node.op == "VAR_HANDLE":
            handles[node.outputs[0]] = _key(node)
    for node in graph.nodes:
        if node.op in ("READ_VARIABLE", "ASSIGN_VARIABLE") and node.inputs[0] not in handles:
            raise UnsupportedOperatorError(
                f"{node.op} (operator #{node.index}): its resource input does not come from a VAR_HANDLE of the "
                "main graph (a handle passed in from outside is not supported)")
    return handles


def _layouts(graph: Graph, handles: dict[int, Key], initial: dict[Key, np.ndarray]) -> dict[Key, Tensor]:
    """Each variable's shape, dtype and quantisation: from the tensors assigned to it and read from it,
    which must all agree (TFLite would resize the variable; arielml's state block has fixed sizes)."""
    seen: dict[Key, tuple[Tensor, str]] = {}

    def agree(key: Key, tensor: Tensor, where: str) -> None:
        if key not in seen:
            seen[key] = (tensor, where)
            return
        first, first_where = seen[key]
        if (first.shape, first.dtype) != (tensor.shape, tensor.dtype):
            raise UnsupportedOperatorError(
                f"resource variable '{_name(key)}' is {first.dtype}{list(first.shape)} at {first_where} and "
                f"{tensor.dtype}{list(tensor.shape)} at {where}; a variable that changes shape or type is not supported")

    for node in graph.nodes:
        if node.op == "ASSIGN_VARIABLE":
            agree(handles[node.inputs[0]], graph.tensors[node.inputs[1]], f"ASSIGN_VARIABLE #{node.index}")
    for node in graph.nodes:
        if node.op == "READ_VARIABLE":
            agree(handles[node.inputs[0]], graph.tensors[node.outputs[0]], f"READ_VARIABLE #{node.index}")
    for key, value in initial.items():
        if key in seen:
            template = seen[key][0]
            if tuple(value.shape) != template.shape or value.dtype != template.np_dtype:
                raise UnsupportedOperatorError(
                    f"resource variable '{_name(key)}': CALL_ONCE's init subgraph assigns {value.dtype}"
                    f"{list(value.shape)}, the model uses {template.dtype}{list(template.shape)}")
    for key in set(handles.values()):
        if key not in seen:
            raise UnsupportedOperatorError(f"resource variable '{_name(key)}' is neither read nor assigned by the "
                                           "main graph; arielml cannot tell its shape")
    return {key: seen[key][0] for key in sorted(seen)}


def _run_init(graph: Graph, call: Node, initial: dict[Key, np.ndarray], depth: int) -> None:
    """Run CALL_ONCE's init subgraph now (it has no inputs: only constants and variables): record
    what it assigns."""
    index = call.options.init_subgraph_index
    if not 0 < index < len(graph.subgraphs) or graph.subgraphs[index] is None or depth > 8:
        raise UnsupportedOperatorError(f"CALL_ONCE (operator #{call.index}) names init subgraph {index}, which the "
                                       f"model does not have (or calls itself) (corrupt file)")
    sub = graph.subgraphs[index]
    if sub.inputs:
        raise UnsupportedOperatorError(f"CALL_ONCE (operator #{call.index}): init subgraph {index} takes inputs; "
                                       "TFLite's init subgraphs take none")
    values: dict[int, object] = {t: tensor.data for t, tensor in enumerate(sub.tensors) if tensor.is_constant}
    for node in sub.nodes:
        if node.op == "VAR_HANDLE":
            values[node.outputs[0]] = _key(node)
        elif node.op == "ASSIGN_VARIABLE":
            initial[values[node.inputs[0]]] = np.array(values[node.inputs[1]], copy=True)
        elif node.op == "READ_VARIABLE":
            key = values[node.inputs[0]]
            if key not in initial:
                raise UnsupportedOperatorError(f"CALL_ONCE (operator #{call.index}): init subgraph {index} reads "
                                               f"variable '{_name(key)}' before assigning it")
            values[node.outputs[0]] = initial[key]
        elif node.op == "CALL_ONCE":
            _run_init(graph, node, initial, depth + 1)
        else:
            opdef = lookup(node)
            with operator_errors(node, "CALL_ONCE's init subgraph"):
                opdef.check(node, sub)
                results = opdef.evaluate(opdef.prepare(node, sub, LITERT),
                                         [None if t == NO_TENSOR else values[t] for t in node.inputs])
            values.update(zip(node.outputs, results))
