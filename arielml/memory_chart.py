"""The arena over time, drawn from a compiled Plan: which buffers are alive at every execution step,
where they sit in the arena, and where the peak is.

    chart = draw_memory_chart(plan, "memory.png", model_name="vww_96_int8")
    chart.peak_step, chart.peak_bytes, chart.arena_bytes

Needs no execution: everything comes from the plan (`buffer_requests` for the lifetimes, the memory
plan's offsets). `live_bytes(plan)` and `memory_peak(plan)` return the numbers the chart draws, for
tests and reports. The chart draws what the plan says: buffers the planner tied together (an in-place
operator's input and output) may overlap, and overlapping bytes are counted once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arielml.errors import ArielError
from arielml.passes.memory_plan import buffer_requests

KIND_COLOURS = {"input": "#2ca02c", "output": "#d62728", "activation": "#1f77b4", "scratch": "#ff7f0e"}
KIND_NAMES = {"input": "graph input", "output": "graph output", "activation": "activation",
              "scratch": "scratch (all cores)"}
FIGURE_INCHES = (13, 7.5)
DPI = 110
AXES_PIXELS = 1150  # the arena panel's width at 13 inches and 110 dpi, about
TEXT_PIXELS_PER_CHAR = 5.5  # 6-point text at 110 dpi, with a margin
TEXT_PIXELS_HIGH = 10
TICK_PIXELS = 11  # room a rotated 6-point tick label needs beside the next one


@dataclass(frozen=True)
class ArenaBuffer:
    """One rectangle of the chart: `size` bytes at `offset`, alive from step `first` to `last`
    (inclusive; a graph output's last step is the plan's last one: it is read after it)."""

    kind: str  # one of KIND_COLOURS
    offset: int
    size: int
    first: int
    last: int
    label: str  # "t12 48x48x8" for a tensor, "scratch 3" for a step's scratch block


@dataclass(frozen=True)
class MemoryChart:
    path: Path
    peak_step: int
    peak_bytes: int
    arena_bytes: int
    steps: int

    def to_json(self) -> dict:
        return {"chart": str(self.path), "peak_step": self.peak_step, "peak_bytes": self.peak_bytes,
                "arena_bytes": self.arena_bytes, "steps": self.steps}

    def summary(self) -> str:
        return (f"memory chart: {self.path} (peak {self.peak_bytes:,} B live at step {self.peak_step} of "
                f"{self.steps}; arena {self.arena_bytes:,} B)")


def _shape_text(shape: tuple[int, ...]) -> str:
    dims = list(shape)
    while len(dims) > 1 and dims[0] == 1:  # the batch of 1 says nothing
        dims.pop(0)
    return "x".join(map(str, dims)) or "scalar"


def arena_buffers(plan) -> list[ArenaBuffer]:
    """Every arena buffer of a memory-planned plan: the root tensors, then the steps' scratch blocks."""
    if not plan.offsets:
        raise ArielError("the plan has no memory plan yet (run the whole pass pipeline before drawing it)")
    graph = plan.graph
    last_step = max(len(plan.steps) - 1, 0)
    inputs = {plan.root(t) for t in graph.inputs}
    outputs = {plan.root(t) for t in graph.outputs}
    requests, roots, scratch_steps = buffer_requests(plan)
    buffers = []
    for k, request in enumerate(requests):
        first, last = request.first_use, min(request.last_use, last_step)
        if k < len(roots):
            root = roots[k]
            kind = "input" if root in inputs else "output" if root in outputs else "activation"
            buffers.append(ArenaBuffer(kind, plan.offsets[root], request.size, first, last,
                                       f"t{root} {_shape_text(graph.tensors[root].shape)}"))
        else:
            step = scratch_steps[k - len(roots)]
            buffers.append(ArenaBuffer("scratch", plan.scratch_offsets[step], request.size, first, last,
                                       f"scratch {step}"))
    return buffers


def _union_bytes(ranges: list[tuple[int, int]]) -> int:
    """Bytes covered by [start, end) ranges, overlaps counted once."""
    total, reach = 0, None
    for start, end in sorted(ranges):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def live_bytes(plan) -> list[int]:
    """Per step: the arena bytes in use while it runs (the union of the live buffers' byte ranges, so
    buffers tied to each other count once). Never more than plan.arena_bytes."""
    live: list[list[tuple[int, int]]] = [[] for _ in plan.steps]
    for buffer in arena_buffers(plan):
        for step in range(buffer.first, buffer.last + 1):
            live[step].append((buffer.offset, buffer.offset + buffer.size))
    return [_union_bytes(ranges) for ranges in live]


