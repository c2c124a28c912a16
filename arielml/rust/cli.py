"""The command-line halves of the Rust support: `arielml compile --lang rust` and the `--firmware`
option of run/profile/bench (kept here so the commands themselves change by a few lines)."""
from __future__ import annotations

from pathlib import Path

from arielml.errors import TargetError

LANGS = ("c", "rust")
FIRMWARES = ("c", "rust")


def check_firmware(firmware: str, backend: str = "emulator") -> str:
    if firmware not in FIRMWARES:
        raise TargetError(f"unknown --firmware '{firmware}'; choose one of: {', '.join(FIRMWARES)} (the language "
                          f"of the emulated firmware's main)")
    if firmware == "rust" and backend != "emulator":
        raise TargetError(f"--firmware rust is a firmware for the emulated boards: add --backend emulator --target "
                          f"BOARD (--backend {backend} runs on this machine, with no firmware; the host-side Rust "
                          f"check is the crate's `cargo test` from `arielml compile --lang rust`)")
    return firmware


def compile_rust_crate(lang: str, model_path: Path, target: str, cores: int, scheduler: str, semantics: str,
                       output_dir: Path, name: str, weights_in_sram: str, optimize: str, ram_budget: int | None,
                       as_json: bool, with_startup: bool) -> None:
    from arielml.commands._common import print_json, stdout_console
    from arielml.rust.crate import write_crate
    from arielml.rust.toolchain import RUST_TARGETS
    from arielml.targets import get_board

    if lang not in LANGS:
        raise TargetError(f"unknown --lang '{lang}'; choose one of: {', '.join(LANGS)}")
    result = write_crate(model_path, target, cores, output_dir, name=name, scheduler=scheduler, semantics=semantics,
                         weights_in_sram=weights_in_sram, optimize=optimize, ram_budget=ram_budget,
                         startup=with_startup)
    board = get_board(target)
    rust_targets = sorted({RUST_TARGETS[board.core(c)[0].name] for c in range(cores)
                           if board.core(c)[0].name in RUST_TARGETS})
    summary = {"model": str(model_path), "output_dir": str(output_dir), "lang": "rust", "crate": result.crate_name,
               "rust_targets": rust_targets, "reset": result.reset, "semantics": semantics,
               **result.compiled.summary(), "files": list(result.files)}
    if as_json:
        print_json(summary)
        return
    from rich.markup import escape
    console = stdout_console()
    console.print(f"wrote the Rust crate {escape(result.crate_name)} ({len(result.files)} files) to "
                  f"[bold]{escape(str(output_dir))}[/bold] (target {target}, {cores} core(s), Rust target(s) "
                  f"{', '.join(rust_targets) or 'host'})")
    console.print(f"arena {summary['arena_bytes']} bytes, weights {summary['weights_bytes']} bytes; "
                  f"test on this host: cd {escape(str(output_dir))} && cargo test --offline")
    console.print(escape(f"see {Path(output_dir) / 'README.md'} for the API, a two-core main, Embassy, Ariel OS and RTIC"))
