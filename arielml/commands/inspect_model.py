"""`arielml inspect MODEL [--json]`: operators, shapes, quantisation, MACs, parameters, peak memory."""
from __future__ import annotations

from pathlib import Path

import typer

from arielml.commands._common import print_json, stdout_console


def inspect_command(
    model: Path = typer.Argument(..., help="The .tflite model file."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Operators, shapes, quantisation, MACs, parameters and peak memory of a model."""
    import arielml.ops  # noqa: F401  (fills the operator registry)
    from arielml.frontend.tflite import load_tflite
    from arielml.inspect import render, summarize

    summary = summarize(load_tflite(model))
    if as_json:
        print_json(summary.to_json())
    else:
        stdout_console().print(render(summary))


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect_command)