def memory_peak(plan) -> tuple[int, int]:
    """(step, bytes) of the most arena bytes in use; the first such step on a tie, (0, 0) for no steps."""
    per_step = live_bytes(plan)
    if not per_step:
        return 0, 0
    peak = max(per_step)
    return per_step.index(peak), peak


def _short_op(op: str) -> str:
    return {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "fc", "AVERAGE_POOL_2D": "avgpool",
            "MAX_POOL_2D": "maxpool", "SOFTMAX": "softmax", "ARIEL_COPY_ROWS": "copy rows"}.get(op, op.lower())


def step_runs(plan) -> list[tuple[int, int, int]]:
    """(first step, last step, graph node of the first) of each run of consecutive steps of one model
    operator (same model index and type): an operator executed patch by patch or band by band, one
    graph node or step per band, is one run, labelled once."""
    runs: list[tuple[int, int, int]] = []
    same = lambda a, b: (a.index, a.op) == (b.index, b.op)  # noqa: E731
    nodes = plan.graph.nodes
    for i, step in enumerate(plan.steps):
        if runs and same(nodes[runs[-1][2]], nodes[step.node]):
            runs[-1] = (runs[-1][0], i, runs[-1][2])
        else:
            runs.append((i, i, step.node))
    return runs


def _kib(value: float, _position=None) -> str:
    return f"{value / 1024:g} KiB" if value >= 1024 or value == 0 else f"{value:g} B"


def _byte_tick_step(top: int) -> int:
    """A power-of-two byte step giving 4 to 8 ticks from 0 to `top`, so the ticks read as whole KiB."""
    step = 1
    while top / step > 8:
        step *= 2
    return step


