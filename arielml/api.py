"""Python API: `arielml.load(path) -> Model`, `Model.run(inputs)`, `Model.summary()`."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from arielml.errors import InputError, ModelFormatError, TargetError
from arielml.frontend.tflite import MAX_MODEL_BYTES, load_tflite, parse_tflite
from arielml.ir import Graph
from arielml.ir.verify import verify
from arielml.ops.registry import SEMANTICS, resolve_semantics

if TYPE_CHECKING:
    from arielml.session import Session

BACKENDS = ("reference", "native", "emulator")


def load(source) -> "Model":
    """Read a model into a verified graph: `source` is a path (str or os.PathLike), the model's bytes
    (bytes, bytearray, memoryview) or a binary file object open for reading. Raises ArielError
    subclasses on bad files and on anything else given as `source`."""
    if isinstance(source, (str, os.PathLike)):
        return Model(graph=verify(load_graph(source)), path=Path(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Model(graph=verify(_parse(_contiguous(source), "model")))
    if callable(getattr(source, "read", None)):
        return Model(graph=verify(_parse(_read_file_object(source), _stream_name(source))))
    raise ModelFormatError(f"arielml.load() takes a path, the model's bytes or a binary file object, got "
                           f"{type(source).__name__}")


def load_graph(path) -> Graph:
    """A model file as a Graph: TFLite by its 'TFL3' identifier, else ONNX by its suffix or its first
    bytes (a protobuf), else TFLite (whose loader says what is wrong with the file)."""
    from arielml.frontend.onnx import load_onnx, looks_like_onnx
    head = b""
    if os.path.isfile(path):  # never open anything else to sniff it: opening a FIFO waits for a writer
        try:
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError:
            pass
    if head[4:8] != b"TFL3" and (Path(path).suffix.lower() == ".onnx" or looks_like_onnx(head)):
        return load_onnx(path)
    return load_tflite(path)


def _parse(data, name: str) -> Graph:
    from arielml.frontend.onnx import looks_like_onnx, parse_onnx
    return parse_onnx(data, name=name) if looks_like_onnx(bytes(data[:8])) else parse_tflite(data, name=name)


def _contiguous(data) -> bytes | bytearray | memoryview:
    if isinstance(data, memoryview) and not data.c_contiguous:
        return data.tobytes()
    return data.cast("B") if isinstance(data, memoryview) else data


def _read_file_object(stream) -> bytes:
    """Read a file object, at most the model size limit (one byte more tells that it is larger)."""
    try:
        data = stream.read(MAX_MODEL_BYTES + 1)
    except (OSError, ValueError) as e:  # closed file, unreadable stream
        raise ModelFormatError(f"cannot read the model from {_stream_name(stream)}: {e}") from None
    if isinstance(data, str):
        raise ModelFormatError("arielml.load() got a text file object; open the model file in binary mode "
                               "(open(path, 'rb'))")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ModelFormatError(f"arielml.load(): the file object's read() gave {type(data).__name__}, not bytes")
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFormatError(f"the model from {_stream_name(stream)} is over {MAX_MODEL_BYTES:,} bytes "
                               "(2 GiB, the flatbuffer limit); is this the right file?")
    return data


def _stream_name(stream) -> str:
    name = getattr(stream, "name", None)
    return Path(name).stem if isinstance(name, str) and name else "model"


@dataclass
class Model:
    graph: Graph
    path: Path | None = None
    _prepared: dict[str, list] = field(default_factory=dict, repr=False)
    _native: dict[tuple, object] = field(default_factory=dict, repr=False)  # built native libraries
    _emulated: dict[tuple, object] = field(default_factory=dict, repr=False)  # built firmware (emulator)

    @property
    def input_specs(self) -> list[tuple[tuple[int, ...], np.dtype]]:
        return [(self.graph.tensors[t].shape, self.graph.tensors[t].np_dtype) for t in self.graph.inputs]

    def check_inputs(self, inputs) -> list[np.ndarray]:
        if isinstance(inputs, np.ndarray):
            inputs = [inputs]
        inputs = list(inputs)
        if len(inputs) != len(self.graph.inputs):
            raise InputError(f"the model takes {len(self.graph.inputs)} input(s), {len(inputs)} were given")
        checked = []
        for i, (array, (shape, dtype)) in enumerate(zip(inputs, self.input_specs)):
            array = np.asarray(array)
            if array.dtype != dtype:
                raise InputError(f"input {i} must be {dtype}, got {array.dtype}; convert it (quantise float data "
                                 "with the input's scale and zero point)")
            if tuple(array.shape) != tuple(shape):
                if array.size == int(np.prod(shape)) and array.shape == tuple(d for d in shape if d != 1):
                    array = array.reshape(shape)  # the batch dimension of one may be left out
                else:
                    raise InputError(f"input {i} must have shape {tuple(shape)}, got {tuple(array.shape)}")
            checked.append(np.require(array, requirements="C"))  # keeps 0-d inputs 0-d
        return checked

    def random_inputs(self, seed: int = 0) -> list[np.ndarray]:
        """Inputs drawn uniformly over each input type's range (floats in [-1, 1))."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise InputError(f"random_inputs takes a seed that is an integer >= 0 (numpy's random generators "
                             f"accept non-negative integers), got {seed!r}")
        rng = np.random.default_rng(seed)
        result = []
        for shape, dtype in self.input_specs:
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                result.append(rng.integers(info.min, int(info.max) + 1, size=shape, dtype=dtype))
            elif dtype == np.bool_:
                result.append(rng.integers(0, 2, size=shape).astype(np.bool_))
            else:
                result.append(rng.uniform(-1.0, 1.0, size=shape).astype(dtype))
        return result

    def run(self, inputs, backend: str = "reference", semantics: str = "litert", cores: int = 1,
            scheduler: str = "static", target: str | None = None, optimize: str = "latency",
            ram_budget: int | None = None, firmware: str = "c") -> list[np.ndarray]:
        """Run on `backend`; `semantics` picks whose arithmetic to match bit for bit: "litert"
        (TFLite's reference kernels, the default), "tflm" (TFLite Micro) or "onnxruntime" (ONNX models:
        onnxruntime's CPU provider, docs/semantics.md). `cores` and
        `scheduler` ("static" or "dynamic") apply to the native backend (threads) and the emulator;
        `target` is the board the emulator runs (required there) or the native plan's cost model.
        The reference backend evaluates the graph in numpy, one operator after the other: it has no
        cores, scheduler or board, so asking for them there is refused rather than ignored (results
        would be the same, but a caller asking for them meant another backend). `optimize`
        ("latency" or "memory") and `ram_budget` (bytes) pick the plan of the native and emulator
        backends (arielml.compile.plan_model); the reference runs the model layer by layer. `firmware`
        ("c" or "rust"): the language of the emulator's firmware main (arielml/rust/firmware.py)."""
        arrays = self.check_inputs(inputs)
        resolve_semantics(semantics, self.graph)  # unknown names, and onnxruntime on a TFLite model
        if firmware not in ("c", "rust") or (firmware == "rust" and backend != "emulator"):
            raise TargetError(f"firmware={firmware!r}: choose 'c' or 'rust'; a Rust main applies to the emulator "
                              "backend only")
        if backend == "reference":
            _refuse_placement_options(cores, scheduler, target, optimize, ram_budget)
            from arielml.backends.reference import prepare_all, run_reference
            if semantics not in self._prepared:
                self._prepared[semantics] = prepare_all(self.graph, SEMANTICS[semantics])
            return run_reference(self.graph, arrays, self._prepared[semantics])
        if backend == "native":
            return self.run_native(arrays, cores=cores, scheduler=scheduler, semantics=semantics,
                                   target=target or "host", optimize=optimize, ram_budget=ram_budget).outputs
        if backend == "emulator":
            if target is None:
                from arielml.targets.boards import BOARDS
                raise TargetError("the emulator backend needs a target board, e.g. target=\"rp2040\"; emulated boards: "
                                  + ", ".join(name for name, board in BOARDS.items() if board.emulated))
            if firmware == "rust":
                from arielml.rust.firmware import run_rust_emulated
                return run_rust_emulated(self, arrays, target, cores, scheduler=scheduler, semantics=semantics,
                                         optimize=optimize, ram_budget=ram_budget).outputs
            return self.run_emulated(arrays, target, cores=cores, scheduler=scheduler, semantics=semantics,
                                     optimize=optimize, ram_budget=ram_budget).outputs
        raise TargetError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")

    def run_native(self, inputs, cores: int = 1, scheduler: str = "static", semantics: str = "litert",
                   target: str = "host", cache_dir: Path | None = None, optimize: str = "latency",
                   ram_budget: int | None = None):
        """Compile to C, build with the host compiler (cached by content hash), run on `cores`
        threads. Returns arielml.backends.native.NativeResult (outputs, per_op times, arena_bytes).
        `target` picks the cost model the plan is made with; the code runs on this host."""
        from arielml.backends.native import build_native
        from arielml.compile import compile_model
        arrays = self.check_inputs(inputs)
        key = (cores, scheduler, semantics, target, cache_dir, optimize, ram_budget)
        if key not in self._native:
            result = compile_model(self.graph, target=target, cores=cores, scheduler=scheduler, semantics=semantics,
                                   optimize=optimize, ram_budget=ram_budget)
            self._native[key] = build_native(result, cache_dir)
        return self._native[key].run(arrays)

    def run_emulated(self, inputs, target: str, cores: int = 1, scheduler: str = "static", semantics: str = "litert",
                     quantum_cycles: int | None = None, seed: int | None = None, cache_dir: Path | None = None,
                     weights_in_sram: str = "auto", optimize: str = "latency", ram_budget: int | None = None):
        """Compile for the board `target`, cross-build (cached) and run on the emulated MCU. Returns
        arielml.backends.emulator.EmulatedRun (outputs, cycles, ms, per_op, flash_bytes, ram_bytes, ...).
        weights_in_sram: "auto" lets the compiler copy the most re-read weights to SRAM at start-up
        (boards whose flash is slower than SRAM, when RAM is left), "off" keeps them in flash."""
        from arielml.backends.emulator import build_emulated
        arrays = self.check_inputs(inputs)
        key = (target, cores, scheduler, semantics, cache_dir, weights_in_sram, optimize, ram_budget)
        if key not in self._emulated:
            self._emulated[key] = build_emulated(self, target, cores, scheduler, semantics, cache_dir,
                                                 weights_in_sram, optimize, ram_budget)
        return self._emulated[key].run(arrays, quantum_cycles=quantum_cycles, seed=seed)

    def session(self, backend: str = "reference", semantics: str = "litert", cores: int = 1,
                scheduler: str = "static", target: str | None = None, optimize: str = "latency",
                ram_budget: int | None = None, firmware: str = "c") -> Session:
        """A stream of inferences that keeps the model's state (SVDF and LSTM memories, variable
        tensors) from one `run` to the next; `reset()` starts it over. The options are those of
        `run`; `firmware` ("c" or "rust") picks the language of the emulator's firmware main. A
        stateless model gives the same outputs in a session as in separate runs."""
        from arielml.session import Session
        return Session(self, backend, semantics, cores, scheduler, target, optimize, ram_budget, firmware)

    @property
    def stateful(self) -> bool:
        """True when the model keeps state between inferences (use `session()` to carry it)."""
        return bool(self.graph.variables)

    def summary(self) -> str:
        from arielml.inspect import summarize_text
        return summarize_text(self.graph)


def _refuse_placement_options(cores, scheduler: str, target: str | None, optimize: str = "latency",
                              ram_budget: int | None = None) -> None:
    given = [f"{name}={value!r}" for name, value, default in
             (("cores", cores, 1), ("scheduler", scheduler, "static"), ("target", target, None),
              ("optimize", optimize, "latency"), ("ram_budget", ram_budget, None)) if value != default]
    if given:
        raise TargetError(f"{', '.join(given)} does not apply to the reference backend (numpy, one operator at "
                          "a time); use backend='native' (host threads) or backend='emulator' (a board)")
