"""Sessions: one model invoked again and again on a stream (audio frames, sensor windows), keeping
its state - the variable tensors of SVDF and LSTM layers - from one inference to the next.

    session = model.session(backend="native", cores=2)
    for frame in frames:
        scores, = session.run([frame])
    session.reset()        # the state back to its initial value (TFLite: zero, int8: zero point)

`Model.run` stays one stateless inference: it always starts from the initial state. Each backend
keeps a session's state where its code keeps it: the reference executor as numpy arrays, the
native library in its state block (saved and restored around each run, so several sessions of one
library do not disturb each other), the emulator in the firmware's state block, carried from one
firmware run to the next by the host (each run may hold several inferences: `run_sequence`)."""
from __future__ import annotations

import numpy as np

from arielml.errors import TargetError
from arielml.ops.registry import SEMANTICS, resolve_semantics


class Session:
    def __init__(self, model, backend: str, semantics: str, cores: int, scheduler: str, target: str | None,
                 optimize: str, ram_budget: int | None, firmware: str = "c") -> None:
        from arielml.api import BACKENDS, _refuse_placement_options
        resolve_semantics(semantics, model.graph)  # unknown names, and onnxruntime on a TFLite model
        if backend not in BACKENDS:
            raise TargetError(f"unknown backend '{backend}'; choose one of: {', '.join(BACKENDS)}")
        self.model, self.backend = model, backend
        self.steps = 0  # inferences since the start or the last reset
        if firmware != "c" and backend != "emulator":
            raise TargetError("firmware='rust' applies to the emulator backend (a Rust main on the emulated board)")
        if backend == "reference":
            _refuse_placement_options(cores, scheduler, target, optimize, ram_budget)
            from arielml.backends.reference import prepare_all
            self._prepared = prepare_all(model.graph, SEMANTICS[semantics])
        elif backend == "native":
            from arielml.backends.native import build_native
            from arielml.compile import compile_model
            self._library = build_native(compile_model(model.graph, target=target or "host", cores=cores,
                                                       scheduler=scheduler, semantics=semantics, optimize=optimize,
                                                       ram_budget=ram_budget))
        else:
            if target is None:
                raise TargetError("an emulator session needs a target board, e.g. target=\"rp2040\"")
            if firmware not in ("c", "rust"):
                raise TargetError(f"unknown firmware '{firmware}'; choose c or rust")
            if firmware == "rust":  # a no_std Rust main around the same C library (arielml/rust/firmware.py)
                from arielml.rust.firmware import build_rust_emulated as build
            else:
                from arielml.backends.emulator import build_emulated as build
            self._firmware = build(model, target, cores, scheduler, semantics, optimize=optimize,
                                   ram_budget=ram_budget)
        self.last_runs: list = []  # emulator: the EmulatedRun of each inference of the last call
        self.reset()

    def reset(self) -> None:
        """Start the stream over: the state back to its initial value."""
        self.steps = 0
        if self.backend == "reference":
            self._state = self.model.graph.initial_state()
        elif self.backend == "native":
            self._state = self._library.initial_state()
        else:
            self._state = None  # the firmware's own reset value

    def run(self, inputs) -> list[np.ndarray]:
        """One inference, continuing from the state the previous one left."""
        return self.run_sequence([inputs])[-1]

    def run_sequence(self, steps) -> list[list[np.ndarray]]:
        """Several inferences in a row (a list of per-step input lists); their outputs, in order.
        On the emulator they run inside one firmware run, one invocation after the other."""
        checked = [self.model.check_inputs(inputs) for inputs in steps]
        if not checked:
            return []
        if self.backend == "reference":
            from arielml.backends.reference import run_reference
            outputs = [run_reference(self.model.graph, arrays, self._prepared, state=self._state) for arrays in checked]
        elif self.backend == "native":
            outputs = [self._library.run(arrays, state=self._state).outputs for arrays in checked]
        else:
            self.last_runs, self._state = self._firmware.run_steps(checked, state=self._state)
            outputs = [run.outputs for run in self.last_runs]
        self.steps += len(checked)
        return outputs
