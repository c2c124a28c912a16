"""The compile-time cost model: how long a tile of an operator takes on a given core.

Costs come from the target's data (`CoreType` cycles per MAC, per output element, per tile of
scheduler overhead, per barrier) and the core clocks, so cores of different types and clocks get
different speeds. Times are in seconds; only their ratios matter to the schedulers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from arielml.targets.boards import Board, CoreType


@dataclass(frozen=True)
class Core:
    """One physical core as the cost model sees it."""

    index: int
    kind: CoreType
    clock_hz: int

    def seconds(self, macs: float, elements: float) -> float:
        """Time for work of `macs` multiply-accumulates producing `elements` output elements."""
        return (macs * self.kind.cycles_per_mac + elements * self.kind.cycles_per_element) / self.clock_hz

    @property
    def tile_overhead(self) -> float:
        return self.kind.tile_overhead_cycles / self.clock_hz

    @property
    def barrier(self) -> float:
        return self.kind.barrier_cycles / self.clock_hz


@dataclass(frozen=True)
class ItemWork:
    """The work of one work item of an operator (the op's total divided by its item count)."""

    macs: float
    elements: float


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


def tile_seconds(core: Core, work: ItemWork, tile: tuple[int, int]) -> float:
    n = tile[1] - tile[0]
    return core.tile_overhead + core.seconds(work.macs * n, work.elements * n)


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


def simulate_dynamic(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core]) -> float:
    """Dynamic schedule: every core pulls the next tile from a shared counter when it is free."""
    finish = [0.0] * len(cores)
    for tile in tiles:
        c = min(range(len(cores)), key=lambda k: (finish[k], k))
        finish[c] += tile_seconds(cores[c], work, tile)
    return max(finish)


def makespan(tiles: Sequence[tuple[int, int]], work: ItemWork, cores: Sequence[Core], scheduler: str) -> float:
    if scheduler == "static":
        return assign_longest_first(tiles, work, cores)[1]
    return simulate_dynamic(tiles, work, cores)
