"""Tiling: how many tiles each operator gets, chosen by the cost model of the target's cores.

A tile is a [begin, end) range of the operator's work items, the unit a core takes from the
scheduler. More tiles balance better (a fast core takes more of them) but each costs scheduler
overhead; a tiny operator stays one tile, so one core runs it while the others pass the barrier."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from arielml.passes.plan import Plan
from arielml.schedule.cost import Core, ItemWork, assign_longest_first, cores_of, makespan, split_even
from arielml.targets.boards import get_board

# a split must beat the best time with fewer tiles by this factor, so marginal gains do not add tiles
MIN_GAIN = 0.02
TILES_PER_CORE_CAP = 16


@dataclass(frozen=True)
class TileChoice:
    tiles: tuple[tuple[int, int], ...]
    estimated_seconds: float


def estimate(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core], scheduler: str) -> float:
    """Makespan of the op, plus one barrier when it is spread over several cores: under `static`,
    consecutive ops that stay on one core share a single barrier (schedule/assign.py); under
    `dynamic` the barrier is always there, but spreading still costs lock contention and wake-ups
    of about that size, so a split must save more than that to be worth it."""
    barrier = max(c.barrier for c in cores)
    if scheduler == "static":
        owner, seconds = assign_longest_first(tiles, work, cores)
        return seconds + (barrier if len(set(owner)) > 1 else 0.0)
    return makespan(tiles, work, cores, scheduler) + (barrier if len(tiles) > 1 else 0.0)


def choose_tiles(items: int, work: ItemWork, cores: Sequence[Core], scheduler: str) -> TileChoice:
    """Try every tile count from 1 to min(items, 16 per core); keep the smallest count whose
    estimated makespan is within MIN_GAIN of the best one."""
    if len(cores) == 1 or items <= 1:
        tiles = split_even(max(items, 1), 1)
        return TileChoice(tiles, makespan(tiles, work, cores[:1], scheduler))
    limit = min(items, TILES_PER_CORE_CAP * len(cores))
    estimates = [(count, estimate(split_even(items, count), work, cores, scheduler)) for count in range(1, limit + 1)]
    best = min(seconds for _, seconds in estimates)
    count, seconds = next((c, s) for c, s in estimates if s <= best * (1 + MIN_GAIN))
    return TileChoice(split_even(items, count), seconds)


def tile(plan: Plan) -> Plan:
    cores = cores_of(get_board(plan.options.target), plan.options.cores)
    steps = []
    for step in plan.steps:
        if step.is_view:
            steps.append(replace(step, tiles=(), tile_core=(), barrier_after=False))
            continue
        choice = choose_tiles(step.work_items, ItemWork(step.item_macs, step.item_elements), cores,
                              plan.options.scheduler)
        steps.append(replace(step, tiles=choice.tiles))
    return replace(plan, steps=tuple(steps))
