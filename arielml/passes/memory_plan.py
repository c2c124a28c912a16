"""Static memory planning: buffers with lifetimes in execution order -> offsets in one arena.

    planner = ArenaPlanner(alignment=8)
    a = planner.add_buffer(size=1024, first_use=0, last_use=2)
    b = planner.add_buffer(size=512, first_use=3, last_use=4)
    layout = planner.solve()          # greedy: largest first, first fit
    layout.offsets[a], layout.arena_bytes

Two buffers conflict when their [first_use, last_use] step intervals intersect; conflicting buffers
must not overlap in the arena. `linear` places every buffer after the previous one (no reuse): the
obviously correct oracle the greedy planner is tested against."""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class BufferRequest:
    size: int
    first_use: int
    last_use: int  # inclusive: the buffer is live during steps first_use..last_use


@dataclass(frozen=True)
class ArenaLayout:
    offsets: tuple[int, ...]
    arena_bytes: int


def align_up(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def lifetimes_overlap(a: BufferRequest, b: BufferRequest) -> bool:
    return a.first_use <= b.last_use and b.first_use <= a.last_use


def plan_linear(buffers: Sequence[BufferRequest], alignment: int = 8, ties: Sequence["Tie"] = ()) -> ArenaLayout:
    offsets, end = [0] * len(buffers), 0
    for group in _groups(len(buffers), ties):
        for i, rel in group:
            offsets[i] = end + rel
        end = align_up(max(end + rel + buffers[i].size for i, rel in group), alignment)
    return ArenaLayout(tuple(offsets), end)


@dataclass(frozen=True)
class Tie:
    """Buffer `second` starts `delta` bytes after buffer `first` (delta may be negative): a writer
    whose output may overwrite its input's bytes that no later read needs (passes/bands.py). Tied
    buffers may overlap; the planner places them together."""

    first: int
    second: int
    delta: int


def _groups(count: int, ties: Sequence[Tie]) -> list[list[tuple[int, int]]]:
    """Requests grouped by ties: each group a list of (request, offset from the group's start)."""
    where = {i: (i, 0) for i in range(count)}  # request -> (group leader, offset from the leader)
    members = {i: [i] for i in range(count)}
    for tie in ties:
        (la, oa), (lb, ob) = where[tie.first], where[tie.second]
        assert la != lb, f"tie {tie} closes a cycle"
        shift = oa + tie.delta - ob  # leader b's offset from leader a
        for m in members.pop(lb):
            where[m] = (la, where[m][1] + shift)
            members[la].append(m)
    groups = []
    for leader, ms in members.items():
        low = min(where[m][1] for m in ms)
        groups.append(sorted((m, where[m][1] - low) for m in ms))
    return groups


def plan_greedy(buffers: Sequence[BufferRequest], alignment: int = 8, ties: Sequence[Tie] = ()) -> ArenaLayout:
    """Largest first (ties: earlier first use, then request order - deterministic); each buffer goes
    at the lowest aligned offset where it does not overlap any already placed buffer that is live at
    the same time. Tied buffers move as one group, placed when its largest member's turn comes.

    The placed buffers live at the same time are found through an index by time (a list of placed
    buffers per time point), not by testing every placed buffer: a long chain of operators has
    thousands of buffers but only a few alive at any step, so planning stays about linear."""
    # Two lifetimes that intersect share the later of their first uses, so indexing the time points
    # that are first uses is enough; lifetimes cover them by position in this sorted list.
    points = sorted({b.first_use for b in buffers})
    position = {t: k for k, t in enumerate(points)}
    live_at: list[list[int]] = [[] for _ in points]
    groups = _groups(len(buffers), ties)

    def rank(group):
        big = max(group, key=lambda m: (buffers[m[0]].size, -buffers[m[0]].first_use, -m[0]))[0]
        return (-buffers[big].size, buffers[big].first_use, big)

    offsets: list[int] = [0] * len(buffers)
    arena = 0
    for group in sorted(groups, key=rank):
        forbidden = []  # open intervals of group starts that would overlap a placed, live buffer
        for i, rel in group:
            buf = buffers[i]
            if not buf.size:
                continue
            covered = range(position[buf.first_use], bisect.bisect_right(points, buf.last_use))
            for j in {j for k in covered for j in live_at[k]}:
                forbidden.append((offsets[j] - rel - buf.size, offsets[j] + buffers[j].size - rel))
        start = 0
        for low, high in sorted(forbidden):
            if start <= low:
                break  # no interval from here on contains it
            if start < high:
                start = align_up(high, alignment)
        for i, rel in group:
            buf = buffers[i]
            offsets[i] = start + rel
            if buf.size:  # an empty buffer occupies nothing
                for k in range(position[buf.first_use], bisect.bisect_right(points, buf.last_use)):
                    live_at[k].append(i)
            arena = max(arena, align_up(start + rel + buf.size, alignment))
    return ArenaLayout(tuple(offsets), arena)


PLANNERS = {"greedy": plan_greedy, "linear": plan_linear}


class ArenaPlanner:
    """Collects buffer requests, then lays them out with the chosen planner."""

    def __init__(self, alignment: int = 8, planner: str = "greedy") -> None:
        self.alignment = alignment
        self.planner = PLANNERS[planner]
        self.requests: list[BufferRequest] = []

    def add_buffer(self, size: int, first_use: int, last_use: int) -> int:
        """Register a buffer; returns its handle (index into `solve().offsets`)."""
        assert size >= 0 and first_use <= last_use, (size, first_use, last_use)
        self.requests.append(BufferRequest(size, first_use, last_use))
        return len(self.requests) - 1

    def solve(self) -> ArenaLayout:
        return self.planner(self.requests, self.alignment)


def check_layout(buffers: Sequence[BufferRequest], layout: ArenaLayout, alignment: int,
                 ties: Sequence[Tie] = ()) -> None:
    """Assert the layout is valid: aligned, inside the arena, no overlap of simultaneously live
    buffers except tied ones, which sit exactly `delta` apart."""
    together = {}
    for number, group in enumerate(_groups(len(buffers), ties)):
        together.update({i: number for i, _ in group})
    for tie in ties:
        assert layout.offsets[tie.second] == layout.offsets[tie.first] + tie.delta, f"{tie} not kept"
    for i, (buf, off) in enumerate(zip(buffers, layout.offsets)):
        assert off % alignment == 0, f"buffer {i} at {off} is not {alignment}-aligned"
        assert off + buf.size <= layout.arena_bytes, f"buffer {i} ends past the arena"
        for j in range(i):
            other, o = buffers[j], layout.offsets[j]
            if buf.size and other.size and lifetimes_overlap(buf, other) and together[i] != together[j]:
                assert off + buf.size <= o or o + other.size <= off, (
                    f"buffers {j} and {i} are live at the same time and overlap: {other}@{o}, {buf}@{off}")


# --- the pass: Plan -> Plan with arena offsets --------------------------------------------------

def buffer_requests(plan) -> tuple[list[BufferRequest], list[int], list[int]]:
    """The plan's arena buffers: one per root tensor in the arena, then one per step with scratch.
    Returns (requests, owner tensors (or -1 - step for scratch), ...). Lifetimes are in step
    indices; graph inputs are live from step 0, graph outputs until after the last step."""
    from arielml.ir import NO_TENSOR

    graph, steps = plan.graph, plan.steps
    end = len(steps)
    first: dict[int, int] = {}
    last: dict[int, int] = {}

    def touch(t: int, when: int) -> None:
        r = plan.root(t)
        if graph.tensors[r].is_constant or graph.tensors[r].variable:  # weights; state (plan_state)
            return
        first[r] = min(first.get(r, when), when)
        last[r] = max(last.get(r, when), when)

    for t in graph.inputs:
        touch(t, 0)
    for i, step in enumerate(steps):
        node = graph.nodes[step.node]
        for t in node.inputs:
            if t != NO_TENSOR:
                touch(t, i)
        for t in node.outputs:
            touch(t, i)
    for t in graph.outputs:
        touch(t, end)
    roots = sorted(first)
    size: dict[int, int] = {}  # a root's bytes hold every alias, at its offset
    for t, tensor in enumerate(graph.tensors):
        r = plan.root(t)
        if r in first:
            size[r] = max(size.get(r, 0), plan.offset_in_root(t) + tensor.nbytes)
    requests = [BufferRequest(size[r], first[r], last[r]) for r in roots]
    scratch_steps = [i for i, s in enumerate(steps) if s.scratch_bytes]
    for i in scratch_steps:
        per_core = align_up(steps[i].scratch_bytes, plan.options.alignment)
        requests.append(BufferRequest(per_core * plan.options.cores, i, i))
    return requests, roots, scratch_steps


def request_ties(plan, roots: Sequence[int]) -> list[Tie]:
    """Plan.ties (tensor b's bytes start `delta` after tensor a's) as ties between the requests of
    their roots (buffer_requests' order)."""
    index = {r: k for k, r in enumerate(roots)}
    ties = []
    for a, b, delta in plan.ties:
        ra, rb = plan.root(a), plan.root(b)
        if ra in index and rb in index:
            ties.append(Tie(index[ra], index[rb], plan.offset_in_root(a) + delta - plan.offset_in_root(b)))
    return ties


def plan_memory(plan):
    """Assign every tensor an arena offset (aliases share their root's), and every step with
    scratch a block of cores x scratch bytes."""
    from dataclasses import replace

    from arielml.passes.plan import NOT_IN_ARENA

    requests, roots, scratch_steps = buffer_requests(plan)
    layout = PLANNERS[plan.options.planner](requests, plan.options.alignment, request_ties(plan, roots))
    root_offset = dict(zip(roots, layout.offsets))
    offsets = tuple(root_offset[plan.root(t)] + plan.offset_in_root(t) if plan.root(t) in root_offset else NOT_IN_ARENA
                    for t in range(len(plan.graph.tensors)))
    scratch = [NOT_IN_ARENA] * len(plan.steps)
    for i, off in zip(scratch_steps, layout.offsets[len(roots):]):
        scratch[i] = off
    return replace(plan, offsets=offsets, scratch_offsets=tuple(scratch), arena_bytes=layout.arena_bytes,
                   state_offsets=plan_state(plan.graph, plan.options.alignment))


def plan_state(graph, alignment: int) -> tuple[tuple[int, int], ...]:
    """(tensor, offset) of every variable tensor in the state block: the model's memory between
    invocations, which the arena's reuse must never touch. One after the other, each aligned."""
    placed, end = [], 0
    for t in graph.variables:
        placed.append((t, end))
        end = align_up(end + graph.tensors[t].nbytes, alignment)
    return tuple(placed)
