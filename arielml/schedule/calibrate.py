"""Calibrate the cost model on the emulator: `python -m arielml.schedule.calibrate [--targets B ...]`.

For each core type (on its home board, one core) the micro-models of micro_models.py run with one
tile per operator; every kernel call's cycles (the runtime's TILE_BEGIN..TILE_END trace marks) are
fitted per cost family as fixed + per MAC + per inner-loop run + per output element (non-negative
least squares, weighted by 1/cycles so small and large calls count alike in relative error). The
runtime's own costs come from the trace too: per op on one core (op span minus its tile), per
further tile (gaps between tiles of one op on one core; static and dynamic), per barrier of two
cores (op span minus the slowest core's busy span). The table is printed and written to
arielml/targets/calibration.py, which arielml/targets/boards.py reads."""
from __future__ import annotations

import argparse
import datetime
import fcntl
import hashlib
import statistics
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from arielml.api import Model
from arielml.backends.emulator import (HARNESS_FILE, STACK_BYTES, EmulatedFirmware, default_cache_dir,
                                       harness_source)
from arielml.codegen.emit import emit, write
from arielml.compile import CompileResult
from arielml.emu import build_firmware
from arielml.errors import ArielError
from arielml.ir import Graph
from arielml.passes.pipeline import PASSES, run_pipeline
from arielml.passes.plan import CompileOptions, Plan
from arielml.schedule.cost import split_even
from arielml.schedule.features import GENERIC, item_work
from arielml.schedule.micro_models import micro_models
from arielml.targets.boards import BOARDS, get_board

DATA_MODULE = Path(__file__).resolve().parent.parent / "targets" / "calibration.py"
# where each core type is measured: (board, core) of the kernel runs - the board the core type's
# multi-core use is on, since flash wait states differ (the M4F of the stm32h747 waits 4 cycles per
# literal load, the nRF52840's 2) - and (board, core) of the two-core runs for tile and barrier costs
HOMES = {
    "cortex-m0plus": (("rp2040", 0), ("rp2040", 0)),
    "cortex-m33": (("rp2350-arm", 0), ("rp2350-arm", 0)),
    "hazard3": (("rp2350-riscv", 0), ("rp2350-riscv", 0)),
    "cortex-m7": (("stm32h747", 0), ("stm32h747", 0)),
    "cortex-m4f": (("stm32h747", 1), ("stm32h747", 1)),
}
SPLIT_TILES = 4
ELEMENTWISE = ("ADD", "MUL")  # the GENERIC family: what an uncalibrated elementwise op is assumed to cost


@dataclass(frozen=True)
class Sample:
    family: str
    counts: tuple[float, float, float, float]  # macs, runs, edge runs, elements of the kernel call
    cycles: float  # the kernel call (tile span)
    op_cycles: float  # the whole op on one core


def _forced_tiles(count: int, core: int | None = None):
    """A tiling pass that gives every op min(count, items) equal tiles, all on `core` if given
    (measurement only)."""
    def tile(plan: Plan) -> Plan:
        steps = []
        for s in plan.steps:
            if not s.is_view:
                tiles = split_even(s.work_items, min(count, s.work_items))
                s = replace(s, tiles=tiles, tile_core=(core,) * len(tiles) if core is not None else ())
            steps.append(s)
        return replace(plan, steps=tuple(steps))
    return tile


