"""The compiler's pass pipeline: an explicit, ordered list of named pure functions Plan -> Plan.

    plan = run_pipeline(graph, CompileOptions(cores=2))              # production
    plan = run_pipeline(graph, options, check=verify_plan)           # tests: verify after each pass

Each pass fills in one concern of the Plan (see plan.py); `verify_plan` checks the invariants of
everything filled in so far, so a broken pass is caught right where it breaks."""
from __future__ import annotations

from typing import Callable

from arielml.errors import ArielError
from arielml.ir import Graph
from arielml.ir.verify import verify
from arielml.passes.bands import plan_bands
from arielml.passes.early_exit import add_early_exits
from arielml.passes.fold_pad import fold_pad
from arielml.passes.if_conversion import if_convert
from arielml.passes.if_jumps import lower_if_jumps
from arielml.passes.lower import alias_inplace, alias_views, lower
from arielml.passes.lstm_steps import split_lstm_steps
from arielml.passes.memory_plan import buffer_requests, check_layout, plan_memory
from arielml.passes.plan import NOT_IN_ARENA, CompileOptions, Plan
from arielml.passes.tile import tile
from arielml.passes.while_lowering import lower_while
from arielml.passes.weight_placement import place_weights, sram_budget
from arielml.schedule.assign import schedule

Pass = Callable[[Plan], Plan]

PASSES: tuple[tuple[str, Pass], ...] = (
    ("if_convert", if_convert),  # an IF decided at run time: both branches, then SELECT_V2 per output
    ("lower_while", lower_while),  # a WHILE decided at run time: a loop of the op table (jumps)
    ("if_jumps", lower_if_jumps),  # a run-time IF if-conversion must not run both ways: jumps, the taken branch only
    ("early_exit", add_early_exits),  # CIRCULAR_BUFFER's aborted invocations: a jump to the end
    ("fold_pad", fold_pad),  # PADs read only by a VALID convolution become its explicit padding
    ("bands", plan_bands),  # optimize="memory": regions of row-local operators run band of rows by band
    ("lstm_steps", split_lstm_steps),  # a batch-1 LSTM on several cores: one op per time step, over units
    ("lower", lower),  # prepare every node, attach its C kernel call and work items
    ("alias_views", alias_views),  # RESHAPE/SQUEEZE/EXPAND_DIMS share their input's bytes
    ("alias_inplace", alias_inplace),  # elementwise outputs over dead inputs
    ("memory_plan", plan_memory),  # arena offsets (greedy largest-first, first fit)
    ("tile", tile),  # tile count per op from the cost model
    ("schedule", schedule),  # static core assignment / dynamic; barriers
    ("weight_placement", place_weights),  # hottest weights to SRAM where flash is slower and RAM is left
)


class PlanError(ArielError):
    """A pass broke an invariant of the Plan (a compiler bug: please report it with the model)."""


def run_pipeline(graph: Graph, options: CompileOptions, check: Callable[[Plan, str], None] | None = None,
                 passes: tuple[tuple[str, Pass], ...] = PASSES) -> Plan:
    from arielml.ops.registry import REGISTRY
    macs = sum(int(REGISTRY[n.op].macs(n, graph)) for n in graph.nodes if n.op in REGISTRY)
    plan = Plan(graph=graph, options=options, model_macs=macs)
    for name, fn in passes:
        plan = fn(plan)
        if check is not None:
            check(plan, name)
    return plan


def _fail(after: str, why: str) -> None:
    raise PlanError(f"after pass '{after}': {why}")


def verify_plan(plan: Plan, after: str = "?") -> Plan:
    """Check the invariants of whatever the passes have filled in so far."""
    # tensors sharing bytes (band rows and the tensors holding them, views, in-place outputs) may be
    # filled by each other's writers
    shared = {t for t, r in enumerate(plan.alias) if r != t}
    graph = verify(plan.graph, frozenset(shared | {plan.alias[t] for t in shared}))
    if plan.steps:
        if [s.node for s in plan.steps] != list(range(len(graph.nodes))):
            _fail(after, "steps do not follow the graph's nodes in order")
        for i, s in enumerate(plan.steps):
            if any(not 0 <= a < i for a in s.after):
                _fail(after, f"step {i} depends on a later step {s.after}")
    if plan.alias:
        for t in range(len(graph.tensors)):
            seen, r = set(), t
            while plan.alias[r] != r:
                if r in seen:
                    _fail(after, f"alias cycle through tensor {t}")
                seen.add(r)
                r = plan.alias[r]
            if r != t and graph.tensors[r].is_constant and (
                    plan.offset_in_root(t) + graph.tensors[t].nbytes > graph.tensors[r].nbytes):
                _fail(after, f"tensor {t} reaches past the constant it aliases")
    if plan.offsets:
        requests, roots, _ = buffer_requests(plan)
        from arielml.passes.memory_plan import ArenaLayout, request_ties
        offs = [plan.offsets[r] for r in roots] + [o for o in plan.scratch_offsets if o != NOT_IN_ARENA]
        try:
            check_layout(requests, ArenaLayout(tuple(offs), plan.arena_bytes), plan.options.alignment,
                         request_ties(plan, roots))
        except AssertionError as e:
            _fail(after, str(e))
        for t in graph.inputs + graph.outputs:
            root = graph.tensors[plan.root(t)]
            if plan.offsets[t] == NOT_IN_ARENA and not (root.is_constant or root.variable):
                _fail(after, f"graph input/output {t} has no arena bytes")
    for i, s in enumerate(plan.steps):
        if s.tiles:
            if s.tiles[0][0] != 0 or s.tiles[-1][1] != s.work_items or any(
                    b <= a for a, b in s.tiles) or any(s.tiles[k][1] != s.tiles[k + 1][0] for k in range(len(s.tiles) - 1)):
                _fail(after, f"step {i}: tiles {s.tiles} do not cover 0..{s.work_items} in order")
        if s.tile_core:
            if len(s.tile_core) != len(s.tiles) or any(not 0 <= c < plan.options.cores for c in s.tile_core):
                _fail(after, f"step {i}: bad core assignment {s.tile_core}")
    placement = plan.weight_placement
    if placement is not None and placement.copies:
        if placement.sram_bytes > sram_budget(plan):
            _fail(after, f"weights in SRAM take {placement.sram_bytes} bytes, over the budget {sram_budget(plan)}")
        for c in placement.copies:
            if c.tensor >= 0 and not graph.tensors[c.tensor].is_constant:
                _fail(after, f"tensor {c.tensor} placed in SRAM is not a constant")
    return plan
