"""Native backend: build the generated C with the host compiler, load it, run it on N threads.

    lib = build_native(compile_model(model, cores=2))      # cached by content hash
    result = lib.run(inputs)                                # NativeResult(outputs, per_op, arena_bytes)

Every translation unit is compiled to an object cached by the hash of its text, the runtime headers
and the flags, so the weights and the runtime are compiled once per model however many core counts
and schedulers are tried; the shared library is cached by the hash of its objects. Both are installed
atomically with a checksum and checked before use, so a damaged cache entry is rebuilt, never loaded;
builds run in a scratch directory inside the cache.

Threads: the library's buffers belong to the loaded copy, one per process and path, so runs of one
library from several Python threads take turns (the C runtime serialises calls too)."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arielml.cache import absolute, build_dir, build_failure, install, intact
from arielml.codegen.emit import TEMPLATES, posix_files
from arielml.compile import CompileResult, compile_model
from arielml.errors import BuildError, InputError, TargetError

CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-pthread")
SANITIZERS = {"address": ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"),
              "thread": ("-fsanitize=thread", "-g")}
INCLUDES = ("ariel/include", "ariel/ports/posix", ".")


MAX_THREADS = 64  # ARIEL_POSIX_MAX_THREADS in runtime/ports/posix/ariel_posix.h: a limit of the port, not of the host


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask: what a container or taskset allows), which
    can be fewer than os.cpu_count(), the CPUs the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_threads(cores: int) -> None:
    """The native backend runs 1..MAX_THREADS threads, however many CPUs there are: more threads than
    CPUs is allowed (the cores' work is independent of the interleaving, so the outputs are the same
    bytes; the threads take turns, so the times show no speed-up), which is how runs on many cores
    are tested on a small machine."""
    if not 1 <= cores <= MAX_THREADS:
        raise TargetError(f"the native backend runs 1 to {MAX_THREADS} threads (its POSIX port's limit; this "
                          f"machine lets this process use {available_cpus()} CPU(s), and more threads than "
                          f"CPUs are allowed); asked for {cores}")


def threads_note(cores: int) -> str | None:
    """A note for the user when `cores` threads share fewer CPUs, else None."""
    cpus = available_cpus()
    if cores <= cpus:
        return None
    return (f"{cores} threads share {cpus} CPU(s) of this machine: the outputs are exact, but the threads "
            f"take turns, so the times do not show a {cores}-core speed-up")


def default_cache_dir() -> Path:
    """The user's native build cache (arielml.cache: XDG / ~/.cache, or a private temporary fallback)."""
    from arielml.cache import cache_dir
    return cache_dir("native")


@dataclass(frozen=True)
class OpTime:
    op: str
    index: int  # operator index in the source model
    seconds: float


@dataclass(frozen=True)
class NativeResult:
    outputs: list[np.ndarray]
    per_op: tuple[OpTime, ...]
    arena_bytes: int
    seconds: float  # whole inference (start barrier to last op)

    def summary(self) -> dict:
        return {"arena_bytes": self.arena_bytes, "seconds": self.seconds,
                "per_op": [{"op": t.op, "index": t.index, "seconds": t.seconds} for t in self.per_op]}


def _compiler() -> str:
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise BuildError("no host C compiler found; install gcc (apt install gcc) to use the native backend")
    return cc


def _hash(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:24]


def _run(cmd: list[str], work: Path, cache: Path, what: str) -> None:
    # the compiler's own temporary files go into the build directory too, so a killed build leaves
    # nothing in the system's temporary directory
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, env={**os.environ, "TMPDIR": str(work)})
    if proc.returncode:
        raise BuildError(build_failure(f"host build ({what})", proc.stderr + proc.stdout, cache))


_build_locks: dict[Path, threading.Lock] = {}
_build_locks_guard = threading.Lock()


def _build_lock(target: Path) -> threading.Lock:
    """One lock per cache entry: threads of this process that need the same library build it once
    (other processes are kept apart by the atomic installs)."""
    with _build_locks_guard:
        return _build_locks.setdefault(target, threading.Lock())


