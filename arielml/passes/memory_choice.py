"""`ram_budget`: the fastest plan whose RAM fits, or a refusal that says how little RAM any plan needs.

The plans tried, from the usual fastest to the smallest: the layer-by-layer plan (optimize="latency")
and the memory plan (optimize="memory": band execution, in-place depthwise). Each is planned with
the budget, so weight copies to SRAM (weights_in_sram="auto") only take what the budget leaves. Of
those whose RAM (`plan_ram_bytes` + weight copies) fits, the one the cost model estimates fastest
wins; when none fits, FitError names the smallest RAM reached and what it is made of."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from arielml.errors import FitError
from arielml.ir import Graph
from arielml.passes.pipeline import run_pipeline
from arielml.passes.plan import OPTIMIZE, CompileOptions, Plan
from arielml.passes.weight_placement import plan_ram_bytes


def plan_ram_with_copies(plan: Plan) -> int:
    copies = plan.weight_placement.sram_bytes if plan.weight_placement is not None else 0
    return plan_ram_bytes(plan) + copies


def plan_within_budget(graph: Graph, options: CompileOptions, ram_budget: int,
                       check: Callable[[Plan, str], None] | None = None) -> Plan:
    fitting, smallest = [], None
    for optimize in OPTIMIZE:
        plan = run_pipeline(graph, replace(options, optimize=optimize, ram_budget=ram_budget), check=check)
        ram = plan_ram_with_copies(plan)
        if ram <= ram_budget:
            fitting.append(plan)
        if smallest is None or ram < smallest[0]:
            smallest = (ram, plan)
    if fitting:
        best = min(fitting, key=lambda plan: plan.estimated_seconds)
        return replace(best, notes=(*best.notes, f"ram_budget {ram_budget} bytes: the optimize={best.options.optimize} "
                                                 f"plan fits with {plan_ram_with_copies(best)} bytes"))
    ram, plan = smallest
    raise FitError(f"no plan fits a RAM budget of {ram_budget:,} bytes: the smallest needs {ram:,} bytes "
                   f"(optimize={plan.options.optimize}: arena {plan.arena_bytes:,} bytes, stacks, runtime state and "
                   f"boot flags {ram - plan.arena_bytes:,} bytes); raise the budget to at least {ram:,} bytes or "
                   f"use a smaller model")
