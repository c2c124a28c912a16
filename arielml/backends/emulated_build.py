"""The emulator backend's build, with the compile option `weights_in_sram` that
`arielml.backends.emulator.build_emulated` does not take (yet): the same steps - compile for the
board, add the harness, cross-build by content hash - from a compile_model made with the option.

    firmware = build_emulated_placed(model, "rp2040", cores=2, weights_in_sram="off")

Meant to fold into build_emulated as one keyword argument passed on to compile_model; it lives
apart only because that module has another owner in this round of work."""
from __future__ import annotations

import fcntl
import hashlib
from pathlib import Path

from arielml.backends.emulator import (HARNESS_FILE, STACK_BYTES, EmulatedFirmware, _model_of, default_cache_dir,
                                       emulated_board, harness_source)
from arielml.cache import absolute
from arielml.codegen.emit import write
from arielml.compile import CompileResult, compile_model
from arielml.emu import build_firmware, fasthook


def build_compiled(compiled: CompileResult, model, cache_dir: str | Path | None = None) -> EmulatedFirmware:
    """Cross-build a compiled library with the harness for its (emulated) board: build_emulated's
    steps after compile_model, unchanged."""
    board = emulated_board(compiled.plan.options.target)
    cache = absolute(cache_dir) if cache_dir is not None else default_cache_dir()
    fasthook.hook_library(cache / "hook" if cache_dir is not None else None)
    files = {rel: text for rel, text in compiled.sources.items() if not rel.startswith("ariel/ports/")}
    files[HARNESS_FILE] = harness_source(compiled)
    digest = hashlib.sha256()
    for rel, text in sorted(files.items()):
        digest.update(f"{rel}\0{text}\0".encode())
    source_dir = cache / "src" / digest.hexdigest()[:20]
    source_dir.mkdir(parents=True, exist_ok=True)
    with open(source_dir.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write(files, source_dir)
        units = sorted(source_dir / rel for rel in files if rel.endswith(".c"))
        firmware = build_firmware(board, units, include_dirs=[source_dir / "ariel" / "include", source_dir],
                                  out_dir=cache / "firmware", cores=compiled.plan.options.cores,
                                  stack_bytes=STACK_BYTES)
    return EmulatedFirmware(compiled, board, firmware, model)


def build_emulated_placed(model_or_graph, target: str, cores: int, scheduler: str = "static",
                          semantics: str = "litert", cache_dir: str | Path | None = None,
                          weights_in_sram: str = "auto") -> EmulatedFirmware:
    """build_emulated, with the weights placed as `weights_in_sram` says ("auto" or "off")."""
    board = emulated_board(target)
    model = _model_of(model_or_graph)
    compiled = compile_model(model.graph, target=board.name, cores=cores, scheduler=scheduler, semantics=semantics,
                             weights_in_sram=weights_in_sram)
    return build_compiled(compiled, model, cache_dir)
