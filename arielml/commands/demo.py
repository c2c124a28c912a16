"""`arielml demo`: what `make demo` runs. For now: inspect and run a few zoo models and compare them
with LiteRT's reference kernels (when ai-edge-litert is installed). Later issues replace the body with
the emulated multi-core job; the shape (progress bar, then one summary table) stays."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer

from arielml.commands._common import DEFAULT_ZOO, stdout_console
from arielml.errors import ArielError, ModelFormatError

DEMO_MODELS = (
    "tflite_micro/hello_world_int8.tflite",
    "mlcommons_tiny/ad01_int8.tflite",
    "mlcommons_tiny/kws_ref_model.tflite",
    "mlcommons_tiny/vww_96_int8.tflite",
    "mlcommons_tiny/pretrainedResnet_quant.tflite",
    "simpletinyml_oneliner/lenet5_quantized.tflite",
    "mlcommons_tiny/vww_96_float.tflite",
)
RUNS_PER_MODEL = 3
FLOAT_TOLERANCE = 1e-4  # float32 models: same maths, different summation order


@dataclass(frozen=True)
class DemoRow:
    model: str
    ops: int
    macs: int
    params_bytes: int
    peak_bytes: int
    verdict: str  # "bit-exact", "max |Δ| ...", "n/a", or the error
    ok: bool


def litert_reference(model_bytes: bytes, inputs: list[np.ndarray]) -> list[np.ndarray] | None:
    """LiteRT's reference kernels (the contract), or None when ai-edge-litert is not installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        return None
    interpreter = Interpreter(model_content=model_bytes, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array.reshape(detail["shape"]))
    interpreter.invoke()
    return [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]


def compare(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[bool, float]:
    """(bit-exact?, max absolute difference)."""
    exact, worst = True, 0.0
    for a, b in zip(ours, theirs):
        b = b.reshape(a.shape)
        exact &= bool(np.array_equal(a, b))
        if a.size:
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    return exact, worst


def demo_one(path: Path, name: str) -> DemoRow:
    import arielml
    from arielml.frontend.tflite import load_tflite
    from arielml.inspect import summarize

    try:
        summary = summarize(load_tflite(path))
    except ArielError as e:
        return DemoRow(name, 0, 0, 0, 0, f"[red]{e}[/red]", False)
    row = dict(model=name, ops=len(summary.ops), macs=summary.macs, params_bytes=summary.params_bytes,
               peak_bytes=summary.peak_activation_bytes)
    if summary.unsupported:
        ops = ", ".join(sorted({op.type for op in summary.unsupported}))
        return DemoRow(**row, verdict=f"[red]unsupported: {ops}[/red]", ok=False)
    try:
        model = arielml.load(path)
        data = path.read_bytes()
        exact, worst, compared = True, 0.0, True
        for seed in range(RUNS_PER_MODEL):
            inputs = model.random_inputs(seed)
            ours = model.run(inputs)
            theirs = litert_reference(data, inputs)
            if theirs is None:
                compared = False
                continue
            same, diff = compare(ours, theirs)
            exact &= same
            worst = max(worst, diff)
    except ArielError as e:
        return DemoRow(**row, verdict=f"[red]{e}[/red]", ok=False)
    if not compared:
        return DemoRow(**row, verdict="n/a (ai-edge-litert not installed)", ok=True)
    is_float = any(t.dtype == "float32" for t in summary.outputs) and not _quantised_core(model.graph)
    if exact:
        return DemoRow(**row, verdict="[green]✓ bit-exact[/green]", ok=True)
    if is_float and worst <= FLOAT_TOLERANCE:
        return DemoRow(**row, verdict=f"[green]✓ |Δ| ≤ {worst:.0e}[/green]", ok=True)
    return DemoRow(**row, verdict=f"[red]✗ differs (max |Δ| {worst:.3g})[/red]", ok=False)


def _si(value: int, unit: str = "") -> str:
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value} {unit}".strip()


def _quantised_core(graph) -> bool:
    """True when every operator other than QUANTIZE/DEQUANTIZE computes in integers."""
    return all(graph.tensors[n.outputs[0]].dtype != "float32" for n in graph.nodes
               if n.op not in ("QUANTIZE", "DEQUANTIZE"))


def demo_command(
    zoo: Path = typer.Option(DEFAULT_ZOO, "--zoo", help="Directory of the model zoo."),
) -> None:
    """Inspect and run a few zoo models; compare with LiteRT's reference kernels."""
    from rich.progress import Progress
    from rich.table import Table

    if not zoo.is_dir():
        raise ModelFormatError(f"the model zoo was not found at {zoo}; the demo needs it (pass --zoo DIR)")
    models = [(zoo / name, Path(name).stem) for name in DEMO_MODELS if (zoo / name).is_file()]
    if not models:
        raise ModelFormatError(f"none of the demo models ({', '.join(DEMO_MODELS)}) is in {zoo}")
    console = stdout_console()
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("inspecting and running models", total=len(models))
        for path, name in models:
            progress.update(task, description=f"{name}")
            rows.append(demo_one(path, name))
            progress.advance(task)
    table = Table(title=f"arielml demo: reference executor vs LiteRT reference kernels ({RUNS_PER_MODEL} random "
                        "inputs each)")
    table.add_column("model", no_wrap=True, overflow="ellipsis", max_width=22)
    for column in ("ops", "MACs", "params", "peak act."):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("vs LiteRT", min_width=13)
    for r in rows:
        table.add_row(r.model, str(r.ops), _si(r.macs), _si(r.params_bytes, "B"), _si(r.peak_bytes, "B"), r.verdict)
    console.print(table)
    missing = len(DEMO_MODELS) - len(models)
    if missing:
        console.print(f"[yellow]{missing} demo model(s) missing from {zoo}[/yellow]")
    if not all(r.ok for r in rows):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