def draw_memory_chart(plan, path: str | Path, model_name: str | None = None) -> MemoryChart:
    """Write the arena chart of `plan` as a PNG: bottom panel, every buffer as a rectangle over its
    steps and bytes, coloured by kind, the large ones labelled with tensor index and shape; top panel,
    the bytes in use per step, the peak marked, the arena size dashed. Returns where and the peak."""
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise ArielError(f"--memory writes a PNG image; give a file name ending in .png (got {out})")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Rectangle
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    graph, steps = plan.graph, plan.steps
    buffers = arena_buffers(plan)
    per_step = live_bytes(plan)
    peak_step, peak_bytes = memory_peak(plan)
    arena = max(plan.arena_bytes, 1)
    count = max(len(steps), 1)
    name = (model_name or graph.name).replace("$", r"\$")  # a `$` would start matplotlib's mathtext

    figure, (top, bottom) = plt.subplots(2, 1, figsize=FIGURE_INCHES, sharex=True,
                                         gridspec_kw={"height_ratios": (1, 3)})
    x_pixels = AXES_PIXELS / count
    y_pixels = FIGURE_INCHES[1] * DPI * 0.62 / arena  # the arena panel's share of the figure, about

    # alternate shading per run of one node, so the operators (and the patches of one) stay apart
    for position, (first, last, _) in enumerate(step_runs(plan)):
        if position % 2:
            bottom.axvspan(first - 0.5, last + 0.5, color="#f2f2f2", zorder=0, linewidth=0)
    # a buffer of a few bytes (a classifier's output) would be thinner than a pixel: drawn 2 pixels high
    least = 2 / y_pixels
    rectangles = [Rectangle((b.first - 0.5, b.offset), b.last - b.first + 1, max(b.size, least)) for b in buffers]
    bottom.add_collection(PatchCollection(rectangles, facecolors=[KIND_COLOURS[b.kind] for b in buffers],
                                          edgecolors="black", linewidths=0.3, alpha=0.8, zorder=2))
    for b in buffers:
        width, height = (b.last - b.first + 1) * x_pixels, b.size * y_pixels
        need = len(b.label) * TEXT_PIXELS_PER_CHAR
        rotation = 0 if width >= need and height >= TEXT_PIXELS_HIGH else \
            90 if height >= need and width >= TEXT_PIXELS_HIGH else None
        if rotation is not None:
            bottom.text((b.first + b.last) / 2, b.offset + b.size / 2, b.label, ha="center", va="center",
                        rotation=rotation, fontsize=6, color="white", zorder=3, clip_on=True)
    # behind the buffers: visible where the peak step has free bytes, never over a label
    bottom.axvline(peak_step, color="black", linestyle="--", linewidth=0.8, zorder=1)
    bottom.set_ylim(0, arena)
    bottom.set_xlim(-0.5, count - 0.5)
    bottom.yaxis.set_major_locator(MultipleLocator(_byte_tick_step(arena)))
    bottom.yaxis.set_major_formatter(FuncFormatter(_kib))
    bottom.set_ylabel("arena offset")

    # x ticks: one per run of a node, as many as fit side by side (rotated labels); the peak's run
    # always gets one, in bold
    runs = step_runs(plan)
    peak_run = next((run for run in runs if run[0] <= peak_step <= run[1]), None)
    peak_centre = (peak_run[0] + peak_run[1]) / 2 if peak_run else None
    ticks, labels, reach, bold = [], [], -1e9, None
    for run in runs:
        first, last, node_position = run
        centre = (first + last) / 2
        if run != peak_run and ((centre - reach) * x_pixels < TICK_PIXELS
                                or abs(centre - peak_centre) * x_pixels < TICK_PIXELS):
            continue
        node = graph.nodes[node_position]
        if run == peak_run:
            bold = len(ticks)
        ticks.append(centre)
        # a step the compiler made (ARIEL_COPY_ROWS) is no model operator: no model index
        index = "" if node.op.startswith("ARIEL_") else f"#{node.index} "
        labels.append(f"{index}{_short_op(node.op)}" + (f" x{last - first + 1}" if last > first else ""))
        reach = centre
    bottom.set_xticks(ticks, labels, rotation=90, fontsize=6)
    if bold is not None:
        bottom.get_xticklabels()[bold].set_fontweight("bold")
    bottom.set_xlabel(f"execution step (operator: model index and type; x N: N steps of one operator), "
                      f"{len(steps)} steps")

    edges = [i - 0.5 for i in range(len(per_step) + 1)]  # step i spans i - 0.5 .. i + 0.5, as below
    top.stairs(per_step, edges, fill=True, color="#9edae5", alpha=0.6)
    top.stairs(per_step, edges, color="#393b79", linewidth=1.2)
    top.axhline(plan.arena_bytes, color="grey", linestyle="--", linewidth=0.8)
    peak_on_left = peak_step < count * 0.6
    top.text(count - 0.5 if peak_on_left else -0.5, plan.arena_bytes, f"arena {plan.arena_bytes:,} B",
             ha="right" if peak_on_left else "left", va="bottom", fontsize=7, color="grey")
    top.plot([peak_step], [peak_bytes], "o", color="black", markersize=4)
    peak_node = graph.nodes[steps[peak_step].node] if steps else None
    peak_text = f"peak {peak_bytes:,} B at step {peak_step}" + (
        f" (#{peak_node.index} {peak_node.op})" if peak_node else "")
    top.annotate(peak_text, (peak_step, peak_bytes), xytext=(6 if peak_on_left else -6, 3),
                 textcoords="offset points", fontsize=7, va="bottom", ha="left" if peak_on_left else "right")
    top.set_ylim(0, arena * 1.18)
    top.yaxis.set_major_locator(MultipleLocator(_byte_tick_step(arena) * 2))
    top.yaxis.set_major_formatter(FuncFormatter(_kib))
    top.set_ylabel("in use")
    top.grid(axis="y", linestyle=":", linewidth=0.5)

    options = plan.options
    optimize = getattr(options, "optimize", "latency")  # --optimize memory: band execution, in-place
    top.set_title(f"{name} on {options.target}, {options.cores} core(s)"
                  f"{'' if optimize == 'latency' else f', optimize {optimize}'}: arena {plan.arena_bytes:,} B, "
                  f"peak in use {peak_bytes:,} B")
    kinds = [k for k in KIND_COLOURS if any(b.kind == k for b in buffers)]
    handles = [Patch(facecolor=KIND_COLOURS[k], alpha=0.8, label=KIND_NAMES[k]) for k in kinds]
    figure.legend(handles=handles, loc="lower center", ncol=max(len(handles), 1), fontsize="small", frameon=False)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=DPI)
    except OSError as e:
        raise ArielError(f"cannot write the memory chart to {out}: {e.strerror or e} (choose a writable "
                         f"directory)") from None
    finally:
        plt.close(figure)
    return MemoryChart(out, peak_step, peak_bytes, plan.arena_bytes, len(steps))
