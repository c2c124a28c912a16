"""`arielml compile MODEL --target T [--cores N] [--scheduler S] [--weights-in-sram auto|off] -o DIR
[--with-startup] [--json]`: write the model as a self-contained C99 library (model.h/.c, weights, runtime,
kernels, the board's port(s)) for a board; --with-startup adds the bare-metal start-up and linker script(s).
The summary says which weights the start-up copies to SRAM (boards whose flash is slower than SRAM).
`--lang rust` writes a no_std Cargo crate around that library instead (arielml/rust/crate.py, docs/rust.md).

The options are checked against the board before anything is planned, so a typo or too many cores
is one line on stderr, never a traceback; a model whose operators have no C kernel yet fails with the
compiler's "no C kernel yet" message (which names the operators)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arielml.commands._common import print_json, stdout_console
from arielml.errors import TargetError

SCHEDULERS = ("static", "dynamic")
WEIGHTS_IN_SRAM_HELP = ("auto: copy the most re-read weights from flash to SRAM at start-up when the board's flash "
                        "is slower than its SRAM and RAM is left after the arena and stacks; off: keep every weight "
                        "in flash.")


def weights_in_sram_option():
    """The --weights-in-sram option, the same for every command that compiles."""
    return typer.Option("auto", "--weights-in-sram", metavar="auto|off", help=WEIGHTS_IN_SRAM_HELP)


OPTIMIZE_HELP = ("latency: the fastest plan (layer by layer); memory: the smallest arena (band execution of "
                 "row-local layers, in-place depthwise convolutions; weights stay in flash).")
RAM_BUDGET_HELP = ("RAM the plan may take, in bytes (arena, runtime state, stacks, weights copied to SRAM): the fastest "
                   "plan that fits, or an error saying the least RAM any plan needs.")


def optimize_option():
    """The --optimize option, the same for every command that plans."""
    return typer.Option("latency", "--optimize", metavar="latency|memory", help=OPTIMIZE_HELP)


def ram_budget_option():
    return typer.Option(None, "--ram-budget", metavar="BYTES", help=RAM_BUDGET_HELP)


def check_plan_choice(optimize: str, ram_budget: int | None) -> None:
    from arielml.passes.plan import OPTIMIZE
    if optimize not in OPTIMIZE:
        raise TargetError(f"unknown --optimize '{optimize}'; choose one of: {', '.join(OPTIMIZE)} ({OPTIMIZE_HELP})")
    if ram_budget is not None and ram_budget <= 0:
        raise TargetError(f"--ram-budget must be a positive number of bytes, got {ram_budget}")


def check_compile_options(target: str, cores: int, scheduler: str, name: str, weights_in_sram: str = "auto") -> None:
    """Raise TargetError for options no plan can honour (unknown board, core count out of range,
    unknown scheduler, unknown --weights-in-sram, a prefix that is not a C identifier or is reserved)."""
    from arielml.passes.plan import WEIGHTS_IN_SRAM

    from arielml.codegen.names import check_library_name
    from arielml.targets import check_cores, get_board

    check_cores(get_board(target), cores)
    if scheduler not in SCHEDULERS:
        raise TargetError(f"unknown scheduler '{scheduler}'; choose one of: {', '.join(SCHEDULERS)}")
    if weights_in_sram not in WEIGHTS_IN_SRAM:
        raise TargetError(f"unknown --weights-in-sram '{weights_in_sram}'; choose one of: {', '.join(WEIGHTS_IN_SRAM)} "
                          f"({WEIGHTS_IN_SRAM_HELP})")
    check_library_name(name)


def compile_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="The .tflite or .onnx model file."),
    target: str = typer.Option("host", "--target", help="Board to compile for (`arielml targets` lists them)."),
    cores: int = typer.Option(1, "--cores", help="Cores the plan spreads each operator over (1..board cores)."),
    scheduler: str = typer.Option("static", "--scheduler",
                                  help="static (tiles assigned at compile time by the cost model) or dynamic "
                                       "(cores pull tiles from a shared counter)."),
    semantics: str = typer.Option("litert", "--semantics",
                                  help="Whose arithmetic to match bit for bit: litert (TFLite reference kernels) "
                                       "tflm (TFLite Micro) or onnxruntime (ONNX models: onnxruntime's CPU provider)."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o",
                                    help="Directory the C library is written to. A library written there before is "
                                         "replaced (its files the new one lacks are removed); files arielml did not "
                                         "write are never touched: arielml refuses instead."),
    name: str = typer.Option("model", "--name", help="C prefix of the generated files and symbols."),
    weights_in_sram: str = weights_in_sram_option(),
    optimize: str = optimize_option(),
    ram_budget: Optional[int] = ram_budget_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (arena_bytes, macs_executed, "
                                                      "ram_bytes, weights_bytes, sram_weights_bytes, weights_in_sram, "
                                                      "files, ...)."),
    with_startup: bool = typer.Option(False, "--with-startup",
                                      help="Also write the bare-metal start-up (crt0, crt_main.c, the board's linker "
                                           "script) under ariel/ports/baremetal/, for firmware without an SDK."),
    lang: str = typer.Option("c", "--lang", metavar="c|rust",
                             help="c: the C99 library; rust: a no_std Cargo crate around it (build.rs, safe API, "
                                  "host `cargo test` against the reference executor; docs/rust.md)."),
) -> None:
    """Compile a model into a C99 library for a board: plan, tiles, runtime and kernels."""
    from arielml.compile import compile_model

    check_compile_options(target, cores, scheduler, name, weights_in_sram)
    check_plan_choice(optimize, ram_budget)
    if lang != "c":
        from arielml.rust.cli import compile_rust_crate  # the Rust crate: arielml/rust/
        compile_rust_crate(lang, model_path, target, cores, scheduler, semantics, output_dir, name, weights_in_sram,
                           optimize, ram_budget, as_json, with_startup)
        return
    result = compile_model(model_path, target=target, cores=cores, scheduler=scheduler, semantics=semantics,
                           name=name, startup=with_startup, out_dir=output_dir, weights_in_sram=weights_in_sram,
                           optimize=optimize, ram_budget=ram_budget)
    summary = {"model": str(model_path), "output_dir": str(output_dir), "semantics": semantics, **result.summary()}
    if as_json:
        print_json(summary)
    else:
        _print_summary(summary)


def _print_summary(summary: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    # the directory is user text: escaped, never read as rich markup (a '[/]' in it used to fail the
    # command after the files were written)
    console = stdout_console()
    console.print(f"wrote {len(summary['files'])} files to [bold]{escape(summary['output_dir'])}[/bold] "
                  f"(target {summary['target']}, {summary['cores']} core(s), {summary['scheduler']} scheduler)")
    ram = f", RAM {summary['ram_bytes']} bytes with stacks and state" if summary.get("ram_bytes") is not None else ""
    console.print(f"arena {summary['arena_bytes']} bytes{ram}, weights {summary['weights_bytes']} bytes "
                  f"(optimize {summary['optimize']}; {summary['macs_executed']:,} MACs executed, the model has "
                  f"{summary['macs']:,})")
    for note in summary.get("notes", []):
        if "bands of rows" in note or "ram_budget" in note:
            console.print(escape(note))
    for line in weight_placement_lines(summary["weights_in_sram"]):
        console.print(escape(line))
    table = Table(title="operators")
    for column in ("#", "op", "work items", "tiles", "cores"):
        table.add_column(column, justify="right" if column != "op" else "left")
    for i, op in enumerate(summary["ops"]):
        table.add_row(str(i), escape(op["op"]), str(op["work_items"]), str(op["tiles"]),
                      ",".join(map(str, op["cores"])))
    console.print(table)
    console.print(escape(f"see {Path(summary['output_dir']) / 'README.md'} for how to build and call it"))


def weight_placement_lines(placement: dict | None, most: int = 8) -> list[str]:
    """What `Plan.weight_placement` (its to_json) says, as lines for the reports: the bytes copied,
    then the hottest copies (`most` of them; the rest summed)."""
    if placement is None:
        return []
    copies = placement["copies"]
    if not copies:
        return [f"weights in SRAM ({placement['mode']}): none - {placement['reason']}"]
    per_image = f" ({placement['images']} images, a copy in each)" if placement["images"] > 1 else ""
    lines = [f"weights in SRAM ({placement['mode']}): {placement['sram_bytes']} bytes{per_image} of "
             f"{placement['budget_bytes']} available, {len(copies)} constant arrays (weights, folded biases, "
             f"requantisation records) copied from flash at start-up, "
             f"~{sum(c['estimated_cycles_saved'] for c in copies):,} flash-wait cycles saved per inference (estimate)"]
    for c in copies[:most]:
        lines.append(f"  {c['what']}: {c['bytes']} bytes, read ~{c['reads_per_inference']:g}x per inference")
    if len(copies) > most:
        rest = copies[most:]
        lines.append(f"  ... and {len(rest)} more ({sum(c['bytes'] for c in rest)} bytes)")
    return lines


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
