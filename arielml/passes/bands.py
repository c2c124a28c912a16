"""Band execution: a stretch of row-local operators (convolutions, depthwise convolutions,
elementwise operators) runs band of rows by band of rows, so only a few rows of its intermediate
tensors are ever alive, never the whole tensors.

A region is a run of consecutive nodes whose intermediate tensors are read only inside it and
which hands exactly one tensor (its output) to the rest of the graph. Its output's rows are split
into bands; for each band, every node of the region computes the rows of its output that the band
needs and that no earlier band computed. Each intermediate tensor lives in a row buffer of a few
rows: the rows a window needs again in the next band (its halo) are kept, moved to the buffer's
start by an ARIEL_COPY_ROWS step, instead of being recomputed. So the region executes exactly the
model's multiply-accumulates; what it costs is one copy of the halo rows per band and more, smaller
steps (each still split over the cores like any other).

A band's node is the model's node on smaller tensors: its input is the rows of a buffer (or of the
region's full input) that its output rows read, its padding is explicit (the image's own padding
where the band touches the image's top or bottom edge, none inside), so every kernel runs
unchanged and every output byte is computed from the same input bytes by the same arithmetic as
the layer-by-layer plan: bit-exact by construction (tests/test_bands.py checks it on every backend).

The tensors of a band are placed inside their row buffer (Plan.alias, Plan.alias_offset); the
region's input and output stay whole tensors, read and written a band of rows at a time.

Which regions and how many bands: `choose_regions` tries regions around the memory peak and keeps
the combination with the smallest arena, preferring fewer bands when arenas tie (fewer, larger
steps are faster)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from arielml.ir import NO_TENSOR, Graph, Node, Tensor
from arielml.ops.band_copy import COPY_ROWS, CopyRowsOptions
from arielml.ops.common import PADDING_VALID
from arielml.ops.conv import _window
from arielml.passes.plan import Plan

WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D")
# row-local elementwise operators: output row r reads row r of every non-constant input
ELEMENTWISE_OPS = ("ADD", "SUB", "MUL", "RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU", "LOGISTIC", "TANH",
                   "HARD_SWISH", "QUANTIZE")
# the element types a band's tensors may have: quantised only (a hybrid convolution quantises its
# float input from that input's whole range, which a band's rows would change)
_QUANTISED = ("int8", "uint8", "int16")


@dataclass(frozen=True)
class BandRegion:
    first: int  # position in graph.nodes of the region's first node
    last: int  # ... and of its last node (inclusive)
    bands: int  # bands of the region output's rows
    # the region's output overlaps its input, written over input rows no later band reads
    # (over_input_shift); the input must die in the region
    over_input: bool = False


@dataclass(frozen=True)
class _Rows:
    """How a node's output rows [lo, hi) map to the rows of its row-carrying inputs."""
    stride: int = 1
    pad_top: int = 0
    extent: int = 1  # input rows under one output row's window

    def input_rows(self, lo: int, hi: int, in_h: int) -> tuple[int, int, int, int]:
        """(first row, end row, padding above, padding below) of the input that output rows
        [lo, hi) read, clipped to the image."""
        a = lo * self.stride - self.pad_top
        b = (hi - 1) * self.stride - self.pad_top + self.extent
        r0, r1 = max(a, 0), min(b, in_h)
        return r0, r1, r0 - a, b - r1


def _is_row_tensor(t: Tensor) -> bool:
    return len(t.shape) == 4 and t.shape[0] == 1 and t.dtype in _QUANTISED


def row_map(node: Node, graph: Graph) -> _Rows | None:
    """How `node` maps output rows to input rows, or None when it cannot run by bands."""
    if len(node.outputs) != 1 or not _is_row_tensor(graph.tensors[node.outputs[0]]):
        return None
    out = graph.tensors[node.outputs[0]]
    if node.op in WINDOW_OPS:
        x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
        if not _is_row_tensor(x) or w.dtype not in ("int8", "uint8") or node.options is None:
            return None
        win = _window(node, graph)
        return _Rows(win.stride_h, win.pad_top, (win.filter_h - 1) * win.dilation_h + 1)
    if node.op in ELEMENTWISE_OPS:
        for t in node.inputs:
            if t == NO_TENSOR:
                continue
            x = graph.tensors[t]
            if x.is_constant:
                if len(x.shape) >= 3 and x.shape[-3] != 1:  # a constant with rows of its own
                    return None
            elif x.shape != out.shape or not (_is_row_tensor(x) or node.op == "QUANTIZE" and x.dtype == "float32"):
                return None  # (QUANTIZE maps each float to its own int8: a band of a float input is exact)
        return _Rows()
    return None


