"""Tables of the emulator benchmark (arielml.bench.emulated): the same rows feed the terminal (rich)
and the emulator section of docs/benchmarks.md, which `update_section` replaces in place."""
from __future__ import annotations

import math
from pathlib import Path

from arielml.bench.emulated import (BOARD_TARGETS, CORE_TARGETS, PRIOR_ART, SCALING_CORES, SCALING_TARGET,
                                    SECTION_BEGIN, SECTION_END, UNEQUAL_TARGETS, EmulatorBench, Measurement)
from arielml.bench.kernels import KERNEL_CASES
from arielml.bench.peers import published
from arielml.bench.markdown import update_section as write_section

Table = tuple[list[str], list[list[str]]]


def si(value: int | None) -> str:
    if value is None:
        return "n/a"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g}{prefix}"
    return str(value)


def ms_text(ms: float | None) -> str:
    if ms is None:
        return "n/a"
    return f"{ms:.3g}" if ms < 10 else f"{ms:.1f}" if ms < 1000 else f"{ms:.0f}"


def x_text(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}×"


def kib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 1024:.1f} KiB"


def exact_mark(*measurements: Measurement | None) -> str:
    """✓ when every measured run is bit-exact, ✗ when one differs, n/a when none could be checked."""
    checked = [m.bit_exact for m in measurements if m is not None and m.error is None and m.bit_exact is not None]
    if any(c is False for c in checked):
        return "✗"
    return "✓" if checked else "n/a"


def speedup(base: Measurement | None, other: Measurement | None) -> float | None:
    if base is None or other is None or not base.ms or not other.ms:
        return None
    return base.ms / other.ms


def geomean(values: list[float | None]) -> float | None:
    present = [v for v in values if v]
    return math.exp(sum(map(math.log, present)) / len(present)) if present else None


def _labels(bench: EmulatorBench, study: str, target: str | None = None) -> list[str]:
    return list(dict.fromkeys(m.spec.label for m in bench.measurements
                              if m.spec.study == study and (target is None or m.spec.target == target)))


def _path_of(bench: EmulatorBench, label: str) -> Path:
    return next(m.spec.path for m in bench.measurements if m.spec.label == label)


def is_mlperf_tiny(path: Path) -> bool:
    return path.parent.name == "mlcommons_tiny"


def board_rows(bench: EmulatorBench, target: str) -> Table:
    """Per model on one board: 1 vs 2 cores (static scheduler)."""
    header = ["model", "MACs", "cycles 1 core", "cycles 2 cores", "speedup", "ms 1 core", "ms 2 cores",
              "cycles/MAC 1 core", "flash", "RAM", "bit-exact"]
    rows, speedups, mlperf = [], [], []
    for label in _labels(bench, "boards", target):
        one, two = bench.find("boards", label, target, 1), bench.find("boards", label, target, 2)
        gain = speedup(one, two)
        speedups.append(gain)
        if is_mlperf_tiny(_path_of(bench, label)):
            mlperf.append(gain)
        macs = (one or two).macs
        per_mac = f"{one.cycles / macs:.1f}" if one and one.cycles and macs else "n/a"
        memory = two if two and two.error is None else one  # the 2-core firmware is what ships
        rows.append([label, si(macs), si(one.cycles if one else None), si(two.cycles if two else None), x_text(gain),
                     ms_text(one.ms if one else None), ms_text(two.ms if two else None), per_mac,
                     kib(memory.flash_bytes if memory else None), kib(memory.ram_bytes if memory else None),
                     exact_mark(one, two)])
    if len(rows) > 1:
        rows.append(["geomean (all)", "", "", "", x_text(geomean(speedups)), "", "", "", "", "", ""])
        if mlperf:
            rows.append(["geomean (MLPerf Tiny)", "", "", "", x_text(geomean(mlperf)), "", "", "", "", "", ""])
    return header, rows


