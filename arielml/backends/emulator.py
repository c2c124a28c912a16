"""Emulator backend: the generated C, cross-compiled for a board, run on the emulated multi-core MCU.

    firmware = build_emulated(model, "rp2040", cores=2)           # compile + cross build (cached)
    run = firmware.run(inputs)                                     # -> EmulatedRun
    run.outputs, run.cycles, run.ms, run.per_op, run.flash_bytes, run.ram_bytes

The firmware is the compiler's output (compile_model for the board) plus a small main
(codegen/templates/harness_baremetal.c) built with arielml.emu.build_firmware. The host writes
the inputs into the harness's staging array in flash before the machine starts (start-up zeroes
the shared SRAM that holds the arena), core 0 copies them into the model's input buffers before
it releases the other cores, and after the run the host reads the outputs from the addresses the
harness recorded. Cycle counts come from the runtime's trace events (RUN_BEGIN..RUN_END of core 0
for the inference, OP_BEGIN/OP_END and the barriers per operator)."""
from __future__ import annotations

import fcntl
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
from elftools.elf.elffile import ELFFile

from arielml.cache import absolute
from arielml.codegen.emit import TEMPLATES, write
from arielml.compile import CompileResult, compile_model
from arielml.emu import Firmware, Machine, Profile, build_firmware, build_profile, fasthook
from arielml.emu.profile import RUN_BEGIN
from arielml.errors import FirmwareFault, InputError, TargetError
from arielml.ir import Graph
from arielml.targets.boards import BOARDS, Board, get_board

INPUT_STAGING = "ariel_harness_inputs"
OUTPUT_TABLE = "ariel_harness_outputs"
STATE_GIVEN = "ariel_harness_state_given"
STATE_STAGING = "ariel_harness_state_in"
STATE_POINTER = "ariel_harness_state"
STEP_COUNT = "ariel_harness_steps"
# inferences one firmware run may hold: the harness stages their inputs in flash (left out of the
# reported flash size); longer sequences take several runs
MAX_STEPS = 8
HARNESS_FILE = "harness_baremetal.c"
STACK_BYTES = 4096  # per core; the kernels keep their buffers in the arena, not on the stack


def default_cache_dir() -> Path:
    """The user's firmware cache (arielml.cache: XDG / ~/.cache, or a private temporary fallback)."""
    from arielml.cache import cache_dir
    return cache_dir("emulator")


@dataclass(frozen=True)
class EmulatedRun:
    outputs: list[np.ndarray]
    target: str
    cores: int
    scheduler: str
    cycles: int  # inference: core 0's RUN_BEGIN..RUN_END span, in core 0's clock cycles
    ms: float  # cycles / core 0's clock
    per_op: list[dict]  # {"index", "type", "operator", "cycles", "per_core_cycles", "barrier_idle_cycles", "tiles"}
    flash_bytes: int  # text + rodata + data of every image (the harness's input staging left out)
    ram_bytes: int  # data + bss (arena and runtime state included) + stacks
    profile: Profile  # of the inference (arielml.emu.profile)
    instructions: int  # every core, the whole run (start-up included)
    mips: float  # emulation speed of this run (host)
    state: bytes = b""  # the model's state after the inference (stateful models; a session's next start)

    def summary(self) -> dict:
        """JSON-able: everything but outputs and profile, plus per-core utilisation and barrier idle."""
        return {"target": self.target, "cores": self.cores, "scheduler": self.scheduler, "cycles": self.cycles,
                "ms": self.ms, "per_op": self.per_op, "flash_bytes": self.flash_bytes, "ram_bytes": self.ram_bytes,
                "instructions": self.instructions, "mips": self.mips,
                "utilisation": list(self.profile.utilisation),
                "barrier_idle_cycles": list(self.profile.barrier_idle_cycles)}


@dataclass(frozen=True)
class _HarnessSymbols:
    inputs_address: int  # core 0's image: where the host writes the inputs (flash)
    outputs_table: int  # core 0's image: the output pointers core 0 records (SRAM)
    staging_bytes: int  # input and state staging of all images together (left out of flash_bytes)
    state_given: int  # core 0's image: the flag word saying a state is staged (flash)
    state_staging: int  # core 0's image: where the host writes a session's state (flash)
    state_pointer: int  # core 0's image: where core 0 records the state block's address (SRAM)
    steps: int  # core 0's image: the word giving the number of inferences staged (flash)