def build_with_tiles(graph: Graph, target: str, cores: int, scheduler: str, tiles: int, on_core: int | None = None,
                     cache_dir: Path | None = None) -> EmulatedFirmware:
    """As backends.emulator.build_emulated, but every op gets `tiles` tiles (not the cost model's
    choice: the calibration must not depend on the costs it measures); static: all on `on_core` if given."""
    board = get_board(target)
    passes = tuple((name, _forced_tiles(tiles, on_core) if name == "tile" else fn) for name, fn in PASSES)
    # weights stay in flash: the kernels' costs then include reading them through the flash cache or
    # wait states, as most weights of real models are read (the micro-models' would all fit in SRAM)
    plan = run_pipeline(graph, CompileOptions(target=target, cores=cores, scheduler=scheduler, name="calib",
                                              weights_in_sram="off"), passes=passes)
    sources, weights_bytes = emit(plan)
    compiled = CompileResult(plan.arena_bytes, weights_bytes, tuple(sources), plan, sources)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = {**sources, HARNESS_FILE: harness_source(compiled)}
    digest = hashlib.sha256()
    for rel, text in sorted(files.items()):
        digest.update(f"{rel}\0{text}\0".encode())
    source_dir = cache / "src" / digest.hexdigest()[:20]
    source_dir.mkdir(parents=True, exist_ok=True)
    with open(source_dir.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write(files, source_dir)
        units = sorted(source_dir / rel for rel in files if rel.endswith(".c"))
        firmware = build_firmware(board, units, include_dirs=[source_dir / "ariel" / "include", source_dir],
                                  out_dir=cache / "firmware", cores=cores, stack_bytes=STACK_BYTES)
    return EmulatedFirmware(compiled, board, firmware, Model(graph=graph))


def _run(graph: Graph, target: str, cores: int, scheduler: str, tiles: int, on_core: int | None = None):
    firmware = build_with_tiles(graph, target, cores, scheduler, tiles, on_core)
    run = firmware.run(Model(graph=graph).random_inputs(0))
    return firmware.plan, run.profile


def kernel_samples(board: str, core: int = 0) -> tuple[list[Sample], list[float]]:
    """Core `core` of `board` runs everything (the cores before it only pass the barriers); every op
    once as one tile and once as SPLIT_TILES tiles (so a call's fixed cost separates from its
    per-item costs): (kernel samples, op overheads in cycles of that core)."""
    samples, overheads = [], []
    for graph in micro_models():
        for tiles in (1, SPLIT_TILES):
            plan, profile = _run(graph, board, core + 1, "static", tiles, core)
            clock = profile.clocks_hz[core]
            # one core: the op's whole span (its one-core barrier included); a later core: its own
            # OP_BEGIN..OP_END (the earlier cores run ahead, there is no barrier between its ops)
            op_cycles = {op.op: op.seconds * clock if core == 0 else op.core_cycles[core] for op in profile.ops}
            for span in profile.tiles:
                step = plan.kernel_steps[span.op]
                work = item_work(graph.nodes[step.node], graph, step.item_macs * step.work_items, step.work_items)
                begin, end = step.tiles[span.tile]
                n = end - begin
                cycles = (span.end_s - span.start_s) * clock
                runs, edge = work.runs_in(begin, end)
                samples.append(Sample(work.family, (work.macs * n, runs, edge, work.elements * n), cycles,
                                      op_cycles[span.op]))
                if tiles == 1:
                    overheads.append(op_cycles[span.op] - cycles)
    return samples, overheads


def runtime_costs(board: str, core: int) -> dict[str, float]:
    """Per-tile (static, dynamic) and barrier cycles of `core` on a two-core run of `board`."""
    graph = micro_models()[1]  # 1x1 convolutions: many items, mid-sized
    result = {}
    for scheduler in ("static", "dynamic"):
        plan, profile = _run(graph, board, 2, scheduler, 8)
        clock = profile.clocks_hz[core]
        mine = sorted((t for t in profile.tiles if t.core == core), key=lambda t: t.start_s)
        gaps = [(b.start_s - a.end_s) * clock for a, b in zip(mine, mine[1:]) if a.op == b.op]
        result[scheduler] = statistics.median(gaps)
        if scheduler == "static":
            barrier = [op.seconds - max(c / k for c, k in zip(op.core_cycles, profile.clocks_hz)) for op in profile.ops]
            result["barrier"] = statistics.median(barrier) * clock
    return result


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Least squares with non-negative coefficients (drop the most negative column until none is)."""
    active = list(range(a.shape[1]))
    while True:
        x = np.zeros(a.shape[1])
        if active:
            x[active] = np.linalg.lstsq(a[:, active], b, rcond=None)[0]
        negative = [i for i in active if x[i] < 0]
        if not negative:
            return x
        active.remove(min(negative, key=lambda i: x[i]))


def fit(samples: list[Sample]) -> tuple[tuple[float, ...], float]:
    """(per_mac, per_run, per_edge_run, per_element, fixed), and the worst relative error over the samples."""
    a = np.array([(*s.counts, 1.0) for s in samples])
    y = np.array([s.cycles for s in samples])
    weight = 1.0 / y
    x = nnls(a * weight[:, None], y * weight)
    error = float(np.max(np.abs(a @ x - y) / y))
    return tuple(float(v) for v in x), error


def calibrate_core(core_type: str) -> tuple[dict, dict[str, tuple[int, float]]]:
    (home, home_core), (pair_board, pair_core) = HOMES[core_type]
    samples, overheads = kernel_samples(home, home_core)
    families: dict[str, tuple[float, ...]] = {}
    quality: dict[str, tuple[int, float]] = {}
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.family, []).append(s)
    groups[GENERIC] = [s for s in samples if s.family in ELEMENTWISE]
    groups[f"{GENERIC}_F32"] = [s for s in samples if s.family.endswith("_F32") and s.family[:-4] in ELEMENTWISE]
    for family, group in sorted(groups.items()):
        if group:
            families[family], error = fit(group)
            quality[family] = (len(group), error)
    runtime = runtime_costs(pair_board, pair_core)
    data = {"board": f"{home} core {home_core}", "families": families, "op_overhead": statistics.median(overheads),
            "tile_overhead": runtime["static"], "grab": runtime["dynamic"], "barrier": runtime["barrier"]}
    return data, quality


def _number(v: float) -> str:
    return f"{v:.4g}"


def render_module(calibration: dict[str, dict], command: str) -> str:
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        '"""Calibrated costs of the compile-time cost model, per core type (cycles of that core).',
        "",
        f"Generated by `{command}` on {stamp}; do not edit by hand - re-run it",
        "(after kernel changes too). Each family maps to (per_mac, per_run, per_edge_run, per_element,",
        "fixed): one kernel call costs fixed + MACs * per_mac + inner-loop runs * per_run + runs at the",
        "input's edge * per_edge_run + output elements * per_element (arielml/schedule/features.py).",
        "op_overhead: one op on one core outside its kernel; tile_overhead / grab: each further tile",
        "(static) / each tile pulled (dynamic); barrier: a two-core barrier on the critical path.",
        '"""',
        "CALIBRATION = {",
    ]
    for core_type, data in sorted(calibration.items()):
        lines.append(f"    {core_type!r}: {{")
        lines.append(f"        \"board\": {data['board']!r},")
        for key in ("op_overhead", "tile_overhead", "grab", "barrier"):
            lines.append(f"        {key!r}: {_number(data[key])},")
        lines.append('        "families": {')
        for family, values in sorted(data["families"].items()):
            lines.append(f"            {family!r}: ({', '.join(_number(v) for v in values)}),")
        lines.append("        },")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def print_table(calibration: dict[str, dict], quality: dict[str, dict[str, tuple[int, float]]]) -> None:
    for core_type, data in sorted(calibration.items()):
        print(f"{core_type} (on {data.get('board', '?')}): op overhead {data['op_overhead']:.0f}, tile {data['tile_overhead']:.0f}"
              f" (static) / {data['grab']:.0f} (dynamic), barrier {data['barrier']:.0f} cycles")
        print(f"  {'family':<22}{'per MAC':>9}{'per run':>9}{'per edge':>9}{'per elem':>10}{'fixed':>9}  fit")
        for family, values in sorted(data["families"].items()):
            n, error = quality.get(core_type, {}).get(family, (0, float("nan")))
            widths = (9, 9, 9, 10, 9)
            digits = (2, 2, 2, 2, 0)
            print(f"  {family:<22}" + "".join(f"{v:>{w}.{d}f}" for v, w, d in zip(values, widths, digits))
                  + f"  {n} calls, worst {error:.0%}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arielml.schedule.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--targets", nargs="*", default=None,
                        help="boards whose core types to calibrate (default: every emulated core type)")
    parser.add_argument("--dry-run", action="store_true", help="print the table, do not write the data module")
    args = parser.parse_args(argv)
    try:
        wanted = sorted(HOMES)
        if args.targets:
            wanted = sorted({get_board(t).core(c)[0].name for t in args.targets for c in range(get_board(t).core_count)
                             if get_board(t).emulated} & set(HOMES))
            if not wanted:
                raise ArielError(f"none of {', '.join(args.targets)} has an emulated core type; pick from: "
                                 f"{', '.join(b for b in BOARDS if BOARDS[b].emulated)}")
        from arielml.targets.calibration import CALIBRATION
        calibration = {k: v for k, v in CALIBRATION.items() if k in HOMES}
        quality = {}
        for core_type in wanted:
            print(f"calibrating {core_type} ...", file=sys.stderr, flush=True)
            calibration[core_type], quality[core_type] = calibrate_core(core_type)
    except ArielError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_table(calibration, quality)
    if not args.dry_run:
        command = "python -m arielml.schedule.calibrate" + (f" --targets {' '.join(args.targets)}" if args.targets else "")
        DATA_MODULE.write_text(render_module(calibration, command))
        print(f"wrote {DATA_MODULE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