def scaling_rows(bench: EmulatorBench) -> Table:
    header = ["model", "cores", "cycles", "ms", "speedup", "efficiency", "mean utilisation", "bit-exact"]
    rows = []
    for label in _labels(bench, "scaling"):
        base = bench.find("scaling", label, SCALING_TARGET, 1)
        for cores in SCALING_CORES:
            m = bench.find("scaling", label, SCALING_TARGET, cores)
            if m is None:
                continue
            gain = speedup(base, m)
            use = sum(m.utilisation) / len(m.utilisation) if m.utilisation else None
            rows.append([label, str(cores), si(m.cycles), ms_text(m.ms), x_text(gain),
                         "n/a" if gain is None else f"{gain / cores:.0%}", "n/a" if use is None else f"{use:.0%}",
                         exact_mark(m)])
    return header, rows


def core_names(target: str) -> list[str]:
    from arielml.targets import get_board
    board = get_board(target)
    return [f"{board.core(i)[0].name} {board.core(i)[1] / 1e6:g} MHz" for i in range(board.core_count)]


def describe(target: str) -> str:
    """'2x cortex-m0plus @ 125 MHz' (the `targets` command's wording)."""
    from arielml.commands.targets import describe_cores
    from arielml.targets import get_board
    return describe_cores(get_board(target))


def unequal_rows(bench: EmulatorBench) -> Table:
    header = ["target", "model", "cores", "scheduler", "ms", "speedup vs core 0 alone", "MACs per core",
              "busy time per core", "utilisation per core", "bit-exact"]
    rows = []
    for target in UNEQUAL_TARGETS:
        names = [n.split()[0] for n in core_names(target)]
        for label in _labels(bench, "unequal", target):
            base = bench.find("unequal", label, target, 1)
            for cores, scheduler in ((1, "static"), (2, "static"), (2, "dynamic")):
                m = bench.find("unequal", label, target, cores, scheduler)
                if m is None:
                    continue
                work = " / ".join(f"{names[c]} {s:.0%}" for c, s in enumerate(m.mac_share)) or "n/a"
                share = " / ".join(f"{s:.0%}" for s in m.busy_share) or "n/a"
                use = " / ".join(f"{u:.0%}" for u in m.utilisation) or "n/a"
                rows.append([target, label, str(cores), scheduler if cores > 1 else "-", ms_text(m.ms),
                             x_text(speedup(base, m)) if cores > 1 else "1.00×", work, share, use, exact_mark(m)])
    return header, rows


def core_type_of(target: str) -> str:
    from arielml.targets import get_board
    return get_board(target).core(0)[0].name


def _per_mac(m: Measurement | None, cycles: int | None) -> str:
    return f"{cycles / m.macs:.2f}" if m is not None and m.error is None and cycles and m.macs else "n/a"


def _measured_core_targets(bench: EmulatorBench, labels: list[str], study: str | None) -> list[str]:
    return [t for t in CORE_TARGETS if any(bench.find(study, label, t, 1) for label in labels)]


def core_rows(bench: EmulatorBench) -> Table:
    """One core of each core type: cycles per MAC of each model, the best published figure beside it."""
    labels = list(dict.fromkeys(m.spec.label for m in bench.measurements if m.spec.study != "kernels"))
    targets = _measured_core_targets(bench, labels, None)
    header = ["model", "MACs"]
    for target in targets:
        header += [f"{core_type_of(target)} ({target})", "best published"]
    rows = []
    for label in labels:
        runs = [bench.find(None, label, target, 1) for target in targets]
        macs = next((m.macs for m in runs if m is not None and m.macs), None)
        row = [label, si(macs)]
        for target, m in zip(targets, runs):
            peer = published(core_type_of(target), label)
            row += [_per_mac(m, m.cycles if m else None), f"{peer.cycles_per_mac:g} ({peer.who})" if peer else "-"]
        rows.append(row)
    return header, rows