def build(sources: dict[str, str], cache_dir: Path | None = None, sanitize: str | None = None,
          executable_main: str | None = None) -> Path:
    """Compile `sources` (relative path -> text, as emitted) into a shared library, or into an
    executable when `executable_main` (the text of a main .c) is given. Returns the cached path.

    Cached objects and libraries are used only when they match the checksum recorded when they were
    installed (arielml.cache.intact); damaged or missing ones are rebuilt."""
    cache = absolute(cache_dir) if cache_dir is not None else default_cache_dir()
    flags = CFLAGS + SANITIZERS.get(sanitize, ())
    if executable_main is not None:
        sources = {**sources, "harness_main.c": executable_main}
    headers = "".join(f"{k}\n{v}" for k, v in sorted(sources.items()) if k.endswith(".h"))
    cc = _compiler()
    objects = {unit: cache / "obj" / f"{_hash(cc, ' '.join(flags), headers, unit, sources[unit])}.o"
               for unit in sorted(k for k in sources if k.endswith(".c"))}
    kind = "exe" if executable_main is not None else "so"
    target = cache / kind / f"{_hash(' '.join(flags), *(o.name for o in objects.values()))}.{kind}"
    with _build_lock(target):
        if intact(target):
            return target
        with build_dir(cache) as work:
            for rel, text in sources.items():
                (work / rel).parent.mkdir(parents=True, exist_ok=True)
                (work / rel).write_text(text)
            for unit, obj in objects.items():
                if not intact(obj):
                    out = work / (unit.replace("/", "_") + ".o")
                    _run([cc, *flags, *(f"-I{i}" for i in INCLUDES), "-c", unit, "-o", str(out)], work, cache,
                         f"compiling {unit}")
                    install(out, obj)
            out = work / f"linked.{kind}"
            link = [] if executable_main is not None else ["-shared"]
            _run([cc, *flags, *link, *map(str, objects.values()), "-o", str(out), "-lm"], work, cache, "linking")
            install(out, target, mode=0o755)
    return target


class _Loaded:
    """One library as loaded into this process. dlopen gives every load of one path the same copy,
    with one set of input/output buffers and one thread pool, so every NativeLibrary of that path
    shares this object: its lock makes "write inputs, run, read outputs" one step for concurrent
    Python threads, and the pool is stopped when the last user is gone."""

    def __init__(self, path: Path, prefix: str) -> None:
        self.lib = ctypes.CDLL(str(path))
        self.lock = threading.Lock()
        self.fn = {n: getattr(self.lib, f"{prefix}_{n}") for n in
                   ("run", "input", "input_bytes", "output", "output_bytes", "op_end_times", "shutdown", "reset",
                    "state", "state_bytes")}
        for n in ("shutdown", "reset"):
            self.fn[n].restype = None
            self.fn[n].argtypes = []
        self.fn["state"].restype = ctypes.c_void_p
        self.fn["state"].argtypes = []
        self.fn["state_bytes"].restype = ctypes.c_uint32
        self.fn["state_bytes"].argtypes = []
        for n in ("input", "output"):
            self.fn[n].restype = ctypes.c_void_p
            self.fn[n].argtypes = [ctypes.c_uint]
            self.fn[f"{n}_bytes"].restype = ctypes.c_uint32
            self.fn[f"{n}_bytes"].argtypes = [ctypes.c_uint]
        self.fn["run"].argtypes = [ctypes.c_uint]
        self.fn["op_end_times"].restype = ctypes.POINTER(ctypes.c_uint32)
        weakref.finalize(self, self.fn["shutdown"])


_loaded: "weakref.WeakValueDictionary[Path, _Loaded]" = weakref.WeakValueDictionary()
_loaded_guard = threading.Lock()


def _load(path: Path, prefix: str) -> _Loaded:
    with _loaded_guard:
        loaded = _loaded.get(path)
        if loaded is None:
            loaded = _loaded[path] = _Loaded(path, prefix)
        return loaded


