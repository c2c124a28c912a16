"""`arielml profile MODEL --target BOARD --cores N [--scheduler S] [--weights-in-sram auto|off]
[--gantt FILE.png] [--memory FILE.png] [--json]`: run the model's firmware once on the emulated board and show where the
cycles go - per operator (wall cycles, each core's busy cycles, tiles per core, idle at the barrier
after it), per core (utilisation, idle at barriers), totals (cycles, ms at the clock, flash, RAM; the
RAM includes the weights copied to SRAM), which weights were copied to SRAM - and draw a Gantt chart
of the cores.

The outputs are also compared with the reference executor (bit-exact is the contract)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arielml.commands._common import check_seed, mathtext_literal, print_json, stderr_console, stdout_console
from arielml.commands.compile import (optimize_option, ram_budget_option, weight_placement_lines,
                                      weights_in_sram_option)


def _cycles(value: int) -> str:
    return f"{value:,}".replace(",", " ")


def _kib(value: int) -> str:
    return f"{value / 1024:.1f} KiB ({value} B)"


def core_labels(board, cores: int) -> list[str]:
    return [f"core {c} ({board.core(c)[0].name})" for c in range(cores)]


def profile_json(run, board, model_path: Path, semantics: str, bit_exact: bool | None,
                 gantt: Path | None, placement: dict | None = None) -> dict:
    """The `--json` object: the emulated run's summary, per-op ms/share and per-core totals, and
    `placement` (Plan.weight_placement.to_json(): the weights copied to SRAM)."""
    profile = run.profile
    clock0 = board.core(0)[1]
    per_op = []
    for op in run.per_op:
        seconds = op["cycles"] / clock0
        per_op.append({**op, "ms": seconds * 1e3,
                       "share": seconds / profile.total_seconds if profile.total_seconds else 0.0})
    per_core = [{"core": c, "type": board.core(c)[0].name, "clock_hz": board.core(c)[1],
                 "busy_cycles": profile.busy_cycles[c], "barrier_idle_cycles": profile.barrier_idle_cycles[c],
                 "utilisation": profile.utilisation[c]} for c in range(run.cores)]
    return {"model": str(model_path), "semantics": semantics, **run.summary(), "per_op": per_op,
            "clock_hz": clock0, "per_core": per_core, "bit_exact": bit_exact,
            "gantt": str(gantt) if gantt else None, "weights_in_sram": placement}


def print_profile(data: dict, run, board) -> None:
    from rich.markup import escape
    from rich.table import Table

    console = stdout_console()
    if not console.is_terminal:  # piped: keep the per-core columns on one line
        console.width = max(console.width, 160)
    cores = run.cores
    title = (f"{Path(data['model']).name} on {board.name}: {cores} core(s), {run.scheduler} scheduler "
             f"({data['semantics']} semantics)")
    table = Table(title=escape(title))  # the model's file name is user text, not markup
    for column in ("#", "operator", "model op", "tiles", "cycles", "ms", "share"):
        table.add_column(column, justify="left" if column == "operator" else "right", no_wrap=True)
    for c in range(cores):
        table.add_column(f"core {c}\nbusy", justify="right", no_wrap=True)
    if cores > 1:
        table.add_column("barrier idle\nper core", justify="right")
    for op in data["per_op"]:
        tiles = str(op["tiles"]) if cores == 1 else f"{op['tiles']} ({'/'.join(map(str, op['tiles_per_core']))})"
        row = [str(op["index"]), op["type"], str(op["operator"]), tiles, _cycles(op["cycles"]), f"{op['ms']:.3f}",
               f"{op['share']:.1%}", *[_cycles(c) for c in op["per_core_cycles"]]]
        if cores > 1:
            row.append(" / ".join(_cycles(c) for c in op["barrier_idle_cycles"]))
        table.add_row(*map(escape, row))
    console.print(table)

    cores_table = Table(title="cores")
    for column in ("core", "type", "clock", "busy cycles", "idle at barriers", "utilisation"):
        cores_table.add_column(column, justify="left" if column == "type" else "right")
    for c in data["per_core"]:
        cores_table.add_row(str(c["core"]), c["type"], f"{c['clock_hz'] / 1e6:g} MHz", _cycles(c["busy_cycles"]),
                            _cycles(c["barrier_idle_cycles"]), f"{c['utilisation']:.1%}")
    console.print(cores_table)
    exact = {True: "[green]✓ bit-exact[/green]", False: "[red]✗ differs[/red]", None: "n/a"}[data["bit_exact"]]
    console.print(f"total: {_cycles(run.cycles)} cycles = [bold]{run.ms:.3f} ms[/bold] at "
                  f"{data['clock_hz'] / 1e6:g} MHz (core 0)")
    console.print(f"flash: {_kib(run.flash_bytes)}, RAM: {_kib(run.ram_bytes)} (board: "
                  f"{board.flash.size // 1024} KiB flash, {board.sram.size // 1024} KiB SRAM)")
    for line in weight_placement_lines(data.get("weights_in_sram"), most=4):
        console.print(escape(line))
    console.print(f"outputs vs reference executor: {exact}")
    console.print(f"[dim]emulator: {run.instructions:,} instructions at {run.mips:.0f} MIPS[/dim]")
    if data["gantt"]:
        console.print(f"Gantt chart: {escape(data['gantt'])}")


def profile_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="The .tflite or .onnx model file."),
    target: str = typer.Option(..., "--target", help="Emulated board (`arielml targets` lists them)."),
    cores: int = typer.Option(1, "--cores", help="Cores the plan spreads each operator over."),
    scheduler: str = typer.Option("static", "--scheduler",
                                  help="static (tiles assigned by the cost model) or dynamic (shared tile counter)."),
    semantics: str = typer.Option("litert", "--semantics", help="litert (TFLite reference kernels), tflm or onnxruntime (ONNX models)."),
    weights_in_sram: str = weights_in_sram_option(),
    optimize: str = optimize_option(),
    ram_budget: Optional[int] = ram_budget_option(),
    gantt: Optional[Path] = typer.Option(None, "--gantt", help="Write a Gantt chart of the cores to this PNG."),
    memory: Optional[Path] = typer.Option(None, "--memory", help="Write a chart of the arena over time (the buffers "
                                          "alive at each step, where the peak is) to this PNG; drawn from the plan."),
    seed: int = typer.Option(0, "--random", help="Seed of the random inputs."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Root of the build caches. Default: $XDG_CACHE_HOME/arielml or "
                                                  "~/.cache/arielml, else a private directory under the temporary "
                                                  "directory."),
    firmware_lang: str = typer.Option("c", "--firmware", metavar="c|rust",
                                      help="The firmware's main in C (default) or in Rust (a no_std Rust main "
                                           "around the same C library; docs/rust.md)."),
) -> None:
    """Profile a model on an emulated board: cycles per operator and per core, utilisation, idle time
    at barriers, flash and RAM, and a Gantt chart."""
    import arielml
    from arielml.backends.emulator import build_emulated
    from arielml.backends.emulator import emulated_board
    from arielml.bench.emulated import same_outputs
    from arielml.cache import cache_dir as user_cache_dir
    from arielml.commands.compile import check_compile_options, check_plan_choice
    from arielml.errors import ArielError

    check_compile_options(target, cores, scheduler, "model", weights_in_sram)
    check_plan_choice(optimize, ram_budget)
    check_seed(seed)
    if firmware_lang != "c":  # a Rust main around the same C library (arielml/rust/firmware.py)
        from arielml.rust.cli import check_firmware
        from arielml.rust.firmware import build_rust_emulated as build_emulated  # noqa: F811
        check_firmware(firmware_lang)
    board = emulated_board(target)
    if gantt is not None and gantt.suffix.lower() != ".png":
        raise ArielError(f"--gantt writes a PNG image; give a file name ending in .png (got {gantt})")
    model = arielml.load(model_path)
    inputs = model.random_inputs(seed)
    chart = None
    if memory is not None:  # from the plan alone: drawn before the build, also when the plan does not fit
        from rich.markup import escape
        from arielml.compile import plan_model
        from arielml.memory_chart import draw_memory_chart
        chart = draw_memory_chart(plan_model(model, board.name, cores, scheduler, semantics,
                                             weights_in_sram=weights_in_sram, optimize=optimize,
                                             ram_budget=ram_budget), memory, model_path.stem)
        (stderr_console() if as_json else stdout_console()).print(escape(chart.summary()), soft_wrap=True)
    with stderr_console().status(f"building the firmware for {board.name} ({cores} core(s)) and emulating..."):
        firmware = build_emulated(model, board.name, cores, scheduler, semantics,
                                  cache_dir=None if cache_dir is None else user_cache_dir("emulator", root=cache_dir),
                                  weights_in_sram=weights_in_sram, optimize=optimize, ram_budget=ram_budget)
        run = firmware.run(inputs)
    try:
        reference = model.run(inputs, semantics=semantics)
        bit_exact = same_outputs(list(run.outputs), reference)
    except ArielError:
        bit_exact = None  # the reference executor cannot run it (the emulated firmware did)
    written = None
    if gantt is not None:
        from arielml.emu.gantt import draw_gantt
        types = {op["index"]: op["type"] for op in run.per_op}
        utilisation = ", ".join(f"{u:.0%}" for u in run.profile.utilisation)
        written = draw_gantt(run.profile, gantt, types, core_labels=core_labels(board, cores),
                             title=f"{mathtext_literal(model_path.stem)} on {board.name}, {cores} core(s), {scheduler}: "
                                   f"{run.ms:.2f} ms; busy {utilisation}")
    placement = firmware.plan.weight_placement
    data = profile_json(run, board, model_path, semantics, bit_exact, written,
                        None if placement is None else placement.to_json())
    if chart is not None:
        data["memory"] = chart.to_json()
    if firmware_lang != "c":
        data["firmware"] = firmware_lang
    if as_json:
        print_json(data)
    else:
        print_profile(data, run, board)


def register(app: typer.Typer) -> None:
    app.command("profile")(profile_command)