def kernel_rows(bench: EmulatorBench) -> Table:
    """Kernel micro-benchmarks: cycles per MAC of one int8 operator on one core of each core type."""
    labels = [case.name for case in KERNEL_CASES if any(bench.find("kernels", case.name, t, 1) for t in CORE_TARGETS)]
    targets = _measured_core_targets(bench, labels, "kernels")
    header = ["kernel", "shape", "MACs", *[f"{core_type_of(t)} ({t})" for t in targets], "bit-exact"]
    shapes = {case.name: case.shape for case in KERNEL_CASES}
    rows = []
    for label in labels:
        runs = [bench.find("kernels", label, target, 1) for target in targets]
        macs = next((m.macs for m in runs if m is not None and m.macs), None)
        rows.append([label, shapes[label], si(macs), *[_per_mac(m, m.op_cycles if m else None) for m in runs],
                     exact_mark(*runs)])
    return header, rows


def error_notes(bench: EmulatorBench) -> list[str]:
    seen = {}
    for m in bench.measurements:
        if m.error:
            s = m.spec
            seen.setdefault((s.label, m.error), []).append(f"{s.target}/{s.cores}c/{s.scheduler}")
    return [f"`{label}` ({', '.join(runs)}): {error}" for (label, error), runs in seen.items()]


# ---- output -------------------------------------------------------------------------------------

def rich_tables(bench: EmulatorBench) -> list:
    from rich.markup import escape
    from rich.table import Table as RichTable
    parts = []
    for target in BOARD_TARGETS:
        if _labels(bench, "boards", target):
            parts.append((f"{target} ({describe(target)}): 1 vs 2 cores, static scheduler", board_rows(bench, target)))
    if _labels(bench, "scaling"):
        parts.append((f"{SCALING_TARGET}: scaling with the number of cores", scaling_rows(bench)))
    if any(m.spec.study == "unequal" for m in bench.measurements):
        parts.append(("unequal cores: how the work splits", unequal_rows(bench)))
    if any(m.spec.study == "cores" for m in bench.measurements):
        parts.append(("one core of each core type: cycles per MAC, best published beside", core_rows(bench)))
    if any(m.spec.study == "kernels" for m in bench.measurements):
        parts.append(("int8 kernels, one core: cycles per MAC", kernel_rows(bench)))
    tables = []
    for title, (header, rows) in parts:
        table = RichTable(title=title)
        for i, column in enumerate(header):
            table.add_column(column, justify="left" if i == 0 or column in TEXT_COLUMNS else "right",
                             no_wrap=i == 0)
        for row in rows:
            # cells hold model names (user text): escaped, then the marks coloured
            table.add_row(*[escape(c).replace("✓", "[green]✓[/green]").replace("✗", "[red]✗[/red]") for c in row])
        tables.append(table)
    return tables