class EmulatedFirmware:
    """A compiled model built for an emulated board; `run` as often as needed (a fresh machine each
    time, so runs are independent and, in deterministic mode, give the same cycles)."""

    def __init__(self, compiled: CompileResult, board: Board, firmware: Firmware, model) -> None:
        self.compiled = compiled
        self.board = board
        self.firmware = firmware
        self.model = model  # arielml.api.Model: input checks
        self._symbols = _harness_symbols(firmware)

    @property
    def plan(self):
        return self.compiled.plan

    @property
    def flash_bytes(self) -> int:
        return self.firmware.flash_bytes - self._symbols.staging_bytes

    @property
    def ram_bytes(self) -> int:
        return self.firmware.ram_bytes

    def run_steps(self, steps, state: bytes | None = None, quantum_cycles: int | None = None,
                  seed: int | None = None) -> tuple[list[EmulatedRun], bytes | None]:
        """Several inferences of a stream (a session), each continuing from the state the previous
        one left (`state`: where the first continues from; None: the initial state). The firmware
        runs up to MAX_STEPS of them in one run, one invocation after the other; a longer sequence
        takes several runs, the state carried from one to the next. Returns one EmulatedRun per
        inference (its cycles and per-op times are that inference's) and the state after the last."""
        checked = [self.model.check_inputs(inputs) for inputs in steps]
        runs: list[EmulatedRun] = []
        for first in range(0, len(checked), MAX_STEPS):
            chunk = self._run_chunk(checked[first:first + MAX_STEPS], state, quantum_cycles, seed)
            runs += chunk
            state = chunk[-1].state if self.plan.state_bytes else None
        return runs, state

    def run(self, inputs, quantum_cycles: int | None = None, seed: int | None = None,
            before_start: Callable[[Machine], None] | None = None, state: bytes | None = None) -> EmulatedRun:
        """Run one inference. `seed` randomises the interleaving of the cores (reproducibly);
        `before_start(machine)` may change memory before the cores start (fault-injection tests).
        `state`: the model's state to start from (a session's; None: the initial state)."""
        return self._run_chunk([self.model.check_inputs(inputs)], state, quantum_cycles, seed, before_start)[0]

    def _run_chunk(self, steps: list[list[np.ndarray]], state: bytes | None, quantum_cycles: int | None,
                   seed: int | None, before_start: Callable[[Machine], None] | None = None) -> list[EmulatedRun]:
        state_bytes = self.plan.state_bytes
        if state is not None and len(state) != state_bytes:
            raise InputError(f"the model's state has {state_bytes} bytes, {len(state)} were given")
        graph = self.plan.graph
        staged = b"".join(np.ascontiguousarray(a, dtype=graph.tensors[t].np_dtype).tobytes()
                          for arrays in steps for a, t in zip(arrays, graph.inputs))
        machine = Machine(self.board, self.firmware, quantum_cycles=quantum_cycles, seed=seed)
        outputs: list[list[np.ndarray]] = []
        # the firmware writes STEP after each inference, before it copies the next one's inputs
        machine.state.on_step = lambda core, step: outputs.append(self._read_outputs(machine))
        try:
            if staged:
                machine.write(self._symbols.inputs_address, staged)
            machine.write(self._symbols.steps, len(steps).to_bytes(4, "little"))
            if state is not None and state_bytes:
                machine.write(self._symbols.state_staging, bytes(state))
                machine.write(self._symbols.state_given, (1).to_bytes(4, "little"))
            if before_start is not None:
                before_start(machine)
            try:
                result = machine.run()
            except FirmwareFault as fault:
                raise FirmwareFault(self._name_operator(str(fault))) from None
            if result.exit_status != 0:
                raise FirmwareFault(f"{self.board.name}: the firmware ended with status {result.exit_status} instead "
                                    f"of 0; console: {result.console.strip()[-400:] or '(empty)'}")
            assert len(outputs) == len(steps), f"the firmware reported {len(outputs)} of {len(steps)} inferences"
            final_state = b""
            if state_bytes:
                block = int.from_bytes(machine.read(self._symbols.state_pointer, 4), "little")
                final_state = bytes(machine.read(block, state_bytes))
        finally:
            machine.close()
        runs = []
        for k, (step_outputs, step_result) in enumerate(zip(outputs, split_by_inference(result, len(steps)))):
            profile = build_profile(step_result)
            runs.append(EmulatedRun(step_outputs, self.board.name, self.firmware.cores, self.plan.options.scheduler,
                                    profile.total_cycles, profile.total_cycles / self.board.core(0)[1] * 1e3,
                                    self._per_op(profile), self.flash_bytes, self.ram_bytes, profile,
                                    result.total_instructions, result.mips,
                                    final_state if k == len(steps) - 1 else b""))
        return runs

    def _read_outputs(self, machine: Machine) -> list[np.ndarray]:
        graph = self.plan.graph
        outputs = []
        for i, t in enumerate(graph.outputs):
            tensor = graph.tensors[t]
            address = int.from_bytes(machine.read(self._symbols.outputs_table + 4 * i, 4), "little")
            raw = machine.read(address, tensor.nbytes) if tensor.nbytes else b""
            outputs.append(np.frombuffer(raw, dtype=tensor.np_dtype).reshape(tensor.shape).copy())
        return outputs

    def _per_op(self, profile: Profile) -> list[dict]:
        steps = self.plan.kernel_steps
        nodes = self.plan.graph.nodes
        rows = []
        for op in profile.ops:
            step = steps[op.op]
            rows.append({"index": op.op, "type": step.op, "operator": nodes[step.node].index, "cycles": op.cycles,
                         "per_core_cycles": list(op.core_cycles), "barrier_idle_cycles": list(op.barrier_idle_cycles),
                         "tiles": len(step.tiles), "tiles_per_core": list(op.tiles)})
        return rows

    def _name_operator(self, message: str) -> str:
        """The machine names the operator by its index in the op table; add what it is."""
        steps = self.plan.kernel_steps
        match = re.search(r"operator (\d+)", message)
        if match and int(match.group(1)) < len(steps):
            step = steps[int(match.group(1))]
            return message.replace(match.group(0), f"{match.group(0)} ({step.op}, model operator "
                                   f"#{self.plan.graph.nodes[step.node].index})", 1)
        return message


