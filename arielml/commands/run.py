"""`arielml run MODEL ...`: run a model on a backend, write its outputs as .npy files.

Backends plug in through `RUNNERS`: a runner takes the loaded model, the checked inputs and the
RunOptions, and returns a RunReport whose `fields` are merged into the `--json` object (later backends
add "cycles", "ms", "per_op", "arena_bytes", ...). Options that only compiled backends understand
(--target, --cores, --scheduler) are parsed here already and refused by runners that ignore them."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import typer

from arielml.commands._common import check_seed, print_json, stdout_console
from arielml.errors import InputError, TargetError


@dataclass(frozen=True)
class RunOptions:
    backend: str = "reference"
    semantics: str = "litert"
    target: str | None = None
    cores: int | None = None
    scheduler: str | None = None
    cache_dir: Path | None = None  # root of the build caches (--cache-dir); None: arielml.cache's default
    weights_in_sram: str | None = None  # emulator only: "auto" or "off" (None: the compiler's default, auto)
    optimize: str | None = None  # compiled backends: "latency" or "memory" (None: latency)
    ram_budget: int | None = None  # compiled backends: bytes of RAM the plan may take
    firmware: str = "c"  # emulator only: the language of the firmware's main, "c" or "rust" (arielml/rust/)


@dataclass(frozen=True)
class RunReport:
    outputs: list[np.ndarray]
    fields: dict[str, Any] = field(default_factory=dict)  # extra JSON fields (cycles, ms, per_op, ...)


Runner = Callable[[Any, list[np.ndarray], RunOptions], RunReport]


def _run_reference(model, inputs: list[np.ndarray], options: RunOptions) -> RunReport:
    ignored = [name for name, value in (("--target", options.target), ("--cores", options.cores),
                                        ("--scheduler", options.scheduler), ("--cache-dir", options.cache_dir),
                                        ("--weights-in-sram", options.weights_in_sram),
                                        ("--optimize", options.optimize), ("--ram-budget", options.ram_budget))
               if value is not None]
    if ignored:
        raise TargetError(f"{', '.join(ignored)} only apply to compiled backends; the reference backend runs the "
                          "numpy executor on this machine (drop the option or choose another --backend)")
    return RunReport(outputs=model.run(inputs, backend="reference", semantics=options.semantics))


# backend name -> runner; backend modules add theirs with register_runner
RUNNERS: dict[str, Runner] = {"reference": _run_reference}


def register_runner(name: str, runner: Runner) -> None:
    RUNNERS[name] = runner


def _run_native(model, inputs: list[np.ndarray], options: RunOptions) -> RunReport:
    """Generated C built with the host compiler (cached), run on --cores threads. --target only
    picks the cost model the plan is made with; the code runs on this machine."""
    from arielml.targets import check_cores, get_board
    target, cores, scheduler = options.target or "host", (1 if options.cores is None else options.cores), options.scheduler or "static"
    check_cores(get_board(target), cores)
    if options.weights_in_sram is not None:
        raise TargetError("--weights-in-sram places weights on a board (--backend emulator, or arielml compile); the "
                          "native backend runs on this machine's memory (drop the option)")
    from arielml.commands.compile import check_plan_choice
    optimize = options.optimize or "latency"
    check_plan_choice(optimize, options.ram_budget)
    result = model.run_native(inputs, cores=cores, scheduler=scheduler, semantics=options.semantics, target=target,
                              cache_dir=_cache(options, "native"), optimize=optimize, ram_budget=options.ram_budget)
    from arielml.backends.native import threads_note
    fields = {"target": target, "cores": cores, "scheduler": scheduler, "arena_bytes": result.arena_bytes,
              "seconds": result.seconds,
              "per_op": [{"name": t.op, "index": t.index, "seconds": t.seconds} for t in result.per_op]}
    note = threads_note(cores)  # more threads than this machine's CPUs: say so, the times show it
    if note is not None:
        fields["note"] = note
    return RunReport(outputs=result.outputs, fields=fields)


def _cache(options: RunOptions, kind: str) -> Path | None:
    """--cache-dir DIR -> DIR/<kind> (checked writable); None lets the backend pick arielml.cache's default."""
    if options.cache_dir is None:
        return None
    from arielml.cache import cache_dir
    return cache_dir(kind, root=options.cache_dir)


register_runner("native", _run_native)


