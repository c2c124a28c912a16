"""First passes: lower each graph node to a Step (prepare + C lowering), then decide which tensors
share bytes: views (RESHAPE, SQUEEZE, EXPAND_DIMS) always, elementwise outputs over a dead input
when the operator allows it (in-place)."""
from __future__ import annotations

from dataclasses import replace

from arielml.errors import UnsupportedOperatorError
from arielml.ir import NO_TENSOR, Graph
from arielml.ops.registry import lookup
from arielml.passes.plan import Plan, Step


def lower(plan: Plan) -> Plan:
    """One Step per node: compile-time params, C kernel call, work items, costs, dependencies."""
    graph = plan.graph
    steps: list[Step] = []
    producer: dict[int, int] = {}
    missing: list[str] = []
    for pos, node in enumerate(graph.nodes):
        opdef = lookup(node)
        params = opdef.prepare(node, graph, plan.options.semantics)
        reads = tuple(dict.fromkeys(t for t in node.inputs if t != NO_TENSOR and not graph.tensors[t].is_constant))
        after = tuple(sorted({producer[t] for t in reads if t in producer}))
        call, items = None, 1
        if not opdef.view:
            if opdef.lower is None:
                missing.append(f"{node.op} (operator #{node.index})")
            else:
                call = opdef.lower(node, graph, params)
            items = max(1, opdef.work_items(node, graph)) if opdef.work_items else 1
        out_elements = sum(graph.tensors[t].num_elements for t in node.outputs)
        steps.append(Step(node=pos, op=node.op, params=params, call=call, view=opdef.view, work_items=items,
                          item_macs=opdef.macs(node, graph) / items, item_elements=out_elements / items,
                          reads=reads, writes=tuple(node.outputs), after=after,
                          scratch_bytes=call.scratch_bytes if call is not None else 0))
        for t in node.outputs:
            producer[t] = len(steps) - 1
    if missing and plan.options.kernels_required:
        raise UnsupportedOperatorError(
            f"no C kernel yet for {', '.join(missing)}; run this model with backend='reference', "
            "or add the kernel (docs/runtime.md, 'how to add a kernel')")
    return replace(plan, steps=tuple(steps), alias=tuple(range(len(graph.tensors))))


def alias_views(plan: Plan) -> Plan:
    """A view's output shares its input's bytes (also when the input is a constant: then the output
    points into the weights)."""
    alias = list(plan.alias)
    for step in plan.steps:
        if step.is_view:
            node = plan.graph.nodes[step.node]
            alias[node.outputs[0]] = node.inputs[0]
    return replace(plan, alias=tuple(alias))


def _last_reads(graph: Graph, steps: tuple[Step, ...]) -> dict[int, int]:
    last: dict[int, int] = {}
    for i, step in enumerate(steps):
        for t in graph.nodes[step.node].inputs:
            if t != NO_TENSOR:
                last[t] = i
    return last


def alias_inplace(plan: Plan) -> Plan:
    """Let an operator write its output over an input whose bytes nobody needs afterwards.

    Safe when: the operator declares `inplace_input` (output element i depends only on element i of
    that input), sizes and element sizes match, the input's bytes (with every alias of them) are
    read by no later step, are not a graph input (the caller's data) nor a graph output, and no
    other input of the step reads the same bytes in another shape."""
    graph = plan.graph
    alias = list(plan.alias)
    last = _last_reads(graph, plan.steps)
    protected = set(graph.inputs) | set(graph.outputs)
    notes = list(plan.notes)

    def root(t: int) -> int:
        while alias[t] != t:
            t = alias[t]
        return t

    for i, step in enumerate(plan.steps):
        opdef = lookup(graph.nodes[step.node])
        if step.is_view or opdef.inplace_input is None:
            continue
        node = graph.nodes[step.node]
        if opdef.inplace_input >= len(node.inputs) or len(node.outputs) != 1:
            continue
        src, out = node.inputs[opdef.inplace_input], node.outputs[0]
        if src == NO_TENSOR or graph.tensors[src].is_constant:
            continue
        r = root(src)
        family = [t for t in range(len(graph.tensors)) if root(t) == r]
        a, b = graph.tensors[src], graph.tensors[out]
        if (graph.tensors[r].is_constant or any(t in protected for t in family)
                or any(last.get(t, -1) > i for t in family)
                or a.nbytes != b.nbytes or a.np_dtype.itemsize != b.np_dtype.itemsize
                or any(t != src and t in family and graph.tensors[t].shape != a.shape for t in node.inputs)):
            continue
        alias[out] = src
        notes.append(f"{node.op} #{node.index} writes '{b.name}' in place over '{a.name}'")
    return replace(plan, alias=tuple(alias), notes=tuple(notes))
