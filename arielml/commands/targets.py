"""`arielml targets [--json]`: the boards arielml compiles for (arielml/targets/boards.py), with their
cores (type, clock), ISAs, flash, RAM and whether the emulator runs them."""
from __future__ import annotations

import typer

from arielml.commands._common import print_json, stdout_console


def _size(n: int) -> str:
    for factor, unit in ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:g} {unit}"
    return f"{n} B"


def _clock(hz: int) -> str:
    return f"{hz / 1e9:g} GHz" if hz >= 1_000_000_000 else f"{hz / 1e6:g} MHz"


def describe_cores(board) -> str:
    """'2x cortex-m0plus @ 125 MHz', 'cortex-m7 @ 480 MHz + cortex-m4f @ 240 MHz', 'up to 8x ...'."""
    groups: list[list] = []  # runs of identical (core type, clock), in core order
    for core_type, hz in board.cores:
        if groups and groups[-1][0] == (core_type.name, hz):
            groups[-1][1] += 1
        else:
            groups.append([(core_type.name, hz), 1])
    if board.max_cores and board.max_cores > len(board.cores) and len(groups) == 1:
        (kind, hz), _ = groups[0]
        return f"up to {board.max_cores}x {kind} @ {_clock(hz)}"
    return " + ".join(f"{count}x {kind} @ {_clock(hz)}" if count > 1 else f"{kind} @ {_clock(hz)}"
                      for (kind, hz), count in groups)


def board_json(board) -> dict:
    return {
        "name": board.name, "description": board.description, "max_cores": board.core_count,
        "cores": [{"type": t.name, "isa": t.isa, "clock_hz": hz} for t, hz in board.cores],
        "isa": sorted({t.isa for t, _ in board.cores}),
        "flash_bytes": board.flash.size, "ram_bytes": board.sram.size, "emulated": board.emulated,
    }


def targets_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
) -> None:
    """List the boards arielml compiles for: cores, clocks, ISA, flash, RAM, emulated or not."""
    from rich.table import Table

    from arielml.targets import BOARDS

    if as_json:
        print_json({"targets": [board_json(b) for b in BOARDS.values()]})
        return
    table = Table(title="targets (--target NAME)")
    for column, justify in (("name", "left"), ("cores", "left"), ("ISA", "left"), ("flash", "right"),
                            ("RAM", "right"), ("emulated", "center")):
        table.add_column(column, justify=justify, no_wrap=column in ("name", "flash", "RAM"))
    for b in BOARDS.values():
        isas = " + ".join(dict.fromkeys(t.isa for t, _ in b.cores))
        table.add_row(b.name, describe_cores(b), isas, _size(b.flash.size), _size(b.sram.size),
                      "yes" if b.emulated else "no")
    stdout_console().print(table)


def register(app: typer.Typer) -> None:
    app.command("targets")(targets_command)
