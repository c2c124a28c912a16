"""The compile-time cost model: how long a tile of an operator takes on a given core.

A tile of n work items on a core costs the scheduler's per-tile overhead (static: walking the
op's tile table; dynamic: one grab of the shared counter) plus the kernel call: the family's fixed
set-up plus n times the item's MACs, inner-loop runs and output elements at the core type's
calibrated cycles (arielml/targets/calibration.py, fitted on the emulator by
`python -m arielml.schedule.calibrate`), divided by the core's clock. So cores of different types
and clocks get different speeds, per operator family: the Hazard3 is about as fast as the M33 on
one kernel and slower on another. Times are in seconds."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from arielml.schedule.features import GENERIC, ItemWork
from arielml.targets.boards import Board, CoreType

__all__ = ["Core", "ItemWork", "GENERIC", "cores_of", "split_even", "split_by_speed", "tile_seconds",
           "assign_longest_first", "simulate_dynamic", "makespan"]


@dataclass(frozen=True)
class Core:
    """One physical core as the cost model sees it."""

    index: int
    kind: CoreType
    clock_hz: int

    def kernel_cycles(self, work: ItemWork, begin: int, end: int) -> float:
        """Cycles of one kernel call over work items [begin, end)."""
        runs, edge = work.runs_in(begin, end)
        macs = work.macs * (work.live_fraction if self.kind.skips_zero_filters else 1.0)
        return self.kind.op_cost(work.family).cycles(macs * (end - begin), runs, work.elements * (end - begin), edge)

    def seconds(self, macs: float, elements: float, runs: float = 0.0, family: str = GENERIC) -> float:
        """Time of one kernel call doing this much work."""
        return self.kind.op_cost(family).cycles(macs, runs, elements) / self.clock_hz

    def tile_overhead(self, scheduler: str = "static") -> float:
        cycles = self.kind.grab_cycles if scheduler == "dynamic" else self.kind.tile_overhead_cycles
        return cycles / self.clock_hz

    @property
    def barrier(self) -> float:
        return self.kind.barrier_cycles / self.clock_hz


def cores_of(board: Board, count: int) -> tuple[Core, ...]:
    return tuple(Core(i, *board.core(i)) for i in range(count))


def split_even(items: int, tiles: int) -> tuple[tuple[int, int], ...]:
    """`tiles` contiguous [begin, end) ranges covering 0..items, sizes differing by at most one
    (larger ones first, so longest-first scheduling keeps the natural order)."""
    base, extra = divmod(items, tiles)
    ranges, begin = [], 0
    for t in range(tiles):
        end = begin + base + (1 if t < extra else 0)
        ranges.append((begin, end))
        begin = end
    return tuple(ranges)


def tile_seconds(core: Core, work: ItemWork, tile: tuple[int, int], scheduler: str = "static") -> float:
    return core.tile_overhead(scheduler) + core.kernel_cycles(work, tile[0], tile[1]) / core.clock_hz


def split_by_speed(items: int, work: ItemWork, cores: Sequence[Core]) -> tuple[tuple[tuple[int, int], ...],
                                                                                tuple[int, ...]]:
    """One contiguous tile per core that gets work, sized so that all finish together (each core's
    speed on this op's family and on the rows it gets, its per-call overheads included): the static
    schedule of heterogeneous cores with the least tile overhead. Returns (tiles, core of each tile)."""
    def take(core: Core, begin: int, seconds: float) -> int:
        """The most items from `begin` on that `core` finishes within `seconds`."""
        low, high = 0, items - begin
        while low < high:
            middle = (low + high + 1) // 2
            if tile_seconds(core, work, (begin, begin + middle)) <= seconds:
                low = middle
            else:
                high = middle - 1
        return low

    def walk(seconds: float) -> list[int]:
        counts, begin = [], 0
        for core in cores:
            counts.append(take(core, begin, seconds))
            begin += counts[-1]
        return counts

    low, high = 0.0, min(tile_seconds(c, work, (0, items)) for c in cores)
    for _ in range(50):  # bisection on the finishing time
        middle = (low + high) / 2
        if sum(walk(middle)) >= items:
            high = middle
        else:
            low = middle
    tiles, owner, begin = [], [], 0
    for core, count in zip(cores, walk(high)):
        count = min(count, items - begin)
        if count > 0:
            tiles.append((begin, begin + count))
            owner.append(core.index)
            begin += count
    if begin < items:  # rounding of the bisection: the rest goes to the last core that took work
        tiles[-1] = (tiles[-1][0], items)
    return tuple(tiles), tuple(owner)


def assign_longest_first(tiles: Sequence[tuple[int, int]], work: ItemWork,
                         cores: Sequence[Core]) -> tuple[tuple[int, ...], float]:
    """Static schedule: tiles longest first, each onto the core that would finish it earliest
    (so a core twice as fast takes about twice the work). Returns (core of each tile, makespan)."""
    finish = [0.0] * len(cores)
    owner = [0] * len(tiles)
    order = sorted(range(len(tiles)), key=lambda t: (-(tiles[t][1] - tiles[t][0]), t))
    for t in order:
        best = min(range(len(cores)), key=lambda c: (finish[c] + tile_seconds(cores[c], work, tiles[t]), c))
        finish[best] += tile_seconds(cores[best], work, tiles[t])
        owner[t] = best
    return tuple(owner), max(finish)


def static_makespan(tiles: Sequence[tuple[int, int]], owner: Sequence[int], work: ItemWork,
                    cores: Sequence[Core]) -> float:
    finish = [0.0] * len(cores)
    for tile, core in zip(tiles, owner):
        finish[core] += tile_seconds(cores[core], work, tile)
    return max(finish)


def simulate_dynamic(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core]) -> float:
    """Dynamic schedule: every core pulls the next tile from a shared counter when it is free."""
    finish = [0.0] * len(cores)
    for tile in tiles:
        c = min(range(len(cores)), key=lambda k: (finish[k], k))
        finish[c] += tile_seconds(cores[c], work, tile, "dynamic")
    return max(finish)


def makespan(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core], scheduler: str) -> float:
    if scheduler == "static":
        return assign_longest_first(tiles, work, cores)[1]
    return simulate_dynamic(tiles, work, cores)


def predict_op_cycles(work: ItemWork, tiles: Sequence[tuple[int, int]], core: Core) -> float:
    """Cycles of a whole operator run on one core: its tiles' kernel calls, the tile overheads
    after the first, and the per-op runtime overhead (trace marks, the barrier of one core)."""
    kernel = sum(core.kernel_cycles(work, begin, end) for begin, end in tiles)
    return core.kind.op_overhead_cycles + kernel + max(len(tiles) - 1, 0) * core.kind.tile_overhead_cycles
