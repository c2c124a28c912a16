"""Host benchmark: arielml's native backend against LiteRT and TFLite Micro, in one run.

    bench = run_host_bench([Path("kws.tflite"), ...], repeat=11)
    render_tables(bench)            # rich tables (ms and ratios)
    render_markdown(bench, command) # the host section of docs/benchmarks.md

Every engine ("variant") is prepared once per model, warmed up, then timed interleaved: each
repetition runs every variant once, in forward order on even repetitions and reversed on odd ones, so
slow drifts of a shared, noisy machine hit all variants alike. A sample is the mean of enough calls
to last at least `min_sample_seconds` (tiny models take microseconds), and the reported figure is the
median of `repeat` samples. A timed call writes the inputs and invokes: it excludes reading outputs
for every engine, and includes arielml's thread start-up (the posix launcher spawns its threads per run).

LiteRT and TFLite Micro are test extras (`pip install arielml[test]`); without them their columns
are n/a and `oracles_missing` says which package is absent. A model whose operators have no C kernel
yet still gets its peers measured and its arena planned; the reason is kept in `notes`."""
from __future__ import annotations

import ctypes
import datetime
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from arielml.bench.markdown import update_section
from arielml.errors import ArielError

FLOAT_TOLERANCE = 1e-4  # float32 outputs: same maths, different summation order


@dataclass(frozen=True)
class Variant:
    key: str  # JSON key and table column id
    label: str  # column header
    engine: str  # "arielml", "litert", "litert-ref", "tflm"
    threads: int = 1
    scheduler: str = ""  # arielml only


VARIANTS: tuple[Variant, ...] = (
    Variant("arielml_1t_static", "arielml 1T static", "arielml", 1, "static"),
    Variant("arielml_1t_dynamic", "arielml 1T dynamic", "arielml", 1, "dynamic"),
    Variant("arielml_2t_static", "arielml 2T static", "arielml", 2, "static"),
    Variant("arielml_2t_dynamic", "arielml 2T dynamic", "arielml", 2, "dynamic"),
    Variant("litert_1t", "LiteRT 1T", "litert", 1),
    Variant("litert_2t", "LiteRT 2T", "litert", 2),
    Variant("litert_ref", "LiteRT ref", "litert-ref", 1),
    Variant("tflm", "TFLM", "tflm", 1),
)
VARIANT_BY_KEY = {v.key: v for v in VARIANTS}

# ratio column -> (numerator variant, denominator variant, header); > 1 means the denominator is faster
RATIOS: tuple[tuple[str, str, str, str], ...] = (
    ("arielml_2t_speedup_static", "arielml_1t_static", "arielml_2t_static", "arielml 2T/1T static"),
    ("arielml_2t_speedup_dynamic", "arielml_1t_dynamic", "arielml_2t_dynamic", "arielml 2T/1T dynamic"),
    ("litert_2t_speedup", "litert_1t", "litert_2t", "LiteRT 2T/1T"),
    ("vs_litert_1t", "litert_1t", "arielml_1t_static", "vs LiteRT 1T"),
    ("vs_litert_2t", "litert_2t", "arielml_2t_static", "vs LiteRT 2T"),
    ("vs_litert_ref", "litert_ref", "arielml_1t_static", "vs LiteRT ref"),
    ("vs_tflm", "tflm", "arielml_1t_static", "vs TFLM"),
)


@dataclass(frozen=True)
class ModelBench:
    model: str  # path relative to the zoo (or as given)
    kind: str  # "int8" (integer core) or "float32"
    seconds: dict[str, float | None]  # variant key -> median seconds per inference, None = not measured
    arena_bytes: int | None  # arielml's planned arena (1-core plan)
    tflm_arena_bytes: int | None  # TFLite Micro's arena head
    check: str  # arielml 1T output against LiteRT's reference kernels
    notes: tuple[str, ...] = ()  # why a variant is missing

    def ratio(self, numerator: str, denominator: str) -> float | None:
        a, b = self.seconds.get(numerator), self.seconds.get(denominator)
        return a / b if a and b else None

    def to_json(self) -> dict:
        return {"model": self.model, "kind": self.kind, "arena_bytes": self.arena_bytes,
                "tflm_arena_bytes": self.tflm_arena_bytes, "check": self.check, "notes": list(self.notes),
                "ms": {k: (None if s is None else s * 1e3) for k, s in self.seconds.items()},
                "ratios": {key: self.ratio(num, den) for key, num, den, _ in RATIOS}}