def _row_inputs(node: Node, graph: Graph) -> list[int]:
    """The inputs whose rows follow the output's: the data input of a window op, every
    non-constant input of an elementwise op."""
    if node.op in WINDOW_OPS:
        return [node.inputs[0]]
    return [t for t in node.inputs if t != NO_TENSOR and not graph.tensors[t].is_constant]


def region_output(graph: Graph, first: int, last: int) -> int | None:
    """The one tensor the region [first, last] hands on, or None when it is not a region: a node
    that cannot run by bands, an intermediate tensor read after the region or a graph output, or
    more than one tensor leaving."""
    nodes = graph.nodes[first:last + 1]
    if any(row_map(n, graph) is None for n in nodes):
        return None
    made = {n.outputs[0] for n in nodes}
    leaving = {t for t in made if t in graph.outputs}
    for n in graph.nodes[last + 1:]:
        leaving.update(t for t in n.inputs if t in made)
    if len(leaving) != 1:
        return None
    out = leaving.pop()
    if out != nodes[-1].outputs[0]:
        return None
    # an intermediate must not also be read by a non-row input of a region node (a window's weights)
    for n in nodes:
        if any(t in made for t in n.inputs if t not in _row_inputs(n, graph)):
            return None
    return out


def split_rows(rows: int, bands: int) -> list[tuple[int, int]]:
    base, extra = divmod(rows, bands)
    spans, start = [], 0
    for b in range(bands):
        end = start + base + (1 if b < extra else 0)
        spans.append((start, end))
        start = end
    return spans


@dataclass(frozen=True)
class _BandRows:
    computed: dict  # node position -> output rows [lo, hi) it computes in this band (absent: none)
    held: dict  # intermediate tensor -> rows [lo, hi) its buffer holds during this band
    reads: dict  # (node position, input tensor) -> (r0, r1, pad above, pad below)


def band_rows(graph: Graph, region: BandRegion, out: int) -> list[_BandRows]:
    """For every band: which rows each node computes, which rows each buffer holds, which rows each
    node reads. Rows computed by an earlier band are kept, never recomputed."""
    positions = range(region.first, region.last + 1)
    made = {graph.nodes[i].outputs[0] for i in positions}
    maps = {i: row_map(graph.nodes[i], graph) for i in positions}
    inputs = {i: _row_inputs(graph.nodes[i], graph) for i in positions}
    done: dict[int, int] = {}  # intermediate -> rows computed so far: [0, done)
    bands = []
    for y0, y1 in split_rows(graph.tensors[out].shape[1], region.bands):
        need: dict[int, tuple[int, int]] = {out: (y0, y1)}
        computed, reads = {}, {}
        for i in reversed(positions):
            node = graph.nodes[i]
            t = node.outputs[0]
            if t not in need:
                continue
            lo, hi = need[t]
            if t != out:
                lo = max(lo, done.get(t, 0))
            if lo >= hi:
                continue
            computed[i] = (lo, hi)
            rows = maps[i]
            for x in inputs[i]:
                r0, r1, above, below = rows.input_rows(lo, hi, graph.tensors[x].shape[1])
                reads[(i, x)] = (r0, r1, above, below)
                if x in made:
                    a, b = need.get(x, (r0, r1))
                    need[x] = (min(a, r0), max(b, r1))
        held = {t: need[t] for t in need if t in made and t != out}
        for t, (lo, hi) in held.items():  # rows below `lo` not computed yet are never read (a window
            done[t] = max(done.get(t, 0), hi)  # narrower than its stride skips rows)
        bands.append(_BandRows(computed, held, reads))
    return bands


