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
        state_written = tuple(node.inputs[k] for k in opdef.state_inputs)
        call, items = None, 1
        if not opdef.view:
            if opdef.lower is None:
                missing.append(f"{node.op} (operator #{node.index})")
            else:
                call = opdef.lower(node, graph, params)
                check_buffer_count(node, call)
            items = max(1, opdef.work_items(node, graph)) if opdef.work_items else 1
        out_elements = sum(graph.tensors[t].num_elements for t in node.outputs)
        steps.append(Step(node=pos, op=node.op, params=params, call=call, view=opdef.view, work_items=items,
                          item_macs=opdef.macs(node, graph) / items, item_elements=out_elements / items,
                          reads=reads, writes=tuple(node.outputs) + state_written, after=after,
                          scratch_bytes=call.scratch_bytes if call is not None else 0))
        for t in node.outputs + state_written:
            producer[t] = len(steps) - 1
    if missing and plan.options.kernels_required:
        raise UnsupportedOperatorError(
            f"no C kernel yet for {', '.join(missing)}; run this model with backend='reference', "
            "or add the kernel (docs/runtime.md, 'how to add a kernel')")
    # a pass before lowering (bands) may already have placed tensors inside others' bytes
    alias = plan.alias or tuple(range(len(graph.tensors)))
    return replace(plan, steps=tuple(steps), alias=alias,
                   alias_offset=plan.alias_offset or tuple(0 for _ in graph.tensors))


# ariel_runtime.h: an op's buffer count is a uint8_t, and run_tile gathers an op with per-core
# scratch into a stack array of ARIEL_MAX_BUFFERS pointers (its buffers, then the scratch slice)
ARIEL_MAX_BUFFERS = 10
MAX_OP_BUFFERS = 255


def check_buffer_count(node, call) -> None:
    """Refuse a kernel call the runtime cannot hold (it would overflow run_tile's array)."""
    count = len(call.buffers) + (1 if call.scratch_bytes else 0)
    limit = ARIEL_MAX_BUFFERS if call.scratch_bytes else MAX_OP_BUFFERS
    if count > limit:
        scratch = " with its scratch" if call.scratch_bytes else ""
        raise UnsupportedOperatorError(f"{node.op} (operator #{node.index}) needs {count} buffers{scratch}; the "
                                       f"runtime passes at most {limit} to a kernel")


def _roots(alias: list[int], offset: list[int] | None = None) -> tuple[list[int], list[int]]:
    """The root of every tensor and its byte offset in the root, each alias chain walked once (a
    long chain of views stays linear). `offset[t]` is t's offset in `alias[t]` (None: all 0)."""
    offset = offset if offset is not None else [0] * len(alias)
    root = [-1] * len(alias)
    total = [0] * len(alias)
    for t in range(len(alias)):
        path = []
        while root[t] < 0 and alias[t] != t:
            path.append(t)
            t = alias[t]
        r, base = (root[t], total[t]) if root[t] >= 0 else (t, 0)
        root[t], total[t] = r, base
        for u in reversed(path):  # nearest the root first: each adds its offset in its target
            base += offset[u]
            root[u], total[u] = r, base
    return root, total


def alias_views(plan: Plan) -> Plan:
    """A view's output shares its input's bytes (also when the input is a constant: then the output
    points into the weights). Aliases point straight at the root, so `Plan.root` is one step."""
    alias, offset = list(plan.alias), list(plan.alias_offset)
    for step in plan.steps:
        if step.is_view:
            node = plan.graph.nodes[step.node]
            alias[node.outputs[0]] = node.inputs[0]
            offset[node.outputs[0]] = 0
    root, total = _roots(alias, offset)
    return replace(plan, alias=tuple(root), alias_offset=tuple(total))


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
    other input of the step reads the same bytes in another shape.

    Linear in the graph: each family of tensors sharing bytes keeps its members, whether one of them
    is protected and its last read, merged when a family joins another (a tensor moves at most once,
    because steps are visited in order and a family's root is written before any step that joins it).
    A long chain of in-place operators used to cost a scan of all tensors per step (cubic overall)."""
    graph = plan.graph
    last = _last_reads(graph, plan.steps)
    protected = set(graph.inputs) | set(graph.outputs) | set(graph.variables)  # state outlives the invocation
    notes = list(plan.notes)
    root, offset = _roots(list(plan.alias), list(plan.alias_offset))
    members: dict[int, list[int]] = {}
    for t, r in enumerate(root):
        members.setdefault(r, []).append(t)
    family_protected = {r: any(t in protected for t in ts) for r, ts in members.items()}
    family_last = {r: max(last.get(t, -1) for t in ts) for r, ts in members.items()}

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
        r = root[src]
        a, b = graph.tensors[src], graph.tensors[out]
        if (graph.tensors[r].is_constant or family_protected[r] or family_last[r] > i
                or a.nbytes != b.nbytes or a.np_dtype.itemsize != b.np_dtype.itemsize
                or any(t != src and t != NO_TENSOR and root[t] == r and graph.tensors[t].shape != a.shape
                       for t in node.inputs)
                or root[out] != out):
            continue
        moved = members.pop(out)
        for t in moved:  # out's family moves to src's bytes (out was its root, at offset 0)
            root[t] = r
            offset[t] += offset[src]
        members[r].extend(moved)
        family_protected[r] = family_protected[r] or family_protected.pop(out)
        family_last[r] = max(family_last[r], family_last.pop(out))
        notes.append(f"{node.op} #{node.index} writes '{b.name}' in place over '{a.name}'")
    return replace(plan, alias=tuple(root), alias_offset=tuple(offset), notes=tuple(notes))
