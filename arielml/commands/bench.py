"""`arielml bench --backend native [--models M ...] [--repeat N] [--write docs/benchmarks.md] [--json]`:
arielml's native backend at 1 and 2 threads (static and dynamic schedulers) against LiteRT (default
kernels at 1 and 2 threads, reference kernels) and the TFLite Micro interpreter, in one interleaved
run (see arielml/bench/host.py for the method).

`arielml bench --backend emulator [--targets rp2040,rp2350-arm,...] [--models ...] [--write ...]`: the
firmware on emulated boards - cycles at 1 and 2 cores, scaling on rv32-smp, unequal cores (see
arielml/bench/emulated.py)."""
from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import Iterator, Optional

import typer

from arielml.commands._common import DEFAULT_ZOO, REPO_ROOT, print_json, stderr_console, stdout_console
from arielml.errors import InputError, TargetError

BACKENDS = ("native", "emulator")


def resolve_models(names: list[str], zoo: Path) -> list[tuple[Path, str]]:
    """Model files (path, label). No names: every .tflite of the zoo. A name is a file path, or a
    zoo entry matched by relative path or file stem (commas separate several in one argument)."""
    zoo_models = sorted(zoo.rglob("*.tflite")) if zoo.is_dir() else []
    if not names:
        if not zoo_models:
            raise InputError(f"no .tflite models found under {zoo}; pass --models FILE ... or --zoo DIR")
        return [(p, str(p.relative_to(zoo))) for p in zoo_models]
    chosen = []
    for name in (n.strip() for arg in names for n in arg.split(",") if n.strip()):
        path = Path(name)
        if path.is_file():
            chosen.append((path, str(path.relative_to(zoo)) if path.is_relative_to(zoo) else path.name))
            continue
        matches = [p for p in zoo_models if str(p.relative_to(zoo)) == name or p.stem == Path(name).stem]
        if not matches:
            raise InputError(f"model '{name}' is neither a file nor a model of the zoo at {zoo} "
                             "(give a path, or a zoo file name such as kws_ref_model)")
        chosen += [(p, str(p.relative_to(zoo))) for p in matches]
    return list(dict.fromkeys(chosen))


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Keep stdout for the JSON: the peers' C code prints there (fd 1) while they load models."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def bench_command(
    backend: str = typer.Option("native", "--backend", help="What arielml runs on: " + ", ".join(BACKENDS) + "."),
    models: Optional[list[str]] = typer.Option(None, "--models", "-m",
                                               help="Models to run (paths or zoo names; repeat or separate with "
                                                    "commas). Default: every .tflite of the zoo."),
    repeat: int = typer.Option(11, "--repeat", "-n", help="Samples per engine; the median is reported."),
    zoo: Path = typer.Option(DEFAULT_ZOO, "--zoo", help="Directory of the model zoo."),
    write: Optional[Path] = typer.Option(None, "--write",
                                         help="Write/update the host section of this markdown file "
                                              "(e.g. docs/benchmarks.md)."),
    min_sample_ms: float = typer.Option(2.0, "--min-sample-ms",
                                        help="A sample averages enough calls to last at least this long."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    targets: Optional[list[str]] = typer.Option(None, "--targets",
                                                help="Emulator backend: boards to cover (comma-separated; default "
                                                     "rp2040,rp2350-arm,rv32-smp,stm32h747,rp2350-mixed)."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Root of the build caches. Default: $XDG_CACHE_HOME/arielml or "
                                                  "~/.cache/arielml, else a private directory under the temporary "
                                                  "directory."),
    firmware: str = typer.Option("c", "--firmware", metavar="c|rust",
                                 help="Emulator backend: rust compares the Rust-main firmware with the C one (flash, "
                                      "RAM, cycles) on --targets (default rp2040,rp2350-arm,rp2350-riscv,stm32h747,"
                                      "nrf52840) at 1 and 2 cores."),
) -> None:
    """Host benchmark: arielml native (1/2 threads, static/dynamic) vs LiteRT (1/2 threads, reference
    kernels) vs TFLite Micro, with latency ratios and arena bytes."""
    from rich.markup import escape
    from rich.progress import Progress

    from arielml.bench.host import missing_oracles, render_markdown, render_tables, run_host_bench, update_markdown

    if backend not in BACKENDS:
        raise TargetError(f"unknown bench backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
    from arielml.cache import cache_dir as user_cache_dir
    if firmware != "c":  # the Rust-vs-C table (arielml/rust/cli.py)
        from arielml.bench.emulated import is_int8_model
        from arielml.rust.cli import check_firmware, rust_bench
        check_firmware(firmware, backend)
        chosen = [p for p, _ in resolve_models(list(models or []), zoo) if models or is_int8_model(p)]
        argv = ["arielml", "bench", "--backend", backend, "--firmware", firmware, *[a for t in targets or [] for a in
                ("--targets", t)], *[a for m in models or [] for a in ("--models", m)]]
        rust_bench(chosen, [t.strip() for arg in targets or [] for t in arg.split(",") if t.strip()], write, as_json,
                   shlex.join(argv + (["--write", _display_path(write)] if write else [])),
                   cache_dir=None if cache_dir is None else user_cache_dir("emulator", root=cache_dir))
        return
    if backend == "emulator":
        emulator_bench(list(models or []), list(targets or []), zoo, write, as_json,
                       cache_dir=None if cache_dir is None else user_cache_dir("emulator", root=cache_dir))
        return
    if targets:
        raise InputError("--targets applies to --backend emulator only (the native backend runs on this machine)")
    if repeat < 1:
        raise InputError("--repeat must be at least 1")
    chosen = resolve_models(list(models or []), zoo)
    err = stderr_console()
    missing = missing_oracles()
    if missing:
        err.print(f"[yellow]warning: {', '.join(missing)} not installed: the LiteRT/TFLite Micro columns will be "
                  "n/a. They are test extras: pip install 'arielml[test]'[/yellow]")
    with Progress(console=err, transient=True) as progress, (stdout_to_stderr() if as_json else
                                                              contextlib.nullcontext()):
        task = progress.add_task("benchmarking", total=len(chosen))

        def on_model(label: str) -> None:
            progress.update(task, description=escape(label), completed=[m for _, m in chosen].index(label))

        bench = run_host_bench(chosen, repeat=repeat, min_sample_seconds=min_sample_ms / 1e3, on_model=on_model,
                               cache_dir=None if cache_dir is None else user_cache_dir("native", root=cache_dir))
    if write is not None:
        argv = ["arielml", "bench", "--backend", backend, "--repeat", str(repeat)]
        if models:
            argv += [a for m in models for a in ("--models", m)]
        argv += ["--write", _display_path(write)]
        update_markdown(write, render_markdown(bench, shlex.join(argv)))
    if as_json:
        print_json({**bench.to_json(), "written": str(write) if write else None})
        return
    console = stdout_console()
    if not console.is_terminal:  # piped or captured: do not fold the wide tables into 80 columns
        console.width = max(console.width, 160)
    console.print(f"{bench.machine}; {bench.date}")
    for table in render_tables(bench):
        console.print(table)
    for row in bench.rows:
        for note in row.notes:
            console.print(f"[dim]{escape(f'{row.model}: {note}')}[/dim]")
    if write is not None:
        console.print(f"wrote the host section of {escape(str(write))}")


def emulator_bench(models: list[str], targets: list[str], zoo: Path, write: Optional[Path], as_json: bool,
                   cache_dir: Optional[Path] = None) -> None:
    """`bench --backend emulator`: default models are the int8 models of the zoo (kws and vww for the
    scaling and unequal-core studies); given models are used for every study."""
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from arielml.bench.emulated import ALL_TARGETS, STUDY_MODELS, is_int8_model, plan_runs, run_emulator_bench
    from arielml.bench.emulated_report import render_markdown, rich_tables, update_section

    chosen_targets = tuple(dict.fromkeys(t.strip() for arg in targets for t in arg.split(",") if t.strip())) \
        or ALL_TARGETS
    if models:
        chosen = resolve_models(models, zoo)
        study = chosen
    else:
        chosen = [(p, label) for p, label in resolve_models([], zoo) if is_int8_model(p)]
        study = [(p, label) for p, label in chosen if p.stem in STUDY_MODELS]
    # the kernel micro-benchmarks belong to the full benchmark; chosen models say what the user wants run
    specs = plan_runs([(p, p.stem) for p, _ in chosen], chosen_targets, [(p, p.stem) for p, _ in study],
                      kernels=not models)
    if not specs:
        raise InputError("nothing to run: no model/target combination selected (check --models and --targets)")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=stderr_console(), transient=True) as progress:
        task = progress.add_task("emulating", total=len(specs))

        def on_run(spec) -> None:
            done = specs.index(spec)
            progress.update(task, completed=done, description=escape(f"{spec.label} on {spec.target}, {spec.cores} "
                                                                     f"core(s), {spec.scheduler}"))

        bench = run_emulator_bench(specs, on_run=on_run, cache_dir=cache_dir)
        progress.update(task, completed=len(specs))
    if write is not None:
        argv = ["arielml", "bench", "--backend", "emulator"]
        if targets:
            argv += ["--targets", ",".join(chosen_targets)]
        argv += [a for m in models for a in ("--models", m)]
        argv += ["--write", _display_path(write)]
        update_section(write, render_markdown(bench, shlex.join(argv)))
    if as_json:
        print_json({**bench.to_json(), "written": str(write) if write else None})
        return
    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(f"{bench.machine}; {bench.date}; emulator {bench.mips:.0f} MIPS")
    for table in rich_tables(bench):
        console.print(table)
    from arielml.bench.emulated_report import error_notes
    for note in error_notes(bench):
        console.print(f"[dim]{escape(note)}[/dim]")
    if write is not None:
        console.print(f"wrote the emulator section of {escape(str(write))}")


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def register(app: typer.Typer) -> None:
    app.command("bench")(bench_command)
