"""`arielml inspect MODEL [--target BOARD [--cores N] [--weights-in-sram auto|off]] [--json]`: operators,
shapes, quantisation, MACs, parameters, peak memory; with --target also what the compiler would do on
that board with the memory: arena, and which weights it copies from flash to SRAM."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from arielml.commands._common import print_json, stdout_console
from arielml.commands.compile import weight_placement_lines, weights_in_sram_option


def target_memory(graph, target: str, cores: int, weights_in_sram: str) -> dict:
    """The plans' memory on a board (analysis only: operators without a C kernel are planned too,
    and then no weights are placed): for the latency plan (the default) its arena, RAM and
    Plan.weight_placement; for the memory plan (optimize="memory") its arena, RAM, MACs executed
    and what it changed."""
    from arielml.compile import plan_model, plan_ram
    plans = {optimize: plan_model(graph, target=target, cores=cores, kernels_required=False,
                                  weights_in_sram=weights_in_sram, optimize=optimize)
             for optimize in ("latency", "memory")}
    plan = plans["latency"]
    placement = plan.weight_placement
    return {"target": target, "cores": cores, "arena_bytes": plan.arena_bytes,
            "weights_in_sram": None if placement is None else placement.to_json(),
            "plans": {name: {"arena_bytes": p.arena_bytes, "ram_bytes": plan_ram(p), "macs_executed": p.macs_executed,
                             "steps": len(p.kernel_steps), "estimated_ms": 1e3 * p.estimated_seconds,
                             "changes": [n for n in p.notes if "bands of rows" in n]}
                      for name, p in plans.items()}}


def inspect_command(
    model: Path = typer.Argument(..., help="The .tflite or .onnx model file."),
    target: Optional[str] = typer.Option(None, "--target",
                                         help="Also plan for this board: arena, and which weights go to SRAM."),
    cores: int = typer.Option(1, "--cores", help="Cores of the plan (with --target)."),
    weights_in_sram: str = weights_in_sram_option(),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Operators, shapes, quantisation, MACs, parameters and peak memory of a model."""
    import arielml.ops  # noqa: F401  (fills the operator registry)
    from arielml.commands.compile import check_compile_options
    from arielml.api import load_graph
    from arielml.inspect import render, summarize

    if target is not None:
        check_compile_options(target, cores, "static", "model", weights_in_sram)
    graph = load_graph(model)
    summary = summarize(graph)
    memory = target_memory(graph, target, cores, weights_in_sram) if target is not None else None
    if as_json:
        print_json({**summary.to_json(), **({"plan": memory} if memory is not None else {})})
        return
    console = stdout_console()
    console.print(render(summary))
    if memory is not None:
        from rich.markup import escape
        console.print(f"on {memory['target']} ({memory['cores']} core(s)): arena {memory['arena_bytes']:,} bytes")
        for line in weight_placement_lines(memory["weights_in_sram"]):
            console.print(escape(line))
        for name, p in memory["plans"].items():
            ram = f", RAM {p['ram_bytes']:,} bytes (stacks, state, weight copies)" if p["ram_bytes"] is not None else ""
            console.print(f"--optimize {name}: arena {p['arena_bytes']:,} bytes{ram}, {p['macs_executed']:,} MACs "
                          f"executed, {p['steps']} steps, ~{p['estimated_ms']:.1f} ms estimated")
            for change in p["changes"]:
                console.print(escape(f"  {change}"))


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
