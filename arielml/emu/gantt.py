"""Gantt chart of an emulated run: one row per core, tiles coloured by operator type, idle time (barrier
waits, start-up) visible as the grey background, and a top row with every operator's time window and
labels on the operators that take the most time.

    draw_gantt(profile, "gantt.png", op_types={0: "CONV_2D", ...}, title="kws on rp2040, 2 cores")

Uses only the `Profile` of arielml.emu.profile (tiles with start/end in seconds per core), so it draws
any run whose firmware emits the runtime's trace marks."""
from __future__ import annotations

from pathlib import Path

from arielml.emu.profile import Profile
from arielml.errors import ArielError

# Fixed colours for the operator types that dominate TinyML models, so every chart reads the same way.
TYPE_COLOURS = {
    "CONV_2D": "#1f77b4", "DEPTHWISE_CONV_2D": "#ff7f0e", "FULLY_CONNECTED": "#2ca02c",
    "AVERAGE_POOL_2D": "#9467bd", "MAX_POOL_2D": "#8c564b", "ADD": "#d62728", "MUL": "#e377c2",
    "SOFTMAX": "#bcbd22", "QUANTIZE": "#17becf", "DEQUANTIZE": "#7f7f7f",
}
SPARE_COLOURS = ("#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
                 "#9edae5", "#393b79")
IDLE_COLOUR = "#e6e6e6"
LABEL_PIXELS_PER_CHAR = 7  # bold 7-point text at 110 dpi, with a margin
AXES_PIXELS = 1100  # roughly the plot's width at 13 inches and 110 dpi


def type_colours(types: list[str]) -> dict[str, str]:
    """Colour per operator type: the fixed table first, then spare colours in order of appearance."""
    colours, spare = {}, iter(SPARE_COLOURS * 4)
    for op_type in dict.fromkeys(types):
        colours[op_type] = TYPE_COLOURS.get(op_type) or next(spare)
    return colours


def op_windows(profile: Profile) -> dict[int, tuple[float, float]]:
    """Operator index -> (first tile start, last tile end) in seconds over all cores."""
    windows: dict[int, list[float]] = {}
    for tile in profile.tiles:
        window = windows.setdefault(tile.op, [tile.start_s, tile.end_s])
        window[0], window[1] = min(window[0], tile.start_s), max(window[1], tile.end_s)
    return {op: (w[0], w[1]) for op, w in sorted(windows.items())}


def _short_type(op_type: str) -> str:
    return {"CONV_2D": "conv", "DEPTHWISE_CONV_2D": "dw", "FULLY_CONNECTED": "fc", "AVERAGE_POOL_2D": "avgpool",
            "MAX_POOL_2D": "maxpool", "SOFTMAX": "softmax"}.get(op_type, op_type.lower())


def draw_gantt(profile: Profile, path: str | Path, op_types: dict[int, str] | None = None,
               title: str | None = None, core_labels: list[str] | None = None) -> Path:
    """Write the chart as a PNG; returns its path. `op_types` maps operator index -> type name
    (colours and labels; missing entries show as 'op N')."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    if not profile.tiles:
        raise ArielError("the run recorded no tiles (was the firmware built without trace marks?); "
                         "nothing to draw")
    op_types = dict(op_types or {})
    windows = op_windows(profile)
    type_of = {op: op_types.get(op, f"op {op}") for op in windows}
    colours = type_colours(list(type_of.values()))
    ncores = len(profile.clocks_hz)
    t0 = min(start for start, _ in windows.values())
    t_end = max(end for _, end in windows.values())
    span_ms = max((t_end - t0) * 1e3, 1e-9)
    ms = lambda seconds: (seconds - t0) * 1e3  # noqa: E731

    height = 2.3 + 0.55 * (ncores + 1)
    figure, axes = plt.subplots(figsize=(13, height))
    # idle background per core: whatever is not covered by a tile is waiting (barriers, start-up)
    for core in range(ncores):
        axes.broken_barh([(0, span_ms)], (core - 0.4, 0.8), facecolors=IDLE_COLOUR, edgecolor="none")
    by_colour: dict[str, list[tuple[float, float]]] = {}
    for tile in profile.tiles:
        bars = by_colour.setdefault(f"{tile.core}|{colours[type_of.get(tile.op, f'op {tile.op}')]}", [])
        bars.append((ms(tile.start_s), (tile.end_s - tile.start_s) * 1e3))
    for key, bars in by_colour.items():
        core, colour = key.split("|")
        axes.broken_barh(bars, (int(core) - 0.4, 0.8), facecolors=colour, edgecolor="none")
    # a thin white line where a core starts an operator: back-to-back ops of one type stay apart
    first_start: dict[tuple[int, int], float] = {}
    for tile in profile.tiles:
        key = (tile.core, tile.op)
        first_start[key] = min(first_start.get(key, tile.start_s), tile.start_s)
    for (core, _), start in first_start.items():
        if start > t0:
            axes.vlines(ms(start), core - 0.4, core + 0.4, colors="white", linewidth=0.8)
    # operator row: each op's window, alternating shade so neighbours of the same type stay apart
    for position, (op, (start, end)) in enumerate(windows.items()):
        colour = colours[type_of[op]]
        axes.broken_barh([(ms(start), (end - start) * 1e3)], (-1.45, 0.8), facecolors=colour,
                         edgecolor="black", linewidth=0.4, alpha=1.0 if position % 2 == 0 else 0.6)
        room = (end - start) * 1e3 / span_ms * AXES_PIXELS / LABEL_PIXELS_PER_CHAR  # characters that fit
        text = next((t for t in (f"#{op} {_short_type(type_of[op])}", f"#{op}") if len(t) + 1 <= room), None)
        if text:
            axes.text(ms((start + end) / 2), -1.05, text, ha="center", va="center", fontsize=7,
                      color="white", fontweight="bold", clip_on=True)
    labels = core_labels or [f"core {c}" for c in range(ncores)]
    utilisation = profile.utilisation
    axes.set_yticks([-1.05, *range(ncores)],
                    ["operators", *[f"{labels[c]}\n{utilisation[c]:.0%} busy" for c in range(ncores)]])
    axes.set_ylim(ncores - 0.45, -1.55)  # operators on top, core 0 below it
    axes.set_xlim(0, span_ms)
    axes.set_xlabel("time since the first operator started (ms)")
    axes.grid(axis="x", linestyle=":", linewidth=0.5)
    axes.set_axisbelow(True)
    counts: dict[str, int] = {}
    for op_type in type_of.values():
        counts[op_type] = counts.get(op_type, 0) + 1
    handles = [Patch(facecolor=colours[t], label=f"{t} ×{n}") for t, n in counts.items()]
    handles.append(Patch(facecolor=IDLE_COLOUR, label="idle (barrier wait)"))
    figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), fontsize="small", frameon=False)
    axes.set_title(title or f"{profile.total_seconds * 1e3:.3f} ms")
    legend_inches = 0.25 * (1 + (len(handles) - 1) // 5) + 0.15
    figure.tight_layout(rect=(0, legend_inches / height, 1, 1))
    out = Path(path)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    try:
        figure.savefig(out, dpi=110)
    except OSError as e:
        raise ArielError(f"cannot write the Gantt chart to {out}: {e.strerror or e}") from None
    finally:
        plt.close(figure)
    return out