class _Builder:
    """Accumulates the banded graph's tensors and their placements."""

    def __init__(self, graph: Graph) -> None:
        self.tensors = list(graph.tensors)
        self.alias = list(range(len(graph.tensors)))
        self.offset = [0] * len(graph.tensors)

    def add(self, like: Tensor, rows: int, name: str, inside: int = -1, row_offset: int = 0) -> int:
        """A tensor of `rows` rows shaped like `like`, placed `row_offset` rows into `inside`."""
        shape = (like.shape[0], rows, *like.shape[2:])
        self.tensors.append(Tensor(name=name, shape=shape, dtype=like.dtype, quant=like.quant))
        t = len(self.tensors) - 1
        self.alias.append(t if inside < 0 else inside)
        self.offset.append(0 if inside < 0 else row_offset * (like.nbytes // like.shape[1]))
        return t


def _band_node(node: Node, graph: Graph, inputs: tuple[int, ...], output: int, read) -> Node:
    if node.op not in WINDOW_OPS:
        return replace(node, inputs=inputs, outputs=(output,))
    win = _window(node, graph)
    x = graph.tensors[node.inputs[0]]
    _, _, above, below = read
    eff_w = (win.filter_w - 1) * win.dilation_w + 1
    right = max(0, (win.out_w - 1) * win.stride_w + eff_w - x.shape[2] - win.pad_left)
    if node.options.explicit_padding:
        right = node.options.explicit_padding[3]
    options = replace(node.options, padding=PADDING_VALID, explicit_padding=(above, below, win.pad_left, right))
    return replace(node, inputs=inputs, outputs=(output,), options=options)


def apply_region(graph: Graph, region: BandRegion, builder: _Builder) -> list[Node]:
    """The nodes that replace the region's nodes: band after band, the halo copies first."""
    out = region_output(graph, region.first, region.last)
    assert out is not None, f"not a band region: {region}"
    bands = band_rows(graph, region, out)
    made = {graph.nodes[i].outputs[0] for i in range(region.first, region.last + 1)} - {out}
    buffers = {t: builder.add(graph.tensors[t], max(b.held[t][1] - b.held[t][0] for b in bands if t in b.held),
                              f"{graph.tensors[t].name} (row buffer)") for t in sorted(made)}
    first_index = graph.nodes[region.first].index
    nodes: list[Node] = []
    previous: dict[int, tuple[int, int]] = {}
    for band in bands:
        for t in sorted(band.held):  # the halo: rows computed before and needed again
            lo, hi = band.held[t]
            if t in previous:
                plo, phi = previous[t]
                kept = min(phi, hi) - lo
                if kept > 0 and lo != plo:
                    like = graph.tensors[t]
                    src = builder.add(like, kept, f"{like.name} rows {lo}..{lo + kept} (kept)", buffers[t], lo - plo)
                    dst = builder.add(like, kept, f"{like.name} rows {lo}..{lo + kept}", buffers[t], 0)
                    nodes.append(Node(op=COPY_ROWS, inputs=(src,), outputs=(dst,), index=first_index,
                                      options=CopyRowsOptions(overlapping=lo - plo < kept)))
            previous[t] = band.held[t]
        for i in range(region.first, region.last + 1):
            if i not in band.computed:
                continue
            node = graph.nodes[i]
            t = node.outputs[0]
            lo, hi = band.computed[i]
            like = graph.tensors[t]
            if t == out:
                target = builder.add(like, hi - lo, f"{like.name} rows {lo}..{hi}", out, lo)
            else:
                target = builder.add(like, hi - lo, f"{like.name} rows {lo}..{hi}", buffers[t], lo - band.held[t][0])
            inputs, read = [], None
            for x in node.inputs:
                if (i, x) not in band.reads:
                    inputs.append(x)
                    continue
                r0, r1, _, _ = band.reads[(i, x)]
                read = band.reads[(i, x)] if read is None else read
                xt = graph.tensors[x]
                if x in made:
                    inputs.append(builder.add(xt, r1 - r0, f"{xt.name} rows {r0}..{r1}", buffers[x],
                                              r0 - band.held[x][0]))
                else:
                    inputs.append(builder.add(xt, r1 - r0, f"{xt.name} rows {r0}..{r1}", x, r0))
            nodes.append(_band_node(node, graph, tuple(inputs), target, read))
    return nodes


def region_input(graph: Graph, region: BandRegion) -> int | None:
    """The region's one non-constant input read from outside when it dies inside the region (read
    by no later node, not a graph output): the tensor its output may overwrite, else None."""
    positions = range(region.first, region.last + 1)
    made = {graph.nodes[i].outputs[0] for i in positions}
    outside = {t for i in positions for t in _row_inputs(graph.nodes[i], graph) if t not in made}
    if len(outside) != 1:
        return None
    x = outside.pop()
    if x in graph.outputs or any(x in n.inputs for n in graph.nodes[region.last + 1:]):
        return None
    return x


def over_input_shift(graph: Graph, region: BandRegion, alignment: int) -> int:
    """How many bytes before its input the region's output must start so that every band writes its
    output rows over input rows that neither its own last node nor any later band reads."""
    out, x = region_output(graph, region.first, region.last), region_input(graph, region)
    bands = band_rows(graph, region, out)
    out_row = graph.tensors[out].nbytes // graph.tensors[out].shape[1]
    in_row = graph.tensors[x].nbytes // graph.tensors[x].shape[1]
    shift = 0
    later_low = None  # lowest input row read by bands after the current one
    for band in reversed(bands):
        low = later_low
        for (i, t), (r0, _, _, _) in band.reads.items():
            if t == x and i == region.last:
                low = r0 if low is None else min(low, r0)
        end = band.computed[region.last][1]
        if low is not None:
            shift = max(shift, end * out_row - low * in_row)
        for (i, t), (r0, _, _, _) in band.reads.items():
            if t == x:
                later_low = r0 if later_low is None else min(later_low, r0)
    return -(-shift // alignment) * alignment


def band_plan(plan: Plan, regions: tuple[BandRegion, ...]) -> Plan:
    """The plan's graph with every region replaced by its bands (regions sorted, disjoint)."""
    if not regions:
        return plan
    graph = plan.graph
    builder = _Builder(graph)
    nodes: list[Node] = []
    position = 0
    notes = []
    for region in sorted(regions, key=lambda r: r.first):
        nodes.extend(graph.nodes[position:region.first])
        nodes.extend(apply_region(graph, region, builder))
        position = region.last + 1
        a, b = graph.nodes[region.first].index, graph.nodes[region.last].index
        over = ", output written over its dead input rows" if region.over_input else ""
        if region.first == region.last:
            op = graph.nodes[region.first].op
            notes.append(f"{op} #{a} runs in place in {region.bands} bands of rows{over}")
        else:
            notes.append(f"operators #{a}..#{b} run in {region.bands} bands of rows (halo rows kept, not recomputed{over})")
    nodes.extend(graph.nodes[position:])
    banded = replace(graph, tensors=tuple(builder.tensors), nodes=tuple(nodes))
    ties = tuple((region_input(graph, r), region_output(graph, r.first, r.last),
                  -over_input_shift(graph, r, plan.options.alignment)) for r in regions if r.over_input)
    return replace(plan, graph=banded, alias=tuple(builder.alias), alias_offset=tuple(builder.offset),
                   notes=(*plan.notes, *notes), ties=(*plan.ties, *ties))


# ---- choosing regions ------------------------------------------------------------------------------

MAX_REGION_NODES = 14  # longer regions are not tried: the search stays quick, and a longer region
# rarely lowers the peak more (its buffers add up)


def candidate_regions(graph: Graph) -> list[tuple[int, int]]:
    """Every run [first, last] of at most MAX_REGION_NODES row-local nodes that is a region."""
    ok = [row_map(n, graph) is not None for n in graph.nodes]
    spans = []
    for first in range(len(graph.nodes)):
        if not ok[first]:
            continue
        last = first
        while last + 1 < len(graph.nodes) and ok[last + 1]:
            last += 1
        # one operator alone too: run in place over its input (depthwise, QUANTIZE of a float input)
        for end in range(first, min(last, first + MAX_REGION_NODES - 1) + 1):
            if region_output(graph, first, end) is not None:
                spans.append((first, end))
    return spans


ARENA_SLACK = 0.03


def choose_regions(plan: Plan, arena_of: Callable[[Plan], tuple[int, int]], max_regions: int = 4,
                   band_counts: tuple[int, ...] = (2, 4, 8, 16, 32),
                   start: tuple[BandRegion, ...] = ()) -> tuple[tuple[BandRegion, ...], int]:
    """Greedy: add the region and band count that lowers the arena most, up to `max_regions`
    disjoint regions; among those within ARENA_SLACK of the lowest, the fewest bands, then the
    smallest arena, then a shorter region. Only regions holding the node of
    the current peak can lower it. `arena_of(plan) -> (arena bytes, position in plan.graph.nodes
    of the node at the peak, bytes live there)`. Returns (regions, arena)."""
    graph = plan.graph
    spans = candidate_regions(graph)
    chosen = start
    best, peak, peak_bytes = arena_of(band_plan(plan, chosen))
    if start:
        at = _model_position(plan.graph, band_plan(plan, chosen).graph, peak)
        peak = at if at is not None else -1
    for _ in range(max_regions - len(start)):
        improving = []
        for first, last in spans:
            if not first <= peak <= last or any(not (last < r.first or first > r.last) for r in chosen):
                continue
            rows = graph.tensors[graph.nodes[last].outputs[0]].shape[1]
            overs = (False, True) if region_input(graph, BandRegion(first, last, 1)) is not None else (False,)
            for bands in sorted({b for b in band_counts if b < rows} | {rows}):
                for over in overs:
                    if first == last and not over:
                        continue  # one operator in bands only pays when it overwrites its input
                    candidate = (*chosen, BandRegion(first, last, bands, over))
                    arena, at, at_bytes = arena_of(band_plan(plan, candidate))
                    # a step that only lowers the bytes at this peak (the arena held by another
                    # peak of the same size) still counts: the next round can take the other one
                    if (arena, at_bytes) < (best, peak_bytes):
                        improving.append(((arena, at_bytes), candidate, at))
        if not improving:
            break
        # within ARENA_SLACK of the smallest arena, the fewest bands: fewer, larger steps run faster
        # and split better over cores, for a few bytes
        least = min(arena for (arena, _), _, _ in improving)
        (best, peak_bytes), chosen, at = min(
            (c for c in improving if c[0][0] <= least * (1 + ARENA_SLACK)),
            key=lambda c: (c[1][-1].bands, c[0], c[1][-1].last - c[1][-1].first, c[1][-1].over_input))
        peak = _model_position(plan.graph, band_plan(plan, chosen).graph, at)
        if peak is None:  # the peak is inside a region now: no other region can lower it
            break
    return chosen, best


def _model_position(model: Graph, banded: Graph, position: int) -> int | None:
    """Position in `model`'s nodes of the banded graph's node `position`, None when that node is a
    band's (regions are made of band nodes that share the operator index of the model's)."""
    node = banded.nodes[position]
    matches = [i for i, n in enumerate(model.nodes) if n is node]
    return matches[0] if matches else None


def estimate_arena(plan: Plan, scratch_of: dict[int, int]) -> tuple[int, int, int]:
    """(arena bytes, position of the node where the most bytes are live, those bytes: tied buffers'
    shared bytes counted once) of a plan before lowering,
    without preparing any operator: steps stand for the nodes (views and in-place outputs decided
    as lowering would), scratch taken per operator index from `scratch_of` (the model's lowering)."""
    from arielml.ops.registry import lookup
    from arielml.passes.lower import alias_inplace, alias_views
    from arielml.passes.memory_plan import buffer_requests, plan_greedy, request_ties
    from arielml.passes.plan import Step
    graph = plan.graph
    steps = tuple(Step(node=i, op=n.op, params=None, view=lookup(n).view, scratch_bytes=scratch_of.get(n.index, 0))
                  for i, n in enumerate(graph.nodes))
    alias = plan.alias or tuple(range(len(graph.tensors)))
    offsets = plan.alias_offset or tuple(0 for _ in graph.tensors)
    laid = alias_inplace(alias_views(replace(plan, steps=steps, alias=alias, alias_offset=offsets)))
    requests, roots, _ = buffer_requests(laid)
    layout = plan_greedy(requests, plan.options.alignment, request_ties(laid, roots))
    spans: list[list[tuple[int, int]]] = [[] for _ in range(len(steps) + 1)]
    for r, offset in zip(requests, layout.offsets):
        for k in range(r.first_use, r.last_use + 1):
            spans[k].append((offset, offset + r.size))
    live = []
    for intervals in spans:  # bytes covered by the live buffers
        covered, reach = 0, 0
        for a, b in sorted(intervals):
            if b > reach:
                covered += b - max(a, reach)
                reach = b
        live.append(covered)
    peak = max(range(len(steps)), key=lambda k: live[k]) if steps else 0
    return layout.arena_bytes, peak, live[peak] if steps else 0


def plan_bands(plan: Plan) -> Plan:
    """The pass: under optimize="memory", band execution wherever it lowers the arena."""
    if plan.options.optimize != "memory":
        return plan
    from arielml.passes.lower import lower
    scratch_of: dict[int, int] = {}
    for step in lower(replace(plan, options=replace(plan.options, kernels_required=False))).steps:
        index = plan.graph.nodes[step.node].index
        scratch_of[index] = max(scratch_of.get(index, 0), step.scratch_bytes)
    arena_of = lambda p: estimate_arena(p, scratch_of)  # noqa: E731
    regions, arena = choose_regions(plan, arena_of)
    # A float input converted by QUANTIZE is often the biggest tensor of all, and its peak shares the
    # arena with others: the greedy search, one region at a time, never sees that converting it in
    # place first pays. Try that start too and keep the smaller arena.
    graph = plan.graph
    quantize_first = tuple(BandRegion(i, i, graph.tensors[n.outputs[0]].shape[1], True) for i, n in enumerate(graph.nodes)
                           if n.op == "QUANTIZE" and row_map(n, graph) is not None and
                           graph.tensors[n.inputs[0]].dtype == "float32" and
                           region_input(graph, BandRegion(i, i, 1)) is not None)
    if quantize_first:
        other, other_arena = choose_regions(plan, arena_of, start=quantize_first)
        if other_arena < arena:
            regions = other
    return band_plan(plan, regions)