class NativeLibrary:
    """A compiled model loaded into this process. Its cores are a pool of threads that the first
    run starts and later runs reuse; `close()` (or garbage collection) joins them, and a later run
    starts them again."""

    def __init__(self, result: CompileResult, path: Path) -> None:
        self.result = result
        self.path = path
        self._loaded = _load(path, result.plan.options.name)
        self.lib = self._loaded.lib
        self._fn = self._loaded.fn

    def close(self) -> None:
        """Join the library's worker threads now (they restart on the next run)."""
        with self._loaded.lock:
            self._fn["shutdown"]()

    def __enter__(self) -> "NativeLibrary":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, inputs: list[np.ndarray], state: bytearray | None = None) -> NativeResult:
        """One inference. `state`: the model's state bytes to continue from, updated in place with
        the state the inference leaves (a session's); None: a fresh state (a stateless call). The
        library's own state block is shared by every user of this process, so each run sets it."""
        with self._loaded.lock:  # the buffers are the library's, shared by every thread of this process
            size = self._fn["state_bytes"]()
            if state is None or not size:
                self._fn["reset"]()
                return self._run(inputs)
            if len(state) != size:
                raise InputError(f"the model's state has {size} bytes, {len(state)} were given")
            block = self._fn["state"]()
            ctypes.memmove(block, (ctypes.c_char * size).from_buffer(state), size)
            result = self._run(inputs)
            state[:] = ctypes.string_at(block, size)
            return result

    @property
    def state_bytes(self) -> int:
        return int(self._fn["state_bytes"]())

    def initial_state(self) -> bytearray:
        """The state bytes of a fresh session (the library's reset value)."""
        with self._loaded.lock:
            self._fn["reset"]()
            size = self._fn["state_bytes"]()
            return bytearray(ctypes.string_at(self._fn["state"](), size)) if size else bytearray()

    def _run(self, inputs: list[np.ndarray]) -> NativeResult:
        plan = self.result.plan
        graph = plan.graph
        if len(inputs) != len(graph.inputs):
            raise InputError(f"the model takes {len(graph.inputs)} input(s), {len(inputs)} were given")
        for i, (array, t) in enumerate(zip(inputs, graph.inputs)):
            array = np.ascontiguousarray(array, dtype=graph.tensors[t].np_dtype)
            size = self._fn["input_bytes"](i)
            if array.nbytes != size:
                raise InputError(f"input {i} must have {size} bytes, got {array.nbytes}")
            ctypes.memmove(self._fn["input"](i), array.ctypes.data, size)
        if self._fn["run"](plan.options.cores) != 0:
            raise BuildError(f"the native library refused to run on {plan.options.cores} threads")
        outputs = []
        for i, t in enumerate(graph.outputs):
            tensor = graph.tensors[t]
            raw = ctypes.string_at(self._fn["output"](i), self._fn["output_bytes"](i))
            outputs.append(np.frombuffer(raw, dtype=tensor.np_dtype).reshape(tensor.shape).copy())
        steps = plan.kernel_steps
        stamps = self._fn["op_end_times"]()
        ends = [stamps[k] for k in range(len(steps) + 1)]
        # op k = from the moment every core may start it (the previous op's last core done) to the
        # moment its own last core is done (docs/runtime.md, "Per-op times")
        per_op = tuple(OpTime(s.op, graph.nodes[s.node].index, ((ends[k + 1] - ends[k]) % (1 << 32)) * 1e-9)
                       for k, s in enumerate(steps))
        return NativeResult(outputs, per_op, plan.arena_bytes, ((ends[-1] - ends[0]) % (1 << 32)) * 1e-9)


def build_native(result: CompileResult, cache_dir: Path | None = None) -> NativeLibrary:
    check_threads(result.plan.options.cores)
    return NativeLibrary(result, build(_host_sources(result), cache_dir))


def _host_sources(result: CompileResult) -> dict[str, str]:
    """The generated sources plus the posix port (plans made with another target's cost model
    still run here, on threads). A board's bare-metal port and start-up, which a library compiled
    for that board carries, are left out: they are for the board, not this host; so are its core
    types' ISA-specific kernels (the host compiles the portable ones)."""
    from arielml.codegen.library import image_sources
    from arielml.targets.boards import HOST
    portable = {rel: text for rel, text in result.sources.items() if not rel.startswith("ariel/ports/")}
    units = set(image_sources([rel for rel in portable if rel.endswith(".c")], HOST))
    portable = {rel: text for rel, text in portable.items() if not rel.endswith(".c") or rel in units}
    return {**portable, **posix_files(result.plan)}


def harness_source(name: str) -> str:
    return (TEMPLATES / "harness_main.c").read_text().format(name=name, NAME=name.upper())


def build_harness(result: CompileResult, cache_dir: Path | None = None, sanitize: str | None = None) -> Path:
    """An executable `harness THREADS REPEAT < inputs > outputs` (for sanitizer runs)."""
    name = result.plan.options.name
    return build(_host_sources(result), cache_dir, sanitize, executable_main=harness_source(name))


def run_native(model_or_graph, inputs: list[np.ndarray], cores: int = 1, scheduler: str = "static",
               target: str = "host", semantics: str = "litert", cache_dir: Path | None = None) -> NativeResult:
    """Compile, build (cached) and run. `target` only chooses the cost model of the plan; the code
    runs on this machine's threads."""
    result = compile_model(model_or_graph, target=target, cores=cores, scheduler=scheduler, semantics=semantics)
    return build_native(result, cache_dir).run(inputs)