def split_by_inference(result, count: int) -> list:
    """The run's trace cut into one RunResult per inference: each core's events from its k-th
    RUN_BEGIN up to its (k+1)-th belong to inference k (the start-up's before the first go with the
    first), so every inference gets its own profile."""
    if count == 1:
        return [result]
    parts: list[list] = [[] for _ in range(count)]
    seen: dict[int, int] = {}
    for event in result.trace:
        if event.event == RUN_BEGIN:
            seen[event.core] = seen.get(event.core, -1) + 1
        parts[min(max(seen.get(event.core, 0), 0), count - 1)].append(event)
    return [replace(result, trace=tuple(part)) for part in parts]


def _harness_symbols(firmware: Firmware) -> _HarnessSymbols:
    found = []
    for image in firmware.images:
        with open(image.path, "rb") as handle:
            table = ELFFile(handle).get_section_by_name(".symtab")
            symbols = {s.name: (s["st_value"], s["st_size"]) for s in table.iter_symbols()
                       if s.name in (INPUT_STAGING, OUTPUT_TABLE, STATE_GIVEN, STATE_STAGING, STATE_POINTER,
                                     STEP_COUNT)}
        found.append(symbols)
    first = found[firmware.images.index(firmware.image_of_core(0))]
    # a stateless model's harness never reads the state staging: the linker drops it (address 0)
    staging = (INPUT_STAGING, STATE_STAGING, STATE_GIVEN, STEP_COUNT)
    return _HarnessSymbols(first[INPUT_STAGING][0], first[OUTPUT_TABLE][0],
                           sum(symbols.get(name, (0, 0))[1] for symbols in found for name in staging),
                           first.get(STATE_GIVEN, (0, 0))[0], first.get(STATE_STAGING, (0, 0))[0],
                           first.get(STATE_POINTER, (0, 0))[0], first[STEP_COUNT][0])


def _model_of(model_or_graph):
    from arielml.api import Model, load
    if isinstance(model_or_graph, Model):
        return model_or_graph
    if isinstance(model_or_graph, Graph):
        return Model(graph=model_or_graph)
    return load(model_or_graph)


def emulated_board(target: str) -> Board:
    """The board, or a TargetError saying why it cannot be emulated."""
    board = get_board(target)
    if not board.emulated:
        choices = ", ".join(name for name, b in BOARDS.items() if b.emulated)
        if board.name == "host":
            raise TargetError(f"target host is this machine, not a microcontroller: run on it with --backend native, "
                              f"or emulate one of: {choices}")
        raise TargetError(f"target {board.name} is not emulated here (code generation and cost-model estimates only): "
                          f"`arielml compile --target {board.name}` still generates its C; to run, pick one of: {choices}")
    return board


