"""Per-operator, per-core profile from the trace events a run recorded (ARIEL_TRACE_* in ariel_port.h),
and a Gantt chart of the cores over time.

Every event carries the writing core's own cycle count; cores may run at different clocks
(stm32h747), so spans are first converted to seconds and reported both in seconds and in cycles of
the core concerned (per core) or of core 0 (totals)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from arielml.emu.machine import RunResult
from arielml.errors import ArielError

OP_BEGIN, OP_END, TILE_BEGIN, TILE_END, BARRIER_BEGIN, BARRIER_END, RUN_BEGIN, RUN_END = range(1, 9)
NO_OP = 0xFFFF_FFFF  # the start barrier's operator index


@dataclass(frozen=True)
class TileSpan:
    core: int
    op: int
    tile: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class OpProfile:
    op: int
    cycles: int  # wall span of the operator including its barrier, in core-0 cycles
    seconds: float
    core_cycles: tuple[int, ...]  # per core: cycles between its OP_BEGIN and OP_END (own clock)
    barrier_idle_cycles: tuple[int, ...]  # per core: cycles waiting in the barrier after the op
    tiles: tuple[int, ...]  # tiles run per core


@dataclass(frozen=True)
class Profile:
    clocks_hz: tuple[int, ...]
    total_cycles: int  # core 0: RUN_BEGIN to RUN_END (whole run if absent)
    total_seconds: float
    ops: tuple[OpProfile, ...]
    busy_cycles: tuple[int, ...]  # per core: inside operators, outside barriers
    barrier_idle_cycles: tuple[int, ...]  # per core: all barriers (the start barrier included)
    tiles: tuple[TileSpan, ...]

    @property
    def utilisation(self) -> tuple[float, ...]:
        """Per core: busy time / total run time."""
        return tuple(busy / clock / self.total_seconds if self.total_seconds else 0.0
                     for busy, clock in zip(self.busy_cycles, self.clocks_hz))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["utilisation"] = list(self.utilisation)
        return data


def build_profile(result: RunResult) -> Profile:
    clocks = result.clocks_hz
    ncores = len(clocks)
    seconds = lambda core, cycle: cycle / clocks[core]  # noqa: E731
    open_marks: dict[tuple[int, int, int], int] = {}  # (core, kind, key) -> begin cycle
    op_core = {}  # (op, core) -> cycles
    op_barrier = {}
    op_tiles = {}
    op_window: dict[int, list[float]] = {}
    barrier_idle = [0] * ncores
    busy = [0] * ncores
    tiles = []
    run_span = {}
    for event in result.trace:
        core, cycle, kind = event.core, event.cycle, event.event
        if kind in (OP_BEGIN, TILE_BEGIN, BARRIER_BEGIN, RUN_BEGIN):
            open_marks[(core, kind, event.a if kind != TILE_BEGIN else (event.a, event.b))] = cycle
            if kind == OP_BEGIN:
                window = op_window.setdefault(event.a, [float("inf"), 0.0])
                window[0] = min(window[0], seconds(core, cycle))
            continue
        begin_kind = kind - 1
        key = event.a if kind != TILE_END else (event.a, event.b)
        begin = open_marks.pop((core, begin_kind, key), None)
        if begin is None:
            raise ArielError(f"trace of core {core} has an end event {kind} without its begin; "
                             f"the firmware's trace calls are unbalanced")
        span = cycle - begin
        if kind == OP_END:
            op_core[(event.a, core)] = op_core.get((event.a, core), 0) + span
            busy[core] += span
            window = op_window.setdefault(event.a, [seconds(core, begin), 0.0])
            window[1] = max(window[1], seconds(core, cycle))
        elif kind == TILE_END:
            op_tiles[(event.a, core)] = op_tiles.get((event.a, core), 0) + 1
            tiles.append(TileSpan(core, event.a, event.b, seconds(core, begin), seconds(core, cycle)))
        elif kind == BARRIER_END:
            barrier_idle[core] += span
            op_barrier[(event.a, core)] = op_barrier.get((event.a, core), 0) + span
            if event.a in op_window:
                op_window[event.a][1] = max(op_window[event.a][1], seconds(core, cycle))
        elif kind == RUN_END:
            run_span[core] = (begin, cycle)
    if 0 in run_span:
        total_cycles = run_span[0][1] - run_span[0][0]
    else:
        total_cycles = result.cycles[0]
    total_seconds = total_cycles / clocks[0]
    ops = tuple(OpProfile(op, round((window[1] - window[0]) * clocks[0]), window[1] - window[0],
                          tuple(op_core.get((op, c), 0) for c in range(ncores)),
                          tuple(op_barrier.get((op, c), 0) for c in range(ncores)),
                          tuple(op_tiles.get((op, c), 0) for c in range(ncores)))
                for op, window in sorted(op_window.items()))
    return Profile(tuple(clocks), total_cycles, total_seconds, ops, tuple(busy), tuple(barrier_idle),
                   tuple(sorted(tiles, key=lambda t: (t.core, t.start_s))))