@dataclass(frozen=True)
class HostBench:
    rows: tuple[ModelBench, ...]
    repeat: int
    machine: str  # CPU model and core count
    date: str  # UTC, ISO format
    versions: dict[str, str]
    oracles_missing: tuple[str, ...]  # pip packages absent (their columns are n/a)

    def to_json(self) -> dict:
        return {"repeat": self.repeat, "machine": self.machine, "date": self.date, "versions": self.versions,
                "oracles_missing": list(self.oracles_missing), "variants": [v.key for v in VARIANTS],
                "models": [r.to_json() for r in self.rows]}


# ---- engines ------------------------------------------------------------------------------------

Invoke = Callable[[], None]


class Unavailable(Exception):
    """A variant cannot run on this model (no kernel, oracle missing, oracle refuses the model)."""


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    text = re.sub(r"arielml-build-\w+", "arielml-build-*", text)  # same failure, same note
    return text if len(text) <= 160 else text[:157] + "..."


def _prepare_arielml(variant: Variant, model, inputs: list[np.ndarray], cache_dir: Path | None
                     ) -> tuple[Invoke, list[np.ndarray]]:
    from arielml.backends.native import build_native
    from arielml.compile import compile_model
    try:
        library = build_native(compile_model(model.graph, cores=variant.threads, scheduler=variant.scheduler),
                               cache_dir)
        outputs = library.run(inputs).outputs  # also checks the inputs against the library
    except ArielError as e:
        raise Unavailable(_short(e)) from None
    # time the generated C API itself (model.h): write the inputs, then <name>_run(threads)
    prefix = library.result.plan.options.name
    run = getattr(library.lib, f"{prefix}_run")
    run.argtypes, run.restype = [ctypes.c_uint], ctypes.c_int
    input_at = getattr(library.lib, f"{prefix}_input")
    input_at.argtypes, input_at.restype = [ctypes.c_uint], ctypes.c_void_p
    graph = model.graph
    arrays = [np.ascontiguousarray(a, dtype=graph.tensors[t].np_dtype) for a, t in zip(inputs, graph.inputs)]
    copies = [(input_at(i), a.ctypes.data, a.nbytes) for i, a in enumerate(arrays)]
    threads = variant.threads

    def invoke() -> None:
        for destination, source, size in copies:
            ctypes.memmove(destination, source, size)
        if run(threads) != 0:
            raise ArielError(f"the native library refused to run on {threads} threads")

    return invoke, outputs


def _prepare_litert(variant: Variant, data: bytes, inputs: list[np.ndarray]) -> tuple[Invoke, list[np.ndarray]]:
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise Unavailable("ai-edge-litert is not installed") from None
    options = {"experimental_op_resolver_type": OpResolverType.BUILTIN_REF} if variant.engine == "litert-ref" else {}
    try:
        interpreter = Interpreter(model_content=data, num_threads=variant.threads, **options)
        interpreter.allocate_tensors()
        feeds = [(d["index"], a.reshape(d["shape"])) for d, a in zip(interpreter.get_input_details(), inputs)]

        def invoke() -> None:
            for index, array in feeds:
                interpreter.set_tensor(index, array)
            interpreter.invoke()

        invoke()
        outputs = [interpreter.get_tensor(d["index"]).copy() for d in interpreter.get_output_details()]
    except (RuntimeError, ValueError) as e:
        raise Unavailable(_short(e)) from None
    return invoke, outputs


