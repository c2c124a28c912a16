"""Native backend: build the generated C with the host compiler, load it, run it on N threads.

    lib = build_native(compile_model(model, cores=2))      # cached by content hash
    result = lib.run(inputs)                                # NativeResult(outputs, per_op, arena_bytes)

Every translation unit is compiled to an object cached by the hash of its text, the runtime headers
and the flags, so the weights and the runtime are compiled once per model however many core counts
and schedulers are tried; the shared library is cached by the hash of its objects."""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from arielml.codegen.emit import TEMPLATES, posix_files
from arielml.compile import CompileResult, compile_model
from arielml.errors import BuildError, InputError

CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fPIC", "-pthread")
SANITIZERS = {"address": ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g"),
              "thread": ("-fsanitize=thread", "-g")}
INCLUDES = ("ariel/include", "ariel/ports/posix", ".")


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


def _atomic_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _run(cmd: list[str], cwd: Path) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode:
        raise BuildError(f"host build failed: {' '.join(cmd)}\n{proc.stderr[-4000:]}")


def build(sources: dict[str, str], cache_dir: Path | None = None, sanitize: str | None = None,
          executable_main: str | None = None) -> Path:
    """Compile `sources` (relative path -> text, as emitted) into a shared library, or into an
    executable when `executable_main` (the text of a main .c) is given. Returns the cached path."""
    cache = Path(cache_dir or default_cache_dir())
    flags = CFLAGS + SANITIZERS.get(sanitize, ())
    if executable_main is not None:
        sources = {**sources, "harness_main.c": executable_main}
    headers = "".join(f"{k}\n{v}" for k, v in sorted(sources.items()) if k.endswith(".h"))
    units = sorted(k for k in sources if k.endswith(".c"))
    cc = _compiler()
    objects = []
    with tempfile.TemporaryDirectory(prefix="arielml-build-") as tmp:
        work = Path(tmp)
        for rel, text in sources.items():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            (work / rel).write_text(text)
        for unit in units:
            obj = cache / "obj" / f"{_hash(cc, ' '.join(flags), headers, unit, sources[unit])}.o"
            if not obj.exists():
                out = work / (unit.replace("/", "_") + ".o")
                _run([cc, *flags, *(f"-I{i}" for i in INCLUDES), "-c", unit, "-o", str(out)], work)
                _atomic_copy(out, obj)
            objects.append(obj)
        kind = "exe" if executable_main is not None else "so"
        target = cache / kind / f"{_hash(' '.join(flags), *(o.name for o in objects))}.{kind}"
        if not target.exists():
            out = work / f"linked.{kind}"
            link = [] if executable_main is not None else ["-shared"]
            _run([cc, *flags, *link, *map(str, objects), "-o", str(out), "-lm"], work)
            _atomic_copy(out, target)
            target.chmod(0o755)
    return target


class NativeLibrary:
    """A compiled model loaded into this process. Its cores are a pool of threads that the first
    run starts and later runs reuse; `close()` (or garbage collection) joins them, and a later run
    starts them again."""

    def __init__(self, result: CompileResult, path: Path) -> None:
        self.result = result
        self.path = path
        self.lib = ctypes.CDLL(str(path))
        p = result.plan.options.name
        self._fn = {n: getattr(self.lib, f"{p}_{n}") for n in
                    ("run", "input", "input_bytes", "output", "output_bytes", "op_end_times", "shutdown")}
        self._fn["shutdown"].restype = None
        self._fn["shutdown"].argtypes = []
        # a library loaded twice (same cached path) is one copy with one pool: stopping it early
        # only costs the other user a restart of its threads on its next run
        self._finalizer = weakref.finalize(self, self._fn["shutdown"])
        for n in ("input", "output"):
            self._fn[n].restype = ctypes.c_void_p
            self._fn[n].argtypes = [ctypes.c_uint]
            self._fn[f"{n}_bytes"].restype = ctypes.c_uint32
            self._fn[f"{n}_bytes"].argtypes = [ctypes.c_uint]
        self._fn["run"].argtypes = [ctypes.c_uint]
        self._fn["op_end_times"].restype = ctypes.POINTER(ctypes.c_uint32)

    def close(self) -> None:
        """Join the library's worker threads now (they restart on the next run)."""
        self._fn["shutdown"]()

    def __enter__(self) -> "NativeLibrary":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run(self, inputs: list[np.ndarray]) -> NativeResult:
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
    return NativeLibrary(result, build(_host_sources(result), cache_dir))


def _host_sources(result: CompileResult) -> dict[str, str]:
    """The generated sources plus the posix port (plans made with another target's cost model
    still run here, on threads). A board's bare-metal port and start-up, which a library compiled
    for that board carries, are left out: they are for the board, not this host."""
    portable = {rel: text for rel, text in result.sources.items() if not rel.startswith("ariel/ports/")}
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