def _run_emulator(model, inputs: list[np.ndarray], options: RunOptions) -> RunReport:
    """Generated C cross-compiled for --target and run on the emulated board's --cores cores."""
    from arielml.backends.emulator import emulated_board
    from arielml.targets.boards import BOARDS
    if options.target is None:
        raise TargetError("--backend emulator needs --target BOARD; emulated boards: "
                          + ", ".join(name for name, board in BOARDS.items() if board.emulated))
    board = emulated_board(options.target)
    cores, scheduler = (1 if options.cores is None else options.cores), options.scheduler or "static"
    weights_in_sram = options.weights_in_sram or "auto"
    from arielml.commands.compile import check_compile_options
    check_compile_options(board.name, cores, scheduler, "model", weights_in_sram)
    from arielml.commands.compile import check_plan_choice
    optimize = options.optimize or "latency"
    check_plan_choice(optimize, options.ram_budget)
    if options.firmware == "rust":  # a Rust main around the same C library (arielml/rust/firmware.py)
        from arielml.rust.firmware import run_rust_emulated
        run = run_rust_emulated(model, inputs, board.name, cores, scheduler=scheduler, semantics=options.semantics,
                                cache_dir=_cache(options, "emulator"), weights_in_sram=weights_in_sram,
                                optimize=optimize, ram_budget=options.ram_budget)
        return RunReport(outputs=run.outputs, fields={**run.summary(), "firmware": "rust"})
    run = model.run_emulated(inputs, board.name, cores=cores, scheduler=scheduler, semantics=options.semantics,
                             cache_dir=_cache(options, "emulator"), weights_in_sram=weights_in_sram,
                             optimize=optimize, ram_budget=options.ram_budget)
    return RunReport(outputs=run.outputs, fields=run.summary())


register_runner("emulator", _run_emulator)


def load_inputs(model, paths: list[Path], seed: int | None) -> tuple[list[np.ndarray], list[str]]:
    """Inputs from .npy files (one per model input, in order) or random ones; returns arrays and a
    description of where each came from. Shapes and dtypes are checked by Model.check_inputs."""
    if paths and seed is not None:
        raise InputError("give either --input files or --random SEED, not both")
    check_seed(seed)
    if not paths:
        seed = 0 if seed is None else seed
        arrays = model.random_inputs(seed)
        return arrays, [f"random (seed {seed})"] * len(arrays)
    if len(paths) != len(model.graph.inputs):
        raise InputError(f"the model takes {len(model.graph.inputs)} input(s), {len(paths)} --input file(s) were "
                         "given (one .npy file per input, in order)")
    from arielml.npyfile import read_npy_input
    arrays = [read_npy_input(path, dtype, shape, what=f"input {i}")
              for i, (path, (shape, dtype)) in enumerate(zip(paths, model.input_specs))]
    return model.check_inputs(arrays), [str(p) for p in paths]


