"""TFLite Micro as the memory peer: the activation arena its interpreter needs for a model.

    from arielml.bench.tflm_peer import tflm_arena_head
    tflm_arena_head("vww_96_int8.tflite")          # -> 73728

TFLite Micro's `print_allocations()` reports "Arena allocation head N bytes": the non-persistent
part of its arena, where the tensors live (the part arielml's memory plan replaces). The numbers are
printed from C, so the interpreter runs in a subprocess whose output is parsed. Needs the
`tflite-micro` pip package (a test/bench dependency)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from arielml.errors import ArielError

_HEAD = re.compile(r"Arena allocation head (\d+) bytes")
_SCRIPT = """\
import sys
from tflite_micro.python.tflite_micro import runtime
for path in sys.argv[1:]:
    print('MODEL', flush=True)
    try:
        runtime.Interpreter.from_file(path).print_allocations()
    except Exception as error:  # reported per model, the others still run
        print('FAILED', str(error).replace(chr(10), ' '), flush=True)
    sys.stderr.flush()
    print('END', flush=True)
"""


class TflmPeerError(ArielError):
    """TFLite Micro could not allocate the model (e.g. dynamic shapes), or is not installed."""


def tflm_arena_heads(model_paths: list[str | Path], timeout: float = 600.0) -> dict[str, int | None]:
    """Arena head bytes per model path, None where TFLite Micro cannot allocate the model. One
    subprocess for all models (the interpreter import costs about a second)."""
    paths = [str(p) for p in model_paths]
    heads: dict[str, int | None] = {p: None for p in paths}
    for path in paths:
        if not Path(path).is_file():
            raise TflmPeerError(f"no model file at {path}")
    if not paths:
        return heads
    try:
        proc = subprocess.run([sys.executable, "-c", _SCRIPT, *paths], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TflmPeerError(f"TFLite Micro took longer than {timeout:.0f} s to allocate {len(paths)} model(s)") from None
    if proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr:
        raise TflmPeerError("the tflite-micro package is not installed (pip install tflite-micro)")
    # stdout says which models failed; stderr (from C) carries one head line per allocated model, in order
    verdicts = re.findall(r"MODEL\n(FAILED[^\n]*\n)?END", proc.stdout)
    if len(verdicts) != len(paths):
        raise TflmPeerError(f"TFLite Micro stopped early (exit status {proc.returncode}): "
                            f"{(proc.stdout + proc.stderr)[-500:]}")
    allocated = [p for p, failed in zip(paths, verdicts) if not failed]
    found = [int(h) for h in (_HEAD.findall(proc.stderr) or _HEAD.findall(proc.stdout))]
    if len(found) != len(allocated):
        raise TflmPeerError(f"expected {len(allocated)} 'Arena allocation head' lines from TFLite Micro, "
                            f"got {len(found)}")
    heads.update(zip(allocated, found))
    return heads


def tflm_arena_head(model_path: str | Path) -> int:
    """TFLite Micro's arena head in bytes for one model; TflmPeerError if it cannot allocate it."""
    head = tflm_arena_heads([model_path])[str(model_path)]
    if head is None:
        raise TflmPeerError(f"TFLite Micro cannot allocate {model_path} (dynamic shapes or unsupported operators)")
    return head
