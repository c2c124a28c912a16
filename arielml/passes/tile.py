"""Tiling: how many tiles each operator gets, chosen by the cost model of the target's cores.

A tile is a [begin, end) range of the operator's work items, the unit a core takes from the
scheduler. More tiles balance better (a fast core takes more of them) but each costs scheduler
overhead; a tiny operator stays one tile, so one core runs it while the others pass the barrier."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from arielml.passes.plan import Plan
from arielml.schedule.cost import (Core, ItemWork, assign_longest_first, cores_of, makespan, split_by_speed,
                                   split_even, static_makespan)
from arielml.schedule.features import item_work
from arielml.targets.boards import get_board

# a split must beat the best time with fewer tiles by this factor, so marginal gains do not add tiles
MIN_GAIN = 0.02
TILES_PER_CORE_CAP = 16


@dataclass(frozen=True)
class TileChoice:
    tiles: tuple[tuple[int, int], ...]
    estimated_seconds: float
    owner: tuple[int, ...] = ()  # static: core of each tile (empty: dynamic)


def _barrier(cores: Sequence[Core]) -> float:
    return max(c.barrier for c in cores)


def estimate(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core], scheduler: str) -> float:
    """Makespan of the op, plus one barrier when it is spread over several cores: under `static`,
    consecutive ops that stay on one core share a single barrier (schedule/assign.py); under
    `dynamic` the barrier is always there, but spreading still costs lock contention and wake-ups
    of about that size, so a split must save more than that to be worth it."""
    if scheduler == "static":
        owner, seconds = assign_longest_first(tiles, work, cores)
        return seconds + (_barrier(cores) if len(set(owner)) > 1 else 0.0)
    return makespan(tiles, work, cores, scheduler) + (_barrier(cores) if len(tiles) > 1 else 0.0)


def _static_candidates(items: int, work: ItemWork, cores: Sequence[Core], limit: int) -> list[TileChoice]:
    """Equal tiles assigned longest first (1..limit of them), and one tile per core sized by the
    cores' speeds on this op (the fewest tiles that balance unequal cores)."""
    candidates = []
    for count in range(1, limit + 1):
        tiles = split_even(items, count)
        owner, seconds = assign_longest_first(tiles, work, cores)
        candidates.append(TileChoice(tiles, seconds + (_barrier(cores) if len(set(owner)) > 1 else 0.0), owner))
    tiles, owner = split_by_speed(items, work, cores)
    seconds = static_makespan(tiles, owner, work, cores) + (_barrier(cores) if len(set(owner)) > 1 else 0.0)
    candidates.append(TileChoice(tiles, seconds, owner))
    return candidates


def choose_tiles(items: int, work: ItemWork, cores: Sequence[Core], scheduler: str) -> TileChoice:
    """Try every tile count from 1 to min(items, 16 per core) (static: also one speed-sized tile per
    core); keep the fewest tiles whose estimated makespan is within MIN_GAIN of the best one."""
    if len(cores) == 1 or items <= 1:
        tiles = split_even(max(items, 1), 1)
        return TileChoice(tiles, makespan(tiles, work, cores[:1], scheduler), (0,) if scheduler == "static" else ())
    limit = min(items, TILES_PER_CORE_CAP * len(cores))
    if scheduler == "static":
        candidates = _static_candidates(items, work, cores, limit)
    else:
        candidates = [TileChoice(split_even(items, count), estimate(split_even(items, count), work, cores, scheduler))
                      for count in range(1, limit + 1)]
    best = min(c.estimated_seconds for c in candidates)
    return min((c for c in candidates if c.estimated_seconds <= best * (1 + MIN_GAIN)),
               key=lambda c: (len(c.tiles), c.estimated_seconds))


def tile(plan: Plan) -> Plan:
    cores = cores_of(get_board(plan.options.target), plan.options.cores)
    graph = plan.graph
    steps = []
    for step in plan.steps:
        if step.is_view:
            steps.append(replace(step, tiles=(), tile_core=(), barrier_after=False))
            continue
        work = item_work(graph.nodes[step.node], graph, step.item_macs * step.work_items, step.work_items)
        choice = choose_tiles(step.work_items, work, cores, plan.options.scheduler)
        steps.append(replace(step, tiles=choice.tiles, tile_core=choice.owner,
                             estimated_seconds=choice.estimated_seconds))
    return replace(plan, steps=tuple(steps))
