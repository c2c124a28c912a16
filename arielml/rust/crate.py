"""`arielml compile MODEL --lang rust -o DIR`: a `no_std` Cargo crate around the generated C library.

    result = write_crate("kws.tflite", "rp2040", cores=2, out_dir="kws-rs")

The crate (no dependencies, builds offline):
    Cargo.toml, Cargo.lock, build.rs     build.rs compiles c/ with the board's cross compiler, or with
                                         the host compiler and the POSIX port for host builds
    src/lib.rs                           the safe API: Model (core 0), Worker (the other cores),
                                         typed input/output arrays, init, run, invoke, reset
    src/ffi.rs                           the C functions, written from what arielml knows of model.h
    c/                                   the generated C library (model.c/.h, weights, runtime,
                                         kernels, the board's port and the POSIX port)
    tests/reference.rs, tests/vectors/   `cargo test` on the host: the model through the POSIX port
                                         on inputs and outputs arielml's reference executor wrote
    README.md                            Embassy, Ariel OS and RTIC; a two-core main
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

import numpy as np

from arielml.codegen.emit import posix_files
from arielml.codegen.library import image_sources
from arielml.codegen.names import comment_text
from arielml.codegen.output_dir import write_library
from arielml.errors import ArielError
from arielml.rust.toolchain import RUST_TARGETS
from arielml.targets.boards import HOST, get_board

TEMPLATES = Path(__file__).resolve().parent / "templates"
RUST_TYPES = {"float32": "f32", "int8": "i8", "uint8": "u8", "int16": "i16", "int32": "i32", "int64": "i64",
              "bool": "u8"}
# names a crate may not take (Rust's own crates and keywords)
_RESERVED = {"core", "std", "alloc", "proc_macro", "test", "self", "super", "crate", "Self", "fn", "mod", "use",
             "type", "struct", "enum", "impl", "trait", "match", "loop", "move", "ref", "static", "const", "unsafe"}
TEST_VECTORS = 2
C_FLAGS = ("-O2", "-ffp-contract=off", "-ffreestanding", "-ffunction-sections", "-fdata-sections", "-fno-common")


@dataclass(frozen=True)
class CrateResult:
    out_dir: Path
    crate_name: str
    files: tuple[str, ...]
    compiled: object  # arielml.compile.CompileResult of the board
    reset: bool  # the generated header has <name>_reset (a model with state)


def _rust_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rust_list(items) -> str:
    return ", ".join(_rust_str(i) for i in items)


def _rust_float(value: float) -> str:
    text = repr(float(np.float32(value)))
    return text if ("." in text or "e" in text or "inf" in text or "nan" in text) else text + ".0"


def check_crate_name(name: str) -> str:
    if name in _RESERVED:
        raise ArielError(f"--name {name} cannot name a Rust crate (it is a Rust keyword or standard crate); "
                         f"pick another --name")
    return name


def c_flags(core_type, board_name: str, cores: int) -> list[str]:
    """What arielml's own firmware builds pass (arielml/emu/firmware.py), minus the emulator's define."""
    return [*core_type.gcc_flags, *C_FLAGS, f"-DARIEL_CORES={cores}", f'-DARIEL_BOARD="{board_name}"']


def _io_items(plan) -> tuple[list[dict], list[dict]]:
    graph = plan.graph

    def item(kind: str, index: int, t: int) -> dict:
        tensor = graph.tensors[t]
        quant = tensor.quant if tensor.quant is not None and len(tensor.quant.scale) == 1 else None
        return {"kind": kind, "index": index, "tensor": t, "rust": RUST_TYPES[tensor.dtype], "dtype": tensor.dtype,
                "shape": tuple(int(d) for d in tensor.shape), "elements": int(tensor.num_elements),
                "bytes": int(tensor.nbytes), "scale": None if quant is None else float(quant.scale[0]),
                "zero_point": None if quant is None else int(quant.zero_point[0])}
    return ([item("input", i, t) for i, t in enumerate(graph.inputs)],
            [item("output", i, t) for i, t in enumerate(graph.outputs)])


def _io_constants(io: dict) -> list[str]:
    k, i, up = io["kind"], io["index"], f"{io['kind'].upper()}{io['index']}"
    shape = ", ".join(map(str, io["shape"]))
    lines = [f"/// {k} {i}: {io['dtype']}{list(io['shape'])} (tensor {io['tensor']} of the model).",
             f"pub type {k.capitalize()}{i} = [{io['rust']}; {io['elements']}];",
             f"/// Shape of {k} {i} (row-major; the array holds its elements in this order).",
             f"pub const {up}_SHAPE: [usize; {len(io['shape'])}] = [{shape}];",
             f"/// Bytes of {k} {i}.", f"pub const {up}_BYTES: usize = {io['bytes']};"]
    if io["scale"] is not None:
        lines += [f"/// Quantisation of {k} {i}: real = SCALE * (q - ZERO_POINT).",
                  f"pub const {up}_SCALE: f32 = {_rust_float(io['scale'])};",
                  f"pub const {up}_ZERO_POINT: i32 = {io['zero_point']};"]
    return lines


def _lib_rs(compiled, crate: str, model_label: str, reset: bool, has_state: bool) -> str:
    """lib.rs; reset: bind <name>_reset; has_state: bind <name>_state (both only when the header has them)."""
    plan = compiled.plan
    o = plan.options
    p = o.name
    board = get_board(o.target)
    cores = o.cores
    inputs, outputs = _io_items(plan)
    state_bytes = int(getattr(plan, "state_bytes", 0) or 0)
    from arielml.compile import plan_ram
    ram = plan_ram(plan)
    core_notes = []
    for c in range(cores):
        core_type = board.core(c)[0]
        core_notes.append(f"//! - core {c}: {core_type.name}"
                          + (f" (Rust target `{RUST_TARGETS[core_type.name]}`)" if core_type.name in RUST_TARGETS else "")
                          + (": calls [`Model::init`], writes the inputs, runs its share with [`Model::run`], reads the outputs"
                             if c == 0 else f": runs its share of every operator with [`Worker::run`] (worker {c})"))
    ops = [f"{s.op} ({len(s.tiles)} tile{'s' if len(s.tiles) != 1 else ''})" for s in plan.kernel_steps]
    out = [f"//! {crate}: the model \"{model_label}\" compiled by arielml for {o.target}, {cores} core(s),",
           f"//! {o.scheduler} scheduler, plan {plan_hash(compiled)}. Generated; do not edit.",
           "//!",
           "//! Every core runs the same inference code on its share of each operator's tiles (SPMD); the",
           "//! C runtime's barriers keep the cores in step, so each core just calls its `run` once per",
           "//! inference, in any order:",
           *core_notes,
           "//!",
           f"//! Operators ({len(ops)}): {', '.join(ops)}.",
           "//!",
           "//! Memory: the activation arena ([`ARENA_BYTES`]) and the runtime state are static RAM inside the C",
           "//! library, the weights ([`WEIGHTS_BYTES`]) const data in flash; the inputs and outputs live in the",
           "//! arena. Each core needs a stack of its own (the kernels keep their buffers in the arena, so 4 KiB",
           "//! is plenty). On the host (`cargo test`) the cores are threads of the C library's POSIX port.",
           "#![no_std]",
           "",
           "pub mod ffi;",
           "",
           f"/// Cores the plan was made for: exactly this many must call their `run` for every inference.",
           f"pub const CORES: usize = {cores};",
           f"/// Bytes of the activation arena (static RAM inside the C library; inputs and outputs live in it).",
           f"pub const ARENA_BYTES: usize = {plan.arena_bytes};",
           f"/// Bytes of model state kept across inferences (variable tensors; 0: the model has none).",
           f"pub const STATE_BYTES: usize = {state_bytes};",
           f"/// Bytes of constant data (weights, biases, requantisation tables): flash.",
           f"pub const WEIGHTS_BYTES: usize = {compiled.weights_bytes};",
           f"/// RAM the plan takes on {o.target}: arena, runtime state, {cores} stack(s) and weights copied to SRAM"
           f" at start-up ({'not counted for the host' if ram is None else 'arielml compile counts it so'}).",
           f"pub const RAM_BYTES: usize = {ram or 0};",
           f"pub const NUM_INPUTS: usize = {len(inputs)};",
           f"pub const NUM_OUTPUTS: usize = {len(outputs)};",
           f"pub const NUM_OPS: usize = {len(plan.kernel_steps)};",
           f"/// Libraries with the same plan hash compute the same bytes.",
           f"pub const PLAN_HASH: &str = {_rust_str(plan_hash(compiled))};",
           f"/// The board the C library was generated for.",
           f"pub const TARGET: &str = {_rust_str(o.target)};",
           ""]
    for io in inputs + outputs:
        out += _io_constants(io) + [""]
    out += ["/// What a call into the model can report.",
            "#[derive(Debug, Clone, Copy, PartialEq, Eq)]",
            "pub enum Error {",
            "    /// A core index >= CORES (nothing was touched).",
            "    Core,",
            "    /// POSIX host only: a worker thread could not be started.",
            "    Thread,",
            "    /// Another code from the C library.",
            "    Other(i32),",
            "}",
            "",
            "#[inline]", "fn check(code: i32) -> Result<(), Error> {",
            "    match code {",
            "        0 => Ok(()),",
            "        -1 => Err(Error::Core),",
            "        -2 => Err(Error::Thread),",
            "        other => Err(Error::Other(other)),",
            "    }",
            "}",
            "",
            "/// Core 0's handle: init, inputs, outputs and core 0's share of each inference. There is one",
            "/// (from [`take`] or [`steal`]); it may move to another thread or task, but it is the only way to",
            "/// reach the input and output buffers, so they are never written while an inference runs.",
            "pub struct Model {",
            "    _private: (),",
            "}",
            "",
            "/// The handle of one other core (1..CORES): its share of each inference. Move each to its core.",
            "pub struct Worker {",
            "    core: u32,",
            "}",
            "",
            f"/// The handles: core 0's [`Model`] and the [`Worker`]s of cores 1..{cores}. Returns them once.",
            "#[cfg(target_has_atomic = \"8\")]",
            f"pub fn take() -> Option<(Model, [Worker; {cores - 1}])> {{",
            "    use core::sync::atomic::{AtomicBool, Ordering};",
            "    static TAKEN: AtomicBool = AtomicBool::new(false);",
            "    if TAKEN.swap(true, Ordering::AcqRel) {",
            "        return None;",
            "    }",
            "    // SAFETY: the flag makes this the only call that returns handles",
            "    Some(unsafe { steal() })",
            "}",
            "",
            "/// The handles, without the once-only check (targets without atomic swap, e.g. thumbv6m).",
            "///",
            "/// # Safety",
            "/// Call it once: two `Model`s could write the inputs while an inference reads them.",
            "#[inline]", f"pub unsafe fn steal() -> (Model, [Worker; {cores - 1}]) {{",
            f"    (Model {{ _private: () }}, [{', '.join(f'Worker {{ core: {c} }}' for c in range(1, cores))}])",
            "}",
            "",
            "/// Runs core `core`'s share of one inference (the C entry point). Returns on every core when the",
            "/// outputs are complete.",
            "///",
            "/// # Safety",
            "/// After [`Model::init`]; every core 0..CORES calls it once per inference, each with its own index,",
            "/// and nothing touches the input or output buffers until core 0's call has returned.",
            "#[cfg(not(ariel_posix))]",
            "#[inline]", "pub unsafe fn run_on_core(core: usize) -> Result<(), Error> {",
            f"    check(unsafe {{ ffi::{p}_run_on_core(core as core::ffi::c_uint) }})",
            "}",
            "",
            "impl Model {",
            "    /// Core 0, once, before any core runs (sets up the runtime; on first use also the state).",
            "    #[inline]", "    pub fn init(&mut self) {",
            f"        unsafe {{ ffi::{p}_init() }}",
            "    }",
            ""]
    for io in inputs:
        i = io["index"]
        out += [f"    /// Input {i} ({io['dtype']}{list(io['shape'])}) in the arena: write it before every inference.",
                "    #[inline]", f"    pub fn input{i}(&mut self) -> &mut Input{i} {{",
                f"        // SAFETY: the C library returns a pointer to {io['bytes']} bytes of the arena, aligned for the",
                "        // element type; only this handle reaches it while no inference runs",
                f"        unsafe {{ &mut *(ffi::{p}_input({i}) as *mut Input{i}) }}",
                "    }", ""]
    for io in outputs:
        i = io["index"]
        out += [f"    /// Output {i} ({io['dtype']}{list(io['shape'])}) in the arena: valid after `run` until the next one.",
                "    #[inline]", f"    pub fn output{i}(&self) -> &Output{i} {{",
                f"        unsafe {{ &*(ffi::{p}_output({i}) as *const Output{i}) }}",
                "    }", ""]
    out += ["    /// The bytes of input `index` (None when index >= NUM_INPUTS).",
            "    #[inline]", "    pub fn input_bytes(&mut self, index: usize) -> Option<&mut [u8]> {",
            "        let pointer = unsafe { ffi::" + p + "_input(index as core::ffi::c_uint) } as *mut u8;",
            "        let bytes = unsafe { ffi::" + p + "_input_bytes(index as core::ffi::c_uint) } as usize;",
            "        if pointer.is_null() { None } else { Some(unsafe { core::slice::from_raw_parts_mut(pointer, bytes) }) }",
            "    }",
            "",
            "    /// The bytes of output `index` (None when index >= NUM_OUTPUTS).",
            "    #[inline]", "    pub fn output_bytes(&self, index: usize) -> Option<&[u8]> {",
            "        let pointer = unsafe { ffi::" + p + "_output(index as core::ffi::c_uint) } as *const u8;",
            "        let bytes = unsafe { ffi::" + p + "_output_bytes(index as core::ffi::c_uint) } as usize;",
            "        if pointer.is_null() { None } else { Some(unsafe { core::slice::from_raw_parts(pointer, bytes) }) }",
            "    }",
            "",
            "    /// Core 0's share of one inference; returns when the outputs are complete. On a board, the other",
            "    /// cores must call [`Worker::run`] for the same inference (they wait for core 0 at the start).",
            "    /// On the host the C library runs the other cores as threads itself.",
            "    #[inline]", "    pub fn run(&mut self) -> Result<(), Error> {",
            "        #[cfg(ariel_posix)]",
            f"        return check(unsafe {{ ffi::{p}_run(CORES as core::ffi::c_uint) }});",
            "        #[cfg(not(ariel_posix))]",
            f"        return check(unsafe {{ ffi::{p}_run_on_core(0) }});",
            "    }",
            ""]
    sig = ", ".join([f"input{io['index']}: &Input{io['index']}" for io in inputs]
                    + [f"output{io['index']}: &mut Output{io['index']}" for io in outputs])
    body = ([f"        self.input{io['index']}().copy_from_slice(input{io['index']});" for io in inputs]
            + ["        self.run()?;"]
            + [f"        output{io['index']}.copy_from_slice(self.output{io['index']}());" for io in outputs]
            + ["        Ok(())"])
    invoke_cfg = [] if cores == 1 else ["    #[cfg(ariel_posix)]"]
    out += ["    /// One call: copy the inputs in, run, copy the outputs out"
            + (" (a one-core plan)." if cores == 1 else " (host only: on a board, the other cores run Worker::run)."),
            *invoke_cfg,
            f"    pub fn invoke(&mut self, {sig}) -> Result<(), Error> {{", *body, "    }", ""]
    if reset:
        out += ["    /// Clears the model's state (variable tensors) to its reset values; the next inference starts",
                "    /// afresh. Core 0, between inferences.",
                "    #[inline]", "    pub fn reset(&mut self) {", f"        unsafe {{ ffi::{p}_reset() }}", "    }", ""]
    if has_state:  # the header has <name>_state: the state block, to save and restore a stream
        out += ["    /// The state block (STATE_BYTES bytes; None in a stateless model): save it to pause a stream,",
                "    /// write it back to resume it. Core 0, between inferences.",
                "    #[inline]", "    pub fn state_bytes(&mut self) -> Option<&mut [u8]> {",
                f"        let pointer = unsafe {{ ffi::{p}_state() }} as *mut u8;",
                "        if pointer.is_null() || STATE_BYTES == 0 { None } else {",
                "            Some(unsafe { core::slice::from_raw_parts_mut(pointer, STATE_BYTES) })",
                "        }", "    }", ""]
    out += ["    /// Per operator: the port's cycle stamps of the last run ([0] start, [i + 1] end of op i).",
            "    #[inline]", "    pub fn op_end_times(&self) -> &[u32; NUM_OPS + 1] {",
            f"        unsafe {{ &*(ffi::{p}_op_end_times() as *const [u32; NUM_OPS + 1]) }}",
            "    }",
            "}",
            "",
            "impl Worker {",
            "    /// The core this handle belongs to (1..CORES).",
            "    #[inline]", "    pub fn core(&self) -> usize {",
            "        self.core as usize",
            "    }",
            "",
            "    /// This core's share of one inference: waits for core 0 at the start barrier, returns when the",
            "    /// outputs are complete. Call it once per inference, on this core.",
            "    #[cfg(not(ariel_posix))]",
            "    #[inline]",
            "    pub fn run(&mut self) -> Result<(), Error> {",
            f"        check(unsafe {{ ffi::{p}_run_on_core(self.core) }})",
            "    }",
            "}",
            ""]
    return "\n".join(out)


def _ffi_rs(p: str, reset: bool, state: bool = False) -> str:
    lines = ["//! The C library's functions (model.h), as arielml generated them. Prefer the safe API in lib.rs.",
             "use core::ffi::{c_int, c_uint, c_void};", "",
             "unsafe extern \"C\" {",
             f"    /// Core 0, once, before any core calls {p}_run_on_core.",
             f"    pub fn {p}_init();",
             f"    /// Every core c = 0..CORES-1, once per inference; 0, or -1 for a core >= CORES.",
             f"    pub fn {p}_run_on_core(core: c_uint) -> c_int;",
             f"    pub fn {p}_input(index: c_uint) -> *mut c_void;",
             f"    pub fn {p}_input_bytes(index: c_uint) -> u32;",
             f"    pub fn {p}_output(index: c_uint) -> *const c_void;",
             f"    pub fn {p}_output_bytes(index: c_uint) -> u32;",
             f"    pub fn {p}_arena_bytes() -> u32;",
             f"    pub fn {p}_op_end_times() -> *const u32;"]
    if reset:
        lines += [f"    /// Fills the state (variable tensors) with its reset values.", f"    pub fn {p}_reset();"]
    if state:
        lines += [f"    /// The state block (STATE_BYTES bytes), NULL in a stateless model.",
                  f"    pub fn {p}_state() -> *mut c_void;", f"    pub fn {p}_state_bytes() -> u32;"]
    lines += ["    /// POSIX host only: the cores are a pool of threads (model_posix.c).",
              "    #[cfg(ariel_posix)]", f"    pub fn {p}_run(nthreads: c_uint) -> c_int;",
              "    #[cfg(ariel_posix)]",
              f"    pub fn {p}_invoke(inputs: *const *const c_void, outputs: *const *mut c_void, nthreads: c_uint) -> c_int;",
              "    #[cfg(ariel_posix)]", f"    pub fn {p}_shutdown();", "}", ""]
    return "\n".join(lines)


def plan_hash(compiled) -> str:
    header = compiled.sources[f"{compiled.plan.options.name}.h"]
    marker = "_PLAN_HASH \""
    start = header.find(marker)
    return header[start + len(marker):header.find('"', start + len(marker))] if start >= 0 else ""


def _test_rs(crate: str, p: str, inputs, outputs, vectors: int) -> str:
    lib = crate.replace("-", "_")
    cases = []
    for k in range(vectors):
        reads = [f"        model.input_bytes({io['index']}).unwrap().copy_from_slice(include_bytes!(\"vectors/{k}/input{io['index']}.bin\"));"
                 for io in inputs]
        checks = []
        for io in outputs:
            i = io["index"]
            expected = f"include_bytes!(\"vectors/{k}/output{i}.bin\")"
            if io["dtype"] == "float32":  # float models match within float tolerance, not bit for bit
                checks.append(f"        close_f32(model.output_bytes({i}).unwrap(), {expected}, \"vector {k} output {i}\");")
            else:
                checks.append(f"        assert_eq!(model.output_bytes({i}).unwrap(), &{expected}[..], \"vector {k} output {i}\");")
        cases += [f"    {{ // vector {k}", *reads, "        model.run().expect(\"run\");", *checks, "    }"]
    return "\n".join([
        "//! Generated by arielml: the model on the host (POSIX port: the cores are threads) against the",
        "//! outputs arielml's reference executor (LiteRT reference semantics) gave for the same inputs.",
        f"use {lib}::*;", "",
        "#[allow(dead_code)]",
        "fn close_f32(got: &[u8], expected: &[u8], what: &str) {",
        "    assert_eq!(got.len(), expected.len(), \"{what}: length\");",
        "    for (g, e) in got.chunks(4).zip(expected.chunks(4)) {",
        "        let g = f32::from_le_bytes([g[0], g[1], g[2], g[3]]);",
        "        let e = f32::from_le_bytes([e[0], e[1], e[2], e[3]]);",
        "        assert!((g - e).abs() <= 1e-5 + 1e-4 * e.abs(), \"{what}: {g} vs {e}\");",
        "    }",
        "}", "",
        "#[test]",
        "fn matches_the_reference_executor() {",
        "    let (mut model, _workers) = take().expect(\"the handles are taken once\");",
        "    model.init();",
        *cases,
        "}", "",
        "#[test]",
        "fn typed_views_and_constants_agree() {",
        "    let (model, _) = unsafe { steal() };",
        f"    assert_eq!(unsafe {{ ffi::{p}_arena_bytes() }} as usize, ARENA_BYTES);",
        *[f"    assert_eq!(model.output_bytes({io['index']}).unwrap().len(), OUTPUT{io['index']}_BYTES);" for io in outputs],
        *[f"    assert_eq!(core::mem::size_of::<Output{io['index']}>(), OUTPUT{io['index']}_BYTES);" for io in outputs],
        "}", ""])


def _cargo_toml(crate: str) -> str:
    return Template((TEMPLATES / "Cargo.toml").read_text()).substitute(crate=crate)


def _cargo_lock(crate: str) -> str:
    return ("# This file is automatically @generated by Cargo.\n# It is not intended for manual editing.\nversion = 4\n\n"
            f"[[package]]\nname = \"{crate}\"\nversion = \"0.1.0\"\n")


def _build_rs(compiled) -> str:
    plan = compiled.plan
    o = plan.options
    board = get_board(o.target)
    c_units = [rel for rel in compiled.sources if rel.endswith(".c")]
    library_units = [rel for rel in c_units if not rel.startswith("ariel/ports/")]
    images = []
    if board.name != "host":
        seen = set()
        for c in range(o.cores):
            core_type = board.core(c)[0]
            if core_type.name in seen or core_type.name not in RUST_TARGETS:
                continue
            seen.add(core_type.name)
            port = board.port_for(core_type)
            units = image_sources(library_units, core_type) + [f"ariel/ports/{port}/port.c"]
            images.append(f"    ({_rust_str(core_type.name)}, {_rust_str(RUST_TARGETS[core_type.name])}, "
                          f"{_rust_str(core_type.toolchain + 'gcc')},\n     &[{_rust_list(c_flags(core_type, board.name, o.cores))}],\n"
                          f"     &[{_rust_list(units)}]),")
    host_units = image_sources(library_units, HOST) + [f"{o.name}_posix.c", "ariel/ports/posix/port.c"]
    return Template((TEMPLATES / "build.rs").read_text()).substitute(
        images="\n".join(images), host_sources=_rust_list(host_units), library=f"arielml_{o.name}",
        rust_targets=", ".join(sorted({RUST_TARGETS[board.core(c)[0].name] for c in range(o.cores)
                                       if board.name != "host" and board.core(c)[0].name in RUST_TARGETS})) or "the host")


def crate_files(compiled, model, model_label: str, vectors: int = TEST_VECTORS, seed: int = 0) -> tuple[dict[str, str], bool]:
    """Every file of the crate (relative path -> text), and whether it binds <name>_reset."""
    # the label comes from the model's file name or graph: only a safe set of characters reaches the
    # Rust doc comments and the README (as in the generated C, codegen/names.py)
    model_label = comment_text(model_label)
    plan = compiled.plan
    p = plan.options.name
    crate = check_crate_name(p)
    header = compiled.sources[f"{p}.h"]
    reset = f"{p}_reset(" in header
    state = f"{p}_state(" in header
    files: dict[str, str] = {}
    for rel, text in compiled.sources.items():
        files[f"c/{rel}"] = text
    for rel, text in posix_files(plan).items():
        files[f"c/{rel}"] = text
    files["Cargo.toml"] = _cargo_toml(crate)
    files["Cargo.lock"] = _cargo_lock(crate)
    files["build.rs"] = _build_rs(compiled)
    files["src/lib.rs"] = _lib_rs(compiled, crate, model_label, reset, state)
    files["src/ffi.rs"] = _ffi_rs(p, reset, state)
    inputs, outputs = _io_items(plan)
    files["tests/reference.rs"] = _test_rs(crate, p, inputs, outputs, vectors)
    binary: dict[str, bytes] = {}
    for k in range(vectors):
        arrays = model.random_inputs(seed + k)
        results = model.run(arrays, semantics=plan.options.semantics.name)
        for i, a in enumerate(arrays):
            binary[f"tests/vectors/{k}/input{i}.bin"] = np.ascontiguousarray(a).tobytes()
        for i, r in enumerate(results):
            binary[f"tests/vectors/{k}/output{i}.bin"] = np.ascontiguousarray(r).tobytes()
    from arielml.rust.readme import crate_readme
    files["README.md"] = crate_readme(compiled, crate, model_label, reset)
    # test vectors are bytes; write_library takes text: latin-1 maps every byte to one character
    for rel, data in binary.items():
        files[rel] = data.decode("latin-1")
    return files, reset


def write_crate(model_or_path, target: str, cores: int, out_dir, name: str = "model", scheduler: str = "static",
                semantics: str = "litert", weights_in_sram: str = "auto", optimize: str = "latency",
                ram_budget: int | None = None, vectors: int = TEST_VECTORS, startup: bool = False) -> CrateResult:
    """Compile the model for `target` and write the Rust crate into out_dir (a directory arielml owns:
    as `arielml compile -o`, files arielml did not write are never overwritten or removed). startup:
    also carry the bare-metal start-up and linker script(s) under c/ariel/ports/baremetal/ (for the
    two-core main of the README, which uses arielml's start-up instead of cortex-m-rt)."""
    from arielml.api import Model, load
    from arielml.compile import compile_model
    check_crate_name(name)
    model = model_or_path if isinstance(model_or_path, Model) else load(model_or_path)
    compiled = compile_model(model.graph, target=target, cores=cores, scheduler=scheduler, semantics=semantics,
                             name=name, weights_in_sram=weights_in_sram, optimize=optimize, ram_budget=ram_budget,
                             startup=startup)
    label = str(model.path.name) if getattr(model, "path", None) is not None else model.graph.name
    files, reset = crate_files(compiled, model, label, vectors)
    out = Path(out_dir)
    _write_files(files, out)
    return CrateResult(out, name, tuple(sorted(files)), compiled, reset)


def _write_files(files: dict[str, str], out: Path) -> None:
    """write_library writes text as UTF-8; the test vectors (latin-1 text standing for bytes) are
    rewritten as their bytes afterwards, and the manifest records them as written."""
    binary = {rel for rel in files if rel.endswith(".bin")}
    text_files = {rel: text for rel, text in files.items() if rel not in binary}
    vector_dir = out / "tests" / "vectors"
    write_library(text_files, out)
    for rel in binary:
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel].encode("latin-1"))
    # the vectors are outside the manifest: remove stale ones ourselves (the directory is ours)
    if vector_dir.is_dir():
        for path in vector_dir.rglob("*.bin"):
            if str(path.relative_to(out)) not in binary:
                path.unlink()
