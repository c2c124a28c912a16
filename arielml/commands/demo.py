"""`arielml demo` (what `make demo` runs): the int8 models of the zoo compiled for an emulated RP2040
(2x Cortex-M0+ at 125 MHz), run on 1 and on 2 cores, with a progress bar, then one table - MACs, ms on
1 core, ms on 2 cores, speedup, flash, RAM, bit-exact vs the reference executor - and a Gantt chart of
one model on 2 cores written to a PNG. Builds are cached, so a second demo is faster. Then a stream
(_demo_stream.py): synthetic raw audio through TFLite Micro's audio front end, 20 ms at a time, and
the micro_speech keyword model on its features, with each step's latency."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from arielml.commands._common import DEFAULT_ZOO, mathtext_literal, stdout_console
from arielml.errors import ModelFormatError

DEMO_TARGET = "rp2040"
GANTT_MODEL = "kws_ref_model"  # 13 operators: a chart whose labels stay readable
DEFAULT_GANTT = Path("out") / "demo_gantt.png"


def demo_models(zoo: Path, names: list[str]) -> list[tuple[Path, str]]:
    """(path, label) of the int8 models of the zoo, or of the named ones."""
    from arielml.bench.emulated import is_int8_model
    from arielml.commands.bench import resolve_models

    if not zoo.is_dir() and not names:
        raise ModelFormatError(f"the model zoo was not found at {zoo}; the demo needs it (pass --zoo DIR)")
    if names:
        return [(p, p.stem) for p, _ in resolve_models(names, zoo)]
    models = [(p, p.stem) for p, _ in resolve_models([], zoo) if is_int8_model(p)]
    if not models:
        raise ModelFormatError(f"no int8 .tflite model found under {zoo}; the demo runs int8 models (pass --zoo DIR)")
    return models


def demo_rows(bench, target: str) -> list[list[str]]:
    """Table rows: model, MACs, ms 1 core, ms 2 cores, speedup, flash, RAM, bit-exact."""
    from rich.markup import escape

    from arielml.bench.emulated_report import exact_mark, kib, ms_text, si, speedup, x_text
    rows = []
    for label in dict.fromkeys(m.spec.label for m in bench.measurements):
        one, two = bench.find("boards", label, target, 1), bench.find("boards", label, target, 2)
        memory = two if two and two.error is None else one
        mark = exact_mark(one, two)
        failed = any(m is None or m.error for m in (one, two))
        verdict = ("[red]✗ failed[/red]" if failed else {"✓": "[green]✓ bit-exact[/green]",
                                                         "✗": "[red]✗ differs[/red]"}.get(mark, "n/a"))
        rows.append([escape(label), si(one.macs if one else None), ms_text(one.ms if one else None),
                     ms_text(two.ms if two else None), x_text(speedup(one, two)),
                     kib(memory.flash_bytes if memory else None), kib(memory.ram_bytes if memory else None), verdict])
    return rows


def demo_command(
    zoo: Path = typer.Option(DEFAULT_ZOO, "--zoo", help="Directory of the model zoo."),
    models: Optional[list[str]] = typer.Option(None, "--models", "-m",
                                               help="Run only these models (paths or zoo names, comma-separated)."),
    gantt: Path = typer.Option(DEFAULT_GANTT, "--gantt", help="Where to write the Gantt chart (PNG)."),
    stream: bool = typer.Option(True, "--stream/--no-stream",
                                help="Also run the audio stream: raw audio -> audio front end -> keyword model."),
) -> None:
    """The int8 zoo on an emulated RP2040 at 1 and 2 cores: time, speedup, flash, RAM, bit-exactness,
    and a Gantt chart of the two cores; then raw audio streamed through the audio front end and the
    keyword model, with the latency of each step."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from arielml.bench.emulated import PRIOR_ART, plan_runs, run_emulator_bench
    from arielml.bench.emulated_report import describe, geomean, speedup

    chosen = demo_models(zoo, list(models or []))
    specs = plan_runs(chosen, (DEMO_TARGET,), kernels=False)  # the table is whole models; kernels: `arielml bench`
    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, 120)
    console.print(f"[bold]arielml demo[/bold]: {len(chosen)} int8 models compiled for an emulated {DEMO_TARGET} "
                  f"({describe(DEMO_TARGET)}), each run on 1 and on 2 cores, outputs checked against the reference "
                  "executor")
    started = time.perf_counter()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task("starting", total=len(specs))

        def on_run(spec) -> None:
            progress.update(task, completed=specs.index(spec),
                            description=escape(f"{spec.label:<26} {spec.cores} core{'s' if spec.cores > 1 else ' '}"))

        bench = run_emulator_bench(specs, on_run=on_run, keep_runs=True)
        progress.update(task, completed=len(specs))
    elapsed = time.perf_counter() - started

    table = Table(title=f"{DEMO_TARGET} ({describe(DEMO_TARGET)}), static scheduler, emulated cycle by cycle")
    for column in ("model", "MACs", "ms 1 core", "ms 2 cores", "speedup", "flash", "RAM", "vs reference"):
        table.add_column(column, justify="left" if column in ("model", "vs reference") else "right", no_wrap=True)
    rows = demo_rows(bench, DEMO_TARGET)
    for row in rows:
        table.add_row(*row)
    gains = [speedup(bench.find("boards", label, DEMO_TARGET, 1), bench.find("boards", label, DEMO_TARGET, 2))
             for label in dict.fromkeys(m.spec.label for m in bench.measurements)]
    console.print(table)
    mean = geomean(gains)
    if mean:
        console.print(f"geometric mean speedup on 2 cores: [bold]{mean:.2f}×[/bold]. {PRIOR_ART}")
    console.print(f"[dim]{len(specs)} emulated runs in {elapsed:.0f} s, emulator {bench.mips:.0f} million "
                  "instructions per second[/dim]")

    written = _write_gantt(bench, gantt, console)
    if written:
        console.print(f"Gantt chart of {escape(written[1])} on 2 cores: [bold]{escape(str(written[0]))}[/bold]")
    for m in bench.measurements:
        if m.error:
            console.print(f"[red]{escape(f'{m.spec.label} ({m.spec.cores} core(s)): {m.error}')}[/red]")
    streamed_exact = True
    if stream:
        from arielml.commands._demo_stream import print_stream
        streamed_exact = print_stream(zoo, DEMO_TARGET, console)
    if any(m.error or m.bit_exact is False for m in bench.measurements) or not streamed_exact:
        raise typer.Exit(1)


def _write_gantt(bench, path: Path, console) -> tuple[Path, str] | None:
    """Chart of the GANTT_MODEL (else the first model that ran) on 2 cores."""
    from arielml.emu.gantt import draw_gantt
    from arielml.commands.profile import core_labels
    from arielml.targets import get_board

    runs = [m for m in bench.measurements if m.spec.cores == 2 and m.run is not None]
    if not runs:
        return None
    chosen = next((m for m in runs if m.spec.label == GANTT_MODEL), runs[0])
    run = chosen.run
    types = {op["index"]: op["type"] for op in run.per_op}
    utilisation = ", ".join(f"{u:.0%}" for u in run.profile.utilisation)
    path = draw_gantt(run.profile, path, types, core_labels=core_labels(get_board(DEMO_TARGET), 2),
                      title=f"{mathtext_literal(chosen.spec.label)} on {DEMO_TARGET}, 2 cores, static scheduler: {run.ms:.1f} ms; "
                            f"busy {utilisation}")
    return path, chosen.spec.label


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