TEXT_COLUMNS = ("model", "target", "scheduler", "MACs per core", "kernel", "shape", "best published")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---" if i == 0 or h in TEXT_COLUMNS else "--:" for i, h in enumerate(header)]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(bench: EmulatorBench, command: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in bench.versions.items())
    parts = [
        SECTION_BEGIN,
        "## Emulated microcontrollers: cycles, multi-core speedup, flash and RAM",
        "",
        f"- command: `{command}`",
        f"- machine: {bench.machine}",
        f"- date: {bench.date}",
        f"- software: {versions}",
        f"- emulator speed: {bench.mips:.0f} million emulated instructions per second (all runs together, "
        "host wall time of the emulation only)",
        "",
        PRIOR_ART,
        "",
        "How it is measured: the generated C for each board (cores and scheduler as shown) is cross-compiled "
        "(-O2) with a bare-metal harness and run on the emulated board (one Unicorn CPU per core, cycle model per "
        "core type, flash wait states; docs/emulator.md, docs/cycle-model.md). Cycles are core 0's cycles from "
        "the start to the end of the inference (the runtime's trace marks), deterministic: one run each. ms = "
        "cycles at the board clock. Speedup = time on 1 core / time on N cores. Flash = text + rodata + data, "
        "RAM = data + bss (arena, runtime state) + stacks, of the 2-core firmware. bit-exact compares the "
        "emulated outputs with arielml's reference executor (LiteRT reference-kernel semantics) on the same "
        "random input (seed 0). cycles/MAC 1 core compares with the ≈14 cycles/MAC of TFLM + CMSIS-NN on the "
        "RP2040.",
        "",
        "Flash: instruction fetches and data reads from flash go through each board's flash cache (the "
        "RP2040/RP2350 16 KB XIP cache, the STM32H7 M7's I- and D-caches) or pay its wait states "
        "(nRF52840, the STM32H7's M4); by default the compiler copies the most re-read weights to SRAM when "
        "RAM is left (`--weights-in-sram auto`: RAM includes the copies). The cycle model's error per core "
        "type, measured with CoreMark against published GCC runs on real boards, is in docs/cycle-model.md; "
        "it does not model contention between the cores for SRAM banks (estimated below 1%) or for the XIP "
        "cache's port.",
        "",
    ]
    for target in BOARD_TARGETS:
        if _labels(bench, "boards", target):
            parts += [f"### {target} ({describe(target)}): 1 vs 2 cores, static scheduler", "",
                      markdown_table(*board_rows(bench, target)), ""]
    if _labels(bench, "scaling"):
        parts += [f"### {SCALING_TARGET}: scaling at {'/'.join(map(str, SCALING_CORES))} cores "
                  f"({core_names(SCALING_TARGET)[0]} each)", "",
                  "efficiency = speedup / cores; utilisation = a core's busy time (inside operators, outside "
                  "barriers) / run time.", "",
                  markdown_table(*scaling_rows(bench)), ""]
    if any(m.spec.study == "unequal" for m in bench.measurements):
        boards = "; ".join(f"{t}: {describe(t)}" for t in UNEQUAL_TARGETS)
        parts += ["### Unequal cores: static (cost model) vs dynamic (shared tile counter)", "",
                  f"{boards}. 1 core = core 0 alone. MACs per core = each core's share of the model's "
                  "multiply-accumulates (the tiles it actually ran, from the trace): a scheduler that follows the "
                  "cores' speeds gives the faster core the larger share. busy time per core = each core's part of "
                  "all cores' time inside operators; utilisation = busy time / run time (idle = waiting at "
                  "barriers for the slower core).", "",
                  markdown_table(*unequal_rows(bench)), ""]
    if any(m.spec.study == "cores" for m in bench.measurements):
        parts += ["### One core of each core type: cycles per MAC beside the best published single-core figures", "",
                  "Core 0 alone (stm32h747: the Cortex-M7), whole inference (runtime included), cycles / MACs. "
                  "Published figures: MLPerf Tiny v1.x closed-division latencies (X-CUBE-AI on STM32U575, "
                  "STM32H7A3, STM32L4R5; STM32G0B1 for the M0+) and TinyEngine's README for MCUNet, converted to "
                  "cycles/MAC at the part's clock (sources in arielml/bench/peers.py). Those run on real silicon; "
                  "ours on the emulator's cycle model, whose error per core type is in docs/cycle-model.md.", "",
                  markdown_table(*core_rows(bench)), ""]
    if any(m.spec.study == "kernels" for m in bench.measurements):
        parts += ["### int8 kernels, one core: cycles per MAC", "",
                  "One operator per graph (arielml/bench/kernels.py; random int8 data, per-channel weights), its "
                  "span in the runtime's trace / its MACs; each core type runs its own kernel files "
                  "(runtime/kernels/<dir>/, portable C otherwise).", "",
                  markdown_table(*kernel_rows(bench)), ""]
    notes = error_notes(bench)
    if notes:
        parts += ["### Not measured", "", *[f"- {n}" for n in notes], ""]
    parts.append(SECTION_END)
    return "\n".join(parts) + "\n"


def update_section(path: Path, section: str, begin: str = SECTION_BEGIN, end: str = SECTION_END) -> None:
    """Replace the emulator section of `path` (between its markers), append it, or create the file."""
    write_section(path, section, begin, end)
