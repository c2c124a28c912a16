"""The scheduling pass: which core runs which tile, and where barriers go.

`static`: every tile is assigned ahead of time: the tiling pass already sized and placed the tiles
(one tile per core sized by the cores' calibrated speeds, or equal tiles longest first onto the
core that would finish each earliest); a plan without placements gets the longest-first one; the runtime only walks
its own tiles. `dynamic`: nothing is assigned; at run time cores pull the next tile of the current
operator from a shared counter (the Ariel-ML scheme).

Barriers: one after every operator, except under `static` between consecutive operators that run
entirely on the same single core (the other cores have nothing to do in between, so one barrier
after the pair suffices)."""
from __future__ import annotations

from dataclasses import replace

from arielml.passes.plan import Plan
from arielml.schedule.cost import assign_longest_first, cores_of
from arielml.schedule.features import item_work
from arielml.targets.boards import check_cores, get_board


def schedule(plan: Plan) -> Plan:
    board = get_board(plan.options.target)
    check_cores(board, plan.options.cores)
    cores = cores_of(board, plan.options.cores)
    steps = list(plan.steps)
    for i, step in enumerate(steps):
        if step.is_view:
            continue
        if plan.options.scheduler == "static":
            owner = step.tile_core  # the tiling pass sized the tiles for these cores
            if len(owner) != len(step.tiles):
                work = item_work(plan.graph.nodes[step.node], plan.graph, step.item_macs * step.work_items,
                                 step.work_items)
                owner, _ = assign_longest_first(step.tiles, work, cores)
            steps[i] = replace(step, tile_core=owner, barrier_after=True)
        else:
            steps[i] = replace(step, tile_core=(), barrier_after=True)
    if plan.options.scheduler == "static":
        kernel = [i for i, s in enumerate(steps) if not s.is_view]
        for i, j in zip(kernel, kernel[1:]):
            owners_i, owners_j = set(steps[i].tile_core), set(steps[j].tile_core)
            if len(owners_i) == 1 and owners_i == owners_j:
                steps[i] = replace(steps[i], barrier_after=False)
    return replace(plan, steps=tuple(steps))
