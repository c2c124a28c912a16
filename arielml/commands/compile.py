"""`arielml compile MODEL --target T [--cores N] [--scheduler S] -o DIR [--with-startup] [--json]`: write the
model as a self-contained C99 library (model.h/.c, weights, runtime, kernels, the board's port(s)) for a board;
--with-startup adds the bare-metal start-up and linker script(s).

The options are checked against the board before anything is planned, so a typo or too many cores
is one line on stderr, never a traceback; a model whose operators have no C kernel yet fails with the
compiler's "no C kernel yet" message (which names the operators)."""
from __future__ import annotations

from pathlib import Path

import typer

from arielml.commands._common import print_json, stdout_console
from arielml.errors import TargetError

SCHEDULERS = ("static", "dynamic")


def check_compile_options(target: str, cores: int, scheduler: str, name: str) -> None:
    """Raise TargetError for options no plan can honour (unknown board, core count out of range,
    unknown scheduler, a prefix that is not a C identifier or is reserved)."""
    from arielml.codegen.names import check_library_name
    from arielml.targets import check_cores, get_board

    check_cores(get_board(target), cores)
    if scheduler not in SCHEDULERS:
        raise TargetError(f"unknown scheduler '{scheduler}'; choose one of: {', '.join(SCHEDULERS)}")
    check_library_name(name)


def compile_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="The .tflite model file."),
    target: str = typer.Option("host", "--target", help="Board to compile for (`arielml targets` lists them)."),
    cores: int = typer.Option(1, "--cores", help="Cores the plan spreads each operator over (1..board cores)."),
    scheduler: str = typer.Option("static", "--scheduler",
                                  help="static (tiles assigned at compile time by the cost model) or dynamic "
                                       "(cores pull tiles from a shared counter)."),
    semantics: str = typer.Option("litert", "--semantics",
                                  help="Whose arithmetic to match bit for bit: litert (TFLite reference kernels) "
                                       "or tflm (TFLite Micro)."),
    output_dir: Path = typer.Option(..., "--output-dir", "-o",
                                    help="Directory the C library is written to. A library written there before is "
                                         "replaced (its files the new one lacks are removed); files arielml did not "
                                         "write are never touched: arielml refuses instead."),
    name: str = typer.Option("model", "--name", help="C prefix of the generated files and symbols."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object (arena_bytes, weights_bytes, files, ...)."),
    with_startup: bool = typer.Option(False, "--with-startup",
                                      help="Also write the bare-metal start-up (crt0, crt_main.c, the board's linker "
                                           "script) under ariel/ports/baremetal/, for firmware without an SDK."),
) -> None:
    """Compile a model into a C99 library for a board: plan, tiles, runtime and kernels."""
    from arielml.compile import compile_model

    check_compile_options(target, cores, scheduler, name)
    result = compile_model(model_path, target=target, cores=cores, scheduler=scheduler, semantics=semantics,
                           name=name, startup=with_startup, out_dir=output_dir)
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
    console.print(f"arena {summary['arena_bytes']} bytes, weights {summary['weights_bytes']} bytes")
    table = Table(title="operators")
    for column in ("#", "op", "work items", "tiles", "cores"):
        table.add_column(column, justify="right" if column != "op" else "left")
    for i, op in enumerate(summary["ops"]):
        table.add_row(str(i), escape(op["op"]), str(op["work_items"]), str(op["tiles"]),
                      ",".join(map(str, op["cores"])))
    console.print(table)
    console.print(escape(f"see {Path(summary['output_dir']) / 'README.md'} for how to build and call it"))


def register(app: typer.Typer) -> None:
    app.command("compile")(compile_command)
