"""Python API of the compiler: model -> Plan -> self-contained C library.

    from arielml.compile import compile_model
    result = compile_model("kws.tflite", target="host", cores=2, scheduler="static", out_dir="out/")
    result.arena_bytes, result.weights_bytes, result.files, result.plan
    result.sram_weights_bytes  # weights the start-up copies to SRAM (weights_in_sram="auto")
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from arielml.codegen.emit import emit
from arielml.codegen.names import check_library_name
from arielml.codegen.output_dir import MANIFEST, write_library
from arielml.errors import FitError, TargetError
from arielml.ir import Graph
from arielml.ops.registry import Semantics, resolve_semantics
from arielml.passes.pipeline import run_pipeline
from arielml.passes.plan import CompileOptions, Plan
from arielml.targets.boards import check_cores, get_board


@dataclass(frozen=True)
class CompileResult:
    arena_bytes: int
    weights_bytes: int
    files: tuple[str, ...]  # paths relative to out_dir: the sources, and the manifest when written
    plan: Plan
    sources: dict[str, str]  # relative path -> text

    @property
    def sram_weights_bytes(self) -> int:
        """SRAM taken by the weights copied there at start-up, all images together (their load image
        stays in flash, counted in weights_bytes)."""
        placement = self.plan.weight_placement
        return 0 if placement is None else placement.sram_bytes

    def summary(self) -> dict:
        """The JSON-friendly summary (`arielml compile --json`)."""
        placement = self.plan.weight_placement
        return {"arena_bytes": self.arena_bytes, "weights_bytes": self.weights_bytes, "files": list(self.files),
                "sram_weights_bytes": self.sram_weights_bytes,
                "weights_in_sram": None if placement is None else placement.to_json(),
                "cores": self.plan.options.cores, "scheduler": self.plan.options.scheduler,
                "target": self.plan.options.target, "optimize": self.plan.options.optimize,
                "ram_budget": self.plan.options.ram_budget, "ram_bytes": plan_ram(self.plan),
                "macs": self.plan.model_macs, "macs_executed": self.plan.macs_executed,
                "notes": list(self.plan.notes),
                "estimated_ms": 1e3 * self.plan.estimated_seconds,
                "ops": [{"op": s.op, "work_items": s.work_items, "tiles": len(s.tiles),
                         "cores": sorted(set(s.tile_core)), "estimated_ms": 1e3 * s.estimated_seconds}
                        for s in self.plan.kernel_steps]}


def plan_ram(plan: Plan) -> int | None:
    """The plan's RAM as `ram_budget` counts it (arena, runtime state, stacks, weight copies); None
    on the host, which has no board RAM to count."""
    if plan.options.target == "host":
        return None
    from arielml.passes.memory_choice import plan_ram_with_copies
    return plan_ram_with_copies(plan)


def _graph_of(model_or_graph) -> Graph:
    if isinstance(model_or_graph, Graph):
        return model_or_graph
    if isinstance(model_or_graph, (str, Path)):
        from arielml.api import load
        return load(model_or_graph).graph
    return model_or_graph.graph  # an arielml.api.Model


def _check_cores(target: str, cores) -> int:
    """Before any pass: the tiling pass cannot split work over no cores (it used to fail deep
    inside with a bare ValueError)."""
    if isinstance(cores, bool) or not isinstance(cores, (int, np.integer)):
        raise TargetError(f"cores must be a whole number of cores, got {cores!r}")
    if cores < 1:
        raise TargetError(f"cores must be at least 1, got {cores}: a plan needs at least one core to run on "
                          f"(use --cores 1 for a single-core plan)")
    check_cores(get_board(target), int(cores))
    return int(cores)


def plan_model(model_or_graph, target: str = "host", cores: int = 1, scheduler: str = "static",
               semantics: str | Semantics = "litert", name: str = "model", planner: str = "greedy",
               alignment: int = 8, check=None, kernels_required: bool = True,
               weights_in_sram: str = "auto", optimize: str = "latency", ram_budget: int | None = None) -> Plan:
    """Run the pass pipeline only (no files). `check(plan, pass_name)` runs after every pass.
    kernels_required=False plans operators without a C kernel too (memory/tiling analysis).
    weights_in_sram: "auto" copies the hottest weights to SRAM at start-up where the board's flash
    is slower than its SRAM and RAM is left after the arena and stacks; "off" keeps them in flash.
    optimize: "latency" (layer by layer) or "memory" (band execution and in-place depthwise
    convolutions where they lower the arena); ram_budget: the fastest plan whose RAM fits that many
    bytes, or FitError with the least RAM any plan reaches (passes/memory_choice.py)."""
    cores = _check_cores(target, cores)
    check_library_name(name)
    graph = _graph_of(model_or_graph)
    semantics = resolve_semantics(semantics, graph)  # unknown names, and onnxruntime on a TFLite model
    options = CompileOptions(target=target, cores=cores, scheduler=scheduler, semantics=semantics, name=name,
                             planner=planner, alignment=alignment, kernels_required=kernels_required,
                             weights_in_sram=weights_in_sram, optimize=optimize)
    if ram_budget is not None:  # options checked first, like the others
        from arielml.passes.memory_choice import plan_within_budget
        return plan_within_budget(graph, replace(options, ram_budget=ram_budget), ram_budget, check=check)
    return run_pipeline(graph, options, check=check)


def compile_model(model_or_graph, target: str = "host", cores: int = 1, scheduler: str = "static",
                  out_dir: str | Path | None = None, semantics: str | Semantics = "litert", name: str = "model",
                  planner: str = "greedy", alignment: int = 8, startup: bool = False,
                  weights_in_sram: str = "auto", optimize: str = "latency",
                  ram_budget: int | None = None) -> CompileResult:
    """Compile a model (path, arielml Model or Graph) into a C99 library; write it to `out_dir`
    when given. Raises UnsupportedOperatorError for operators without a C kernel and TargetError
    for bad options, FitError when the arena or the weights alone exceed the board's RAM or flash.
    startup=True adds the bare-metal start-up (crt0, crt_main.c, the board's linker script(s)) under
    ariel/ports/baremetal/; without it the library is for the user's own SDK start-up. Writing into
    a directory that holds an earlier library removes the files of that library the new one does not
    have (codegen/output_dir.py); files arielml did not write are never removed or overwritten.
    weights_in_sram="auto" (default) lets the compiler copy the most re-read weights from flash to
    SRAM at start-up on boards whose flash is slower (result.plan.weight_placement says which);
    "off" keeps every constant in flash. optimize and ram_budget: as plan_model."""
    plan = plan_model(model_or_graph, target, cores, scheduler, semantics, name, planner, alignment,
                      weights_in_sram=weights_in_sram, optimize=optimize, ram_budget=ram_budget)
    sources, weights_bytes = emit(plan, startup=startup)
    check_fit(plan, weights_bytes)
    files = tuple(sources)
    if out_dir is not None:
        write_library(sources, Path(out_dir))
        files += (MANIFEST,)
    return CompileResult(plan.arena_bytes, weights_bytes, files, plan, sources)


def _kb(size: int) -> str:
    return f"{size / 1024:.1f}".rstrip("0").rstrip(".")


def _fit_advice(board, cores: int, images: int, resource: str) -> str:
    """What can make a plan fit this board: only a plan that spans two core types (two images, each
    with its own copy of the weights) can shrink its flash by dropping a core type."""
    options = ["pick a board with more memory"]
    if images > 1 and resource == "flash":
        first = board.core(0)[0].name
        same = next((c for c in range(cores) if board.core(c)[0].name != first), cores)
        options.append(f"run on the {first} core(s) alone (--cores {same}: one image, one copy of the weights)")
    options.append("use a smaller (e.g. int8-quantised) model")
    return ", ".join(options[:-1]) + " or " + options[-1]


def check_fit(plan: Plan, weights_bytes: int) -> None:
    """Refuse a plan that cannot fit its board, from the plan alone: the arena and the runtime state
    live in SRAM, the weights in flash (once per firmware image: boards whose cores are of two types
    run two images, each with its own copy of the constants), and the weights copied to SRAM at
    start-up in SRAM too. These are lower bounds - code, stacks and the application come on top; the
    firmware build checks the exact sizes of the linked ELF."""
    board = get_board(plan.options.target)
    images = len({board.core(c)[0].name for c in range(plan.options.cores)})
    state = 12 + 4 * (len(plan.kernel_steps) + 1)  # ariel_shared + op_end[] (ariel_runtime.h)
    copies = plan.weight_placement.sram_bytes if plan.weight_placement is not None else 0
    ram = plan.arena_bytes + state + copies
    flash = weights_bytes * images
    per_image = f" x {images} images (one per core type)" if images > 1 else ""
    if ram > board.sram.size:
        raise FitError(f"the model does not fit {board.name}: needs {_kb(ram)} KB RAM (arena {_kb(plan.arena_bytes)} KB "
                       f"+ runtime state {state} bytes"
                       f"{f' + weights copied to SRAM {copies} bytes' if copies else ''}; stacks and code data "
                       f"come on top), board has "
                       f"{_kb(board.sram.size)} KB; {_fit_advice(board, plan.options.cores, images, 'ram')}")
    if flash > board.flash.size:
        raise FitError(f"the model does not fit {board.name}: needs {_kb(flash)} KB flash (weights "
                       f"{_kb(weights_bytes)} KB{per_image}; code comes on top), board has {_kb(board.flash.size)} KB; "
                       f"{_fit_advice(board, plan.options.cores, images, 'flash')}")