def _prepare_tflm(data: bytes, inputs: list[np.ndarray]) -> tuple[Invoke, list[np.ndarray]]:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError:
        raise Unavailable("tflite-micro is not installed") from None
    try:
        interpreter = runtime.Interpreter.from_bytes(data)

        def invoke() -> None:
            for i, array in enumerate(inputs):
                interpreter.set_input(array, i)
            interpreter.invoke()

        invoke()
    except (RuntimeError, ValueError, IndexError) as e:
        raise Unavailable(_short(e)) from None
    return invoke, []


def _tflm_arena_heads(paths: list[Path]) -> dict[str, int | None]:
    """TFLite Micro's arena head per model (one subprocess for all); None where it cannot allocate
    the model or is not installed."""
    from arielml.bench.tflm_peer import tflm_arena_heads
    try:
        return tflm_arena_heads(paths)
    except ArielError:
        return {}


# ---- measuring ----------------------------------------------------------------------------------

def _kind(graph) -> str:
    """int8 when most operators other than QUANTIZE/DEQUANTIZE compute in integers (an int8 model with
    float I/O may end in a float LOG_SOFTMAX), float32 otherwise (hybrid models included)."""
    dtypes = [graph.tensors[n.outputs[0]].dtype for n in graph.nodes if n.op not in ("QUANTIZE", "DEQUANTIZE")]
    return "float32" if 2 * sum(d == "float32" for d in dtypes) >= len(dtypes) else "int8"


def _check(ours: list[np.ndarray] | None, reference: list[np.ndarray] | None) -> str:
    if ours is None or reference is None:
        return "n/a"
    worst, exact = 0.0, True
    for a, b in zip(ours, reference):
        b = b.reshape(a.shape)
        exact &= bool(np.array_equal(a, b))
        if a.size:
            worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))))
    if exact:
        return "bit-exact"
    if all(a.dtype.kind == "f" for a in ours) and worst <= FLOAT_TOLERANCE:
        return f"|Δ| ≤ {worst:.0e}"
    return f"DIFFERS (max |Δ| {worst:.3g})"


def _calls_per_sample(invoke: Invoke, min_sample_seconds: float) -> int:
    start = time.perf_counter()
    invoke()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, math.ceil(min_sample_seconds / once))


def bench_model(path: Path, label: str, repeat: int, min_sample_seconds: float = 0.002,
                cache_dir: Path | None = None, variants: tuple[Variant, ...] = VARIANTS,
                tflm_arena: int | None = None) -> ModelBench:
    """Prepare every variant for one model, then time them interleaved (see the module docstring)."""
    import arielml
    from arielml.compile import plan_model

    model = arielml.load(path)
    data = path.read_bytes()
    inputs = model.random_inputs(0)
    prepared: dict[str, tuple[Invoke, int]] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    reasons: dict[str, list[str]] = {}  # why a variant is missing -> the columns it blanks
    for variant in variants:
        try:
            if variant.engine == "arielml":
                invoke, out = _prepare_arielml(variant, model, inputs, cache_dir)
            elif variant.engine == "tflm":
                invoke, out = _prepare_tflm(data, inputs)
            else:
                invoke, out = _prepare_litert(variant, data, inputs)
        except Unavailable as e:
            reasons.setdefault(str(e), []).append(variant.label)
            continue
        outputs[variant.key] = out
        prepared[variant.key] = (invoke, _calls_per_sample(invoke, min_sample_seconds))
    samples: dict[str, list[float]] = {key: [] for key in prepared}
    order = list(prepared.items())
    for rep in range(repeat):
        for key, (invoke, calls) in (order if rep % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            for _ in range(calls):
                invoke()
            samples[key].append((time.perf_counter() - start) / calls)
    seconds = {v.key: (statistics.median(samples[v.key]) if v.key in samples else None) for v in variants}
    try:
        arena = plan_model(model.graph, cores=1, kernels_required=False).arena_bytes
    except ArielError as e:
        arena = None
        reasons.setdefault(f"memory plan: {_short(e)}", []).append("arena")
    lines = tuple(f"{', '.join(labels)}: {reason}" for reason, labels in reasons.items())
    check = _check(outputs.get("arielml_1t_static"), outputs.get("litert_ref"))
    ours = [outputs[v.key] for v in variants if v.engine == "arielml" and v.key in outputs]
    if any(_check(o, ours[0]) != "bit-exact" for o in ours[1:]):  # every core count and scheduler: same bytes
        check += "; DIFFERS between thread counts/schedulers"
    return ModelBench(label, _kind(model.graph), seconds, arena, tflm_arena, check, lines)


def missing_oracles() -> tuple[str, ...]:
    missing = []
    for module, package in (("ai_edge_litert.interpreter", "ai-edge-litert"),
                            ("tflite_micro.python.tflite_micro.runtime", "tflite-micro")):
        try:
            __import__(module)
        except ImportError:
            missing.append(package)
    return tuple(missing)


def machine_description() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:  # how busy the shared machine was when the run started
        load = f", load average {os.getloadavg()[0]:.1f} at start"
    except OSError:
        load = ""
    return f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.machine()}{load}"


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version
    found = {"python": platform.python_version()}
    for package in ("ai-edge-litert", "tflite-micro", "numpy"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    try:
        gcc = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True, timeout=10).stdout.strip()
        found["gcc"] = gcc or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        found["gcc"] = "not found"
    return found