def harness_source(compiled: CompileResult) -> str:
    graph = compiled.plan.graph
    name = compiled.plan.options.name
    input_bytes = sum(graph.tensors[t].nbytes for t in graph.inputs)
    return (TEMPLATES / HARNESS_FILE).read_text().format(name=name, NAME=name.upper(),
                                                        input_bytes=max(input_bytes, 1),
                                                        state_bytes=max(compiled.plan.state_bytes, 1),
                                                        max_steps=MAX_STEPS)


def build_emulated(model_or_graph, target: str, cores: int, scheduler: str = "static", semantics: str = "litert",
                   cache_dir: str | Path | None = None, weights_in_sram: str = "auto", optimize: str = "latency",
                   ram_budget: int | None = None) -> EmulatedFirmware:
    """Compile for `target` (refused with FitError when the plan cannot fit the board), add the
    harness, cross-compile and link (cached by content under cache_dir). Reusable: `.run(inputs)`.
    weights_in_sram: "auto" lets the compiler copy the most re-read weights to SRAM (passes/
    weight_placement.py), "off" keeps every constant in flash. optimize, ram_budget: as
    arielml.compile.plan_model."""
    board = emulated_board(target)
    model = _model_of(model_or_graph)
    compiled = compile_model(model.graph, target=board.name, cores=cores, scheduler=scheduler, semantics=semantics,
                             weights_in_sram=weights_in_sram, optimize=optimize, ram_budget=ram_budget)
    return _build(compiled, board, model, cache_dir)


def build_firmware_for_plan(model_or_graph, plan, cache_dir: str | Path | None = None) -> EmulatedFirmware:
    """The firmware of a plan made elsewhere (tests: plans with chosen band regions)."""
    from arielml.compile import CompileResult, check_fit
    from arielml.codegen.emit import emit
    board = emulated_board(plan.options.target)
    sources, weights_bytes = emit(plan)
    check_fit(plan, weights_bytes)
    compiled = CompileResult(plan.arena_bytes, weights_bytes, tuple(sources), plan, sources)
    return _build(compiled, board, _model_of(model_or_graph), cache_dir)


def _build(compiled, board, model, cache_dir) -> EmulatedFirmware:
    cache = absolute(cache_dir) if cache_dir is not None else default_cache_dir()
    fasthook.hook_library(cache / "hook" if cache_dir is not None else None)  # built where the caller said
    # build_firmware adds the board's port and start-up itself (with ARIEL_EMULATOR defined): the
    # copies the library carries for the user's own firmware build are left out here
    files = {rel: text for rel, text in compiled.sources.items() if not rel.startswith("ariel/ports/")}
    files[HARNESS_FILE] = harness_source(compiled)
    digest = hashlib.sha256()
    for rel, text in sorted(files.items()):
        digest.update(f"{rel}\0{text}\0".encode())
    source_dir = cache / "src" / digest.hexdigest()[:20]  # by content: build_firmware's cache sees the same paths
    source_dir.mkdir(parents=True, exist_ok=True)
    # one builder at a time per source tree: parallel test workers or a second process building the
    # same model must not read half-written sources, objects or manifests
    with open(source_dir.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        write(files, source_dir)
        units = sorted(source_dir / rel for rel in files if rel.endswith(".c"))
        firmware = build_firmware(board, units, include_dirs=[source_dir / "ariel" / "include", source_dir],
                                  out_dir=cache / "firmware", cores=compiled.plan.options.cores,
                                  stack_bytes=STACK_BYTES)
    return EmulatedFirmware(compiled, board, firmware, model)


def run_emulated(model_or_graph, inputs, target: str, cores: int, scheduler: str = "static", semantics: str = "litert",
                 quantum_cycles: int | None = None, seed: int | None = None,
                 cache_dir: str | Path | None = None, weights_in_sram: str = "auto", optimize: str = "latency",
                 ram_budget: int | None = None) -> EmulatedRun:
    """build_emulated, then one run (inputs are checked before anything is built)."""
    model = _model_of(model_or_graph)
    arrays = model.check_inputs(inputs)
    return build_emulated(model, target, cores, scheduler, semantics, cache_dir, weights_in_sram, optimize,
                          ram_budget).run(
        arrays, quantum_cycles=quantum_cycles, seed=seed)
