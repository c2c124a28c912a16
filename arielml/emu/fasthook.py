"""Build (once, with the host gcc) and load the C hook library of cycle_hook.c, and register its hooks
with Unicorn through Unicorn's own C API. Python hooks are 10-20x slower than C ones; the block hook runs
for every block every core executes, so it has to be C."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

from unicorn import unicorn_const as UC
from unicorn.unicorn_py3.unicorn import uclib  # the library the pip package loaded (libunicorn.so)

from arielml.cache import absolute, build_dir, build_failure, install, intact
from arielml.errors import BuildError

_SOURCE = Path(__file__).with_name("cycle_hook.c")

CLASSIFY_FN = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint32)
CLASSIFY_FAILED = (1 << 64) - 1

FLAG_COND_BRANCH = 1
FLAG_SEV = 2
FLAG_WFE_END = 4
FLAG_WAIT_HINT = 8
FLAG_LAST32 = 16  # the block's last instruction is 32 bits long (RV32 with C)
FLAG_FIRST32 = 32
FLAG_BACKWARD = 64  # the block's final conditional branch jumps backwards (static prediction: taken)

PREDICTOR_NONE = 0
PREDICTOR_HAZARD3 = 1  # the last taken backward branch is predicted taken
PREDICTOR_M7 = 2  # 2-bit counters per branch address, backward-taken/forward-not for a first encounter

STOP_NONE = 0
STOP_QUANTUM = 1
STOP_CLASSIFY_ERROR = 2
STOP_WAIT = 3
STOP_EXTERNAL = 4  # set by Python before an MMIO callback stops the core


class CoreCtx(ctypes.Structure):
    """Mirror of `core_ctx` in cycle_hook.c (keep the two in the same order)."""

    _fields_ = [
        ("cycles", ctypes.c_uint64), ("insns", ctypes.c_uint64), ("blocks", ctypes.c_uint64),
        ("target", ctypes.c_uint64), ("flash_reads", ctypes.c_uint64), ("prev_end", ctypes.c_uint64),
        ("last_block", ctypes.c_uint64),
        ("last_size", ctypes.c_uint32), ("prev_flags", ctypes.c_uint32), ("prev_taken_extra", ctypes.c_uint32),
        ("flash_wait", ctypes.c_uint32), ("stop_reason", ctypes.c_uint32), ("core_index", ctypes.c_uint32),
        ("ticks_per_cycle", ctypes.c_uint64),
        ("uc", ctypes.c_void_p), ("emu_stop", ctypes.c_void_p), ("classify", ctypes.c_void_p),
        ("events", ctypes.c_void_p), ("table", ctypes.c_void_p), ("mask", ctypes.c_uint32), ("used", ctypes.c_uint32),
        ("predictor", ctypes.c_uint32), ("_pad", ctypes.c_uint32), ("predicted_pc", ctypes.c_uint64),
        ("cache", ctypes.c_void_p), ("cache_misses", ctypes.c_uint64), ("mispredicts", ctypes.c_uint64),
        ("misaligned_target", ctypes.c_uint32), ("data_touched", ctypes.c_uint32), ("dcache", ctypes.c_void_p),
    ]


class FlashCache(ctypes.Structure):
    """Mirror of `flash_cache` in cycle_hook.c (the fields Python reads)."""

    _fields_ = [
        ("base", ctypes.c_uint64), ("end", ctypes.c_uint64), ("line_shift", ctypes.c_uint32),
        ("set_mask", ctypes.c_uint32), ("miss_cycles", ctypes.c_uint32), ("_pad", ctypes.c_uint32),
        ("hits", ctypes.c_uint64), ("misses", ctypes.c_uint64),
    ]


class MachineEvents(ctypes.Structure):
    _fields_ = [("event", ctypes.c_uint32 * 16), ("ncores", ctypes.c_uint32), ("event_time", ctypes.c_uint64 * 16)]


_loaded: ctypes.CDLL | None = None  # one hook library per process, whichever cache it came from
_load_guard = threading.Lock()


def hook_library(cache_dir: Path | None = None) -> ctypes.CDLL:
    """The compiled hook library, rebuilt when cycle_hook.c changes (the file name carries its hash)
    or the cached file no longer matches the checksum recorded when it was built.
    Built into `cache_dir` (default: arielml.cache.cache_dir("emu")) by the first call of the process;
    later calls return the library already loaded, so a caller with an explicit cache directory (the
    emulator backend, `--cache-dir`) calls this before the Machine does."""
    global _loaded
    with _load_guard:
        if _loaded is None:
            _loaded = _load(cache_dir)
        return _loaded


def _load(cache_dir: Path | None) -> ctypes.CDLL:
    if cache_dir is None:
        from arielml.cache import cache_dir as user_cache_dir
        cache_dir = user_cache_dir("emu")
    digest = hashlib.sha256(_SOURCE.read_bytes()).hexdigest()[:16]
    out = absolute(cache_dir) / f"cycle_hook-{digest}.so"
    if not intact(out):  # missing, or damaged since it was built (a truncated library would SIGBUS)
        _build(out)
    lib = ctypes.CDLL(str(out))
    lib.ariel_core_new.restype = ctypes.POINTER(CoreCtx)
    lib.ariel_core_new.argtypes = [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_void_p, CLASSIFY_FN,
                                   ctypes.POINTER(MachineEvents), ctypes.c_uint32, ctypes.c_uint64]
    lib.ariel_core_free.argtypes = [ctypes.POINTER(CoreCtx)]
    lib.ariel_core_flush.argtypes = [ctypes.POINTER(CoreCtx)]
    lib.ariel_events_new.restype = ctypes.POINTER(MachineEvents)
    lib.ariel_events_new.argtypes = [ctypes.c_uint32]
    lib.ariel_events_free.argtypes = [ctypes.POINTER(MachineEvents)]
    lib.ariel_cache_new.restype = ctypes.POINTER(FlashCache)
    lib.ariel_cache_new.argtypes = [ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32]
    lib.ariel_cache_free.argtypes = [ctypes.POINTER(FlashCache)]
    lib.ariel_window_new.restype = ctypes.c_void_p
    lib.ariel_window_new.argtypes = [ctypes.POINTER(CoreCtx), ctypes.c_void_p, ctypes.c_uint64]
    lib.ariel_window_free.argtypes = [ctypes.c_void_p]
    return lib


def _build(out: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise BuildError("the emulator needs a host C compiler (gcc) to build its cycle-counting hook; "
                         "install gcc (e.g. apt-get install gcc)")
    with build_dir(out.parent) as work:
        built = work / out.name
        result = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(built), str(_SOURCE)],
                                capture_output=True, text=True, env={**os.environ, "TMPDIR": str(work)})
        if result.returncode != 0:
            raise BuildError(build_failure("building the emulator's hook library", result.stderr, out.parent))
        install(built, out)  # atomic, with its checksum: parallel builders may race to build it


def _address_of(function) -> int:
    return ctypes.cast(function, ctypes.c_void_p).value


def add_c_hooks(uc, ctx: ctypes.POINTER(CoreCtx), flash_range: tuple[int, int] | None) -> list[int]:
    """Register the block hook (all addresses) and, in exact mode, the flash data-read hook (only for the
    flash address range). Returns the hook handles."""
    lib = hook_library()
    handles = []
    hooks = [(UC.UC_HOOK_BLOCK, lib.ariel_block_hook, 1, 0)]
    if flash_range is not None:
        hooks.append((UC.UC_HOOK_MEM_READ, lib.ariel_flash_read_hook, flash_range[0], flash_range[1]))
    for kind, function, begin, end in hooks:
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(uc._uch, ctypes.byref(handle), kind, _address_of(function),
                                   ctypes.cast(ctx, ctypes.c_void_p), begin, end)
        if status != UC.UC_ERR_OK:
            raise BuildError(f"registering the emulator's C hook failed (unicorn error {status})")
        handles.append(handle.value)
    return handles


def map_flash_window(uc, window: int, address: int, size: int) -> None:
    """Map `size` bytes of flash at `address` (page-aligned) as MMIO whose reads are served, and charged,
    by cycle_hook.c's ariel_flash_mmio_read for `window` (from ariel_window_new). No write callback:
    Unicorn then maps the range without write permission, so a store faults as on RAM-mapped flash."""
    lib = hook_library()
    status = uclib.uc_mmio_map(uc._uch, ctypes.c_uint64(address), ctypes.c_uint64(size),
                               ctypes.c_void_p(_address_of(lib.ariel_flash_mmio_read)), ctypes.c_void_p(window),
                               None, None)
    if status != UC.UC_ERR_OK:
        raise BuildError(f"mapping flash at {address:#x} for the emulator's data-read model failed "
                         f"(unicorn error {status})")


def emu_stop_address() -> int:
    return _address_of(uclib.uc_emu_stop)