def run_host_bench(models: list[tuple[Path, str]], repeat: int = 11, min_sample_seconds: float = 0.002,
                   cache_dir: Path | None = None, on_model: Callable[[str], None] | None = None) -> HostBench:
    """Benchmark every (path, label); one model's failure never stops the others."""
    heads = _tflm_arena_heads([path for path, _ in models])
    rows = []
    for path, label in models:
        if on_model:
            on_model(label)
        try:
            rows.append(bench_model(path, label, repeat, min_sample_seconds, cache_dir,
                                    tflm_arena=heads.get(str(path))))
        except ArielError as e:  # the model does not even load: a row that says why
            rows.append(ModelBench(label, "?", {v.key: None for v in VARIANTS}, None, None, "n/a",
                                   (f"all: {_short(e)}",)))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return HostBench(tuple(rows), repeat, machine_description(), now, _versions(), missing_oracles())


# ---- rendering ----------------------------------------------------------------------------------

def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    ms = seconds * 1e3
    return f"{ms:.3g}" if ms < 1 else f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3g}×"


def _bytes(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _short_name(label: str) -> str:
    return Path(label).stem


def _two_lines(header: str) -> str:
    """'arielml 2T static' -> 'arielml\\n2T static': narrower terminal columns."""
    head, _, tail = header.partition(" ")
    return f"{head}\n{tail}" if tail and len(header) > 8 else header


def latency_rows(bench: HostBench) -> tuple[list[str], list[list[str]]]:
    header = ["model", "type", *[v.label for v in VARIANTS]]
    return header, [[_short_name(r.model), r.kind, *[_ms(r.seconds[v.key]) for v in VARIANTS]] for r in bench.rows]


def ratio_rows(bench: HostBench) -> tuple[list[str], list[list[str]]]:
    header = ["model", *[h for *_, h in RATIOS], "arena B", "TFLM arena B", "check"]
    rows = [[_short_name(r.model), *[_x(r.ratio(num, den)) for _, num, den, _ in RATIOS], _bytes(r.arena_bytes),
             _bytes(r.tflm_arena_bytes), r.check] for r in bench.rows]
    if len(bench.rows) > 1:
        rows.append(["geomean", *[_x(geomean([r.ratio(num, den) for r in bench.rows])) for _, num, den, _ in RATIOS],
                     "", "", ""])
    return header, rows


def geomean(values: list[float | None]) -> float | None:
    """Geometric mean of the measured ratios (None when none was measured)."""
    present = [v for v in values if v]
    return math.exp(sum(map(math.log, present)) / len(present)) if present else None


def render_tables(bench: HostBench) -> list:
    """Two rich tables (latency, then ratios and memory) for the terminal."""
    from rich.markup import escape
    from rich.table import Table
    tables = []
    for title, (header, rows) in ((f"host latency, ms per inference (median of {bench.repeat})", latency_rows(bench)),
                                  ("ratios (> 1: the second engine is faster) and memory", ratio_rows(bench))):
        table = Table(title=title)
        for i, column in enumerate(header):
            table.add_column(_two_lines(column), justify="left" if i == 0 else "right", overflow="fold",
                             no_wrap=i == 0)
        for row in rows:
            table.add_row(*map(escape, row))  # model names are user text, not markup
        tables.append(table)
    return tables


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["--:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


SECTION_BEGIN = "<!-- arielml bench host: begin (generated by `arielml bench --write`; edits are overwritten) -->"
SECTION_END = "<!-- arielml bench host: end -->"


def render_markdown(bench: HostBench, command: str) -> str:
    """The host section of docs/benchmarks.md, between its markers."""
    versions = ", ".join(f"{k} {v}" for k, v in bench.versions.items())
    notes = [f"- `{r.model}`: {note}" for r in bench.rows for note in r.notes]
    parts = [
        SECTION_BEGIN,
        "## Host: native backend against LiteRT and TFLite Micro",
        "",
        f"- command: `{command}`",
        f"- machine: {bench.machine}",
        f"- date: {bench.date}",
        f"- software: {versions}",
    ]
    if bench.oracles_missing:
        parts.append(f"- **not installed: {', '.join(bench.oracles_missing)}** (those columns are n/a; "
                     "`pip install arielml[test]`)")
    parts += [
        "",
        "How it is measured: all engines run in one process, on the same random inputs (seed 0), interleaved: "
        "each repetition runs every engine once, in forward then reversed order, and a sample averages enough "
        f"calls to last at least 2 ms. Figures are the **median of {bench.repeat} samples**. The machine is "
        "shared and noisy (other jobs run on its cores), so read the ratios, not the third digit; two threads "
        "on a two-core machine that is also running other work cannot show a clean 2×. A timed call writes the "
        "inputs and invokes (no output read-back), for every engine; arielml and LiteRT both keep their "
        "worker threads between calls.",
        "",
        "Engines: arielml native = the generated C (gcc -O2) run by the posix port, plan made for 1 or 2 cores "
        "with the static (cost-model) or dynamic (shared tile counter) scheduler; LiteRT 1T/2T = "
        "`Interpreter(num_threads=N)` with its default (optimised, XNNPACK for float) kernels; LiteRT ref = "
        "`BUILTIN_REF` reference kernels (arielml's bit-exactness contract); TFLM = the TFLite Micro Python "
        "interpreter's `invoke`.",
        "",
        f"### Latency (ms per inference, median of {bench.repeat})",
        "",
        _markdown_table(*latency_rows(bench)),
        "",
        "### Ratios and memory",
        "",
        "A ratio is time(first) / time(second): `arielml 2T/1T` is arielml's speedup from 1 to 2 threads, "
        "`vs LiteRT 1T` = LiteRT 1T time / arielml 1T static time (> 1: arielml is faster), `vs LiteRT 2T` "
        "compares 2T static with LiteRT 2T, `vs LiteRT ref` and `vs TFLM` use arielml 1T static. `arena B` is "
        "arielml's planned activation arena (1-core plan, also for models whose kernels are still missing); "
        "`TFLM arena B` is the arena head TFLite Micro reports. The `check` column compares arielml's 1T output "
        "with LiteRT's reference kernels (and every arielml thread count/scheduler with each other); the "
        "`geomean` row is the geometric mean over the models where both sides of a ratio ran.",
        "",
        _markdown_table(*ratio_rows(bench)),
        "",
    ]
    if notes:
        parts += ["### Not measured", "", *notes, ""]
    parts.append(SECTION_END)
    return "\n".join(parts) + "\n"


def update_markdown(path: Path, section: str) -> None:
    """Replace the host section of `path` (between its markers), append it, or create the file."""
    update_section(path, section, SECTION_BEGIN, SECTION_END)