def run_command(
    model_path: Path = typer.Argument(..., metavar="MODEL", help="The .tflite or .onnx model file."),
    inputs: Optional[list[Path]] = typer.Option(None, "--input", "-i", help="A .npy file per model input, in order."),
    seed: Optional[int] = typer.Option(None, "--random", help="Use random inputs drawn with this seed (default 0)."),
    output_dir: Path = typer.Option(Path("out"), "--output-dir", "-o", help="Directory for output_<i>.npy files."),
    backend: str = typer.Option("reference", "--backend", help="Where to run: " + ", ".join(RUNNERS) + "."),
    semantics: str = typer.Option("litert", "--semantics",
                                  help="Whose arithmetic to match bit for bit: litert (TFLite reference kernels) "
                                       "tflm (TFLite Micro) or onnxruntime (ONNX models: onnxruntime's CPU provider)."),
    target: Optional[str] = typer.Option(None, "--target", help="Board to compile for (compiled backends)."),
    cores: Optional[int] = typer.Option(None, "--cores", help="Number of cores (compiled backends)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Tile scheduler (compiled backends)."),
    weights_in_sram: Optional[str] = typer.Option(None, "--weights-in-sram", metavar="auto|off",
                                                  help="Emulator backend: auto (default) lets the compiler copy the "
                                                       "most re-read weights to SRAM; off keeps them in flash."),
    optimize: Optional[str] = typer.Option(None, "--optimize", metavar="latency|memory",
                                           help="Compiled backends: latency (default) or memory (smallest arena)."),
    ram_budget: Optional[int] = typer.Option(None, "--ram-budget", metavar="BYTES",
                                             help="Compiled backends: the fastest plan whose RAM fits this many bytes."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir",
                                             help="Root of the build caches (compiled backends). Default: "
                                                  "$XDG_CACHE_HOME/arielml or ~/.cache/arielml, else a private "
                                                  "directory under the temporary directory."),
    steps: Optional[int] = typer.Option(None, "--steps", metavar="T",
                                        help="Run T inferences through one session, the model's state (SVDF, LSTM) "
                                             "carried from each to the next; input files hold a leading time axis "
                                             "of T, and so do the outputs."),
    firmware: str = typer.Option("c", "--firmware", metavar="c|rust",
                                 help="Emulator backend: the firmware's main in C (default) or in Rust (a no_std "
                                      "Rust main around the same C library; docs/rust.md)."),
) -> None:
    """Run a model and write its outputs to DIR/output_<i>.npy."""
    import arielml
    from arielml.rust.cli import check_firmware

    options = RunOptions(backend=backend, semantics=semantics, target=target, cores=cores, scheduler=scheduler,
                         cache_dir=cache_dir, weights_in_sram=weights_in_sram, optimize=optimize,
                         ram_budget=ram_budget, firmware=check_firmware(firmware, backend))
    if backend not in RUNNERS:
        raise TargetError(f"unknown backend '{backend}'; choose one of: {', '.join(RUNNERS)}")
    model = arielml.load(model_path)
    if steps is not None:  # a stream through one session (commands/_sequence.py)
        from arielml.commands._sequence import load_steps, run_steps
        step_inputs, sources = load_steps(model, list(inputs or []), seed, steps)
        arrays = [np.stack([step[i] for step in step_inputs]) for i in range(len(model.graph.inputs))]
        report = run_steps(model, step_inputs, options)
    else:
        arrays, sources = load_inputs(model, list(inputs or []), seed)
        report = RUNNERS[backend](model, arrays, options)
    written = write_outputs(report.outputs, output_dir)
    result = {
        "model": str(model_path), "backend": backend, "semantics": semantics,
        "inputs": [{"source": s, "shape": list(a.shape), "dtype": str(a.dtype)} for s, a in zip(sources, arrays)],
        "outputs": [{"path": str(p), "shape": list(a.shape), "dtype": str(a.dtype)}
                    for p, a in zip(written, report.outputs)],
        **report.fields,
    }
    if model.stateful and steps is None:
        result["note"] = ("the model keeps state between inferences (variable tensors); this was one inference from "
                          "the initial state: --steps T runs T of them through one session")
    if as_json:
        print_json(result)
    else:
        _print_table(result, report.outputs)


def write_outputs(outputs: list[np.ndarray], output_dir: Path) -> list[Path]:
    from arielml.errors import ArielError
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, array in enumerate(outputs):
            path = output_dir / f"output_{i}.npy"
            np.save(path, array)
            paths.append(path)
    except OSError as e:
        raise ArielError(f"cannot write outputs to {output_dir}: {e.strerror or e}") from None
    return paths


def _print_table(result: dict, outputs: list[np.ndarray]) -> None:
    from rich.markup import escape
    from rich.table import Table
    # paths and option values are user text: escaped, never read as rich markup
    table = Table(title=escape(f"{result['model']} on {result['backend']} ({result['semantics']} semantics)"))
    for column in ("output", "file", "shape", "dtype", "min", "max"):
        table.add_column(column, overflow="fold")
    for i, (info, array) in enumerate(zip(result["outputs"], outputs)):
        table.add_row(str(i), escape(info["path"]), "×".join(map(str, info["shape"])) or "scalar", info["dtype"],
                      f"{array.min():.6g}" if array.size else "-", f"{array.max():.6g}" if array.size else "-")
    console = stdout_console()
    console.print(table)
    for key, value in result.items():
        if key not in ("model", "backend", "semantics", "inputs", "outputs") and not isinstance(value, (list, dict)):
            console.print(escape(f"{key}: {value}"))
    for step in result.get("per_step", []):  # --steps on the emulator: each inference's latency
        console.print(f"step {step['step']}: {step['cycles']:,} cycles, {step['ms']:.3f} ms")


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
