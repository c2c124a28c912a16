"""Plan -> C sources. Pure: returns {relative path: text}; `write` puts them in a directory.

The output is deterministic (no dates, no absolute paths, stable order), so the same model and
options give the same bytes, and the native backend can cache builds by content hash. No text from
the model file reaches it (codegen/names.py): tensors are named by index, symbols by the prefix."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from arielml.codegen.header import C_TYPE_OF, render_header
from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.codegen.kernel_interface import kernel_interfaces
from arielml.codegen.library import kernel_variant_files, port_files, port_sources, startup_files
from arielml.codegen.names import check_library_name, comment_text
from arielml.codegen.readme import render_readme
from arielml.errors import UnsupportedOperatorError
from arielml.ir import NO_TENSOR
from arielml.ops.control_flow import CONTROL_KIND, CONTROL_OPS
from arielml.passes.plan import NOT_IN_ARENA, Plan

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _template(template: str, **values) -> str:
    return (TEMPLATES / template).read_text().format(**values)


def c_literal(value) -> str:
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if np.isnan(v):
            return "NAN"  # a model may carry NaN constants; the reference executor keeps them too
        if np.isinf(v):
            return "(-INFINITY)" if v < 0 else "INFINITY"
        return f"{v.hex()}f" if v != int(v) or abs(v) >= 2 ** 24 else f"{v!r}f"
    v = int(value)
    if v == -(1 << 31):
        return "INT32_MIN"
    return str(v)


def c_array_body(values, per_line: int = 24) -> str:
    items = [c_literal(v) for v in values] or ["0"]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "    " + ",\n    ".join(lines)


class _Names:
    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.p = plan.options.name

    def constant(self, tensor: int) -> str:
        return f"{self.p}_const{tensor}"

    def pointer(self, tensor: int) -> str:
        """C address constant of a tensor's bytes."""
        if tensor == NO_TENSOR:
            return "0"
        root = self.plan.root(tensor)
        if self.plan.graph.tensors[root].is_constant:
            inside = self.plan.offset_in_root(tensor)
            return f"(void *){self.constant(root)}" if not inside else f"(void *)((const uint8_t *){self.constant(root)} + {inside})"
        if self.plan.graph.tensors[root].variable:
            offset = dict(self.plan.state_offsets)[root] + self.plan.offset_in_root(tensor)
            return f"(void *)&{self.p}_state_block.bytes[{offset}]"
        offset = self.plan.offsets[tensor]
        assert offset != NOT_IN_ARENA, f"tensor {tensor} has no bytes"
        return f"(void *)&{self.p}_arena.bytes[{offset}]"


def _state_block(plan: Plan) -> list[str]:
    """The state block (variable tensors, kept from one inference to the next) and <name>_reset,
    which fills each variable with its reset value (TFLite: the zero point for int8, else zero), or
    copies its own initial value (a resource variable that CALL_ONCE's init subgraph assigns).
    The block is zero-initialised shared RAM like the arena; <name>_init resets it once, on first use."""
    p, graph = plan.options.name, plan.graph
    out = [f"static ARIEL_SHARED_ZERO uint32_t {p}_state_ready;"]
    body = []
    if plan.state_offsets:
        out += ["/* model state: variable tensors, kept across inferences; never reused by the arena */",
                f"static ARIEL_SHARED_ZERO union {{ uint64_t align; uint8_t bytes[{plan.state_bytes}]; }} {p}_state_block;"]
        body = ["    uint32_t i;", ""]
        for t, off in plan.state_offsets:
            tensor = graph.tensors[t]
            if tensor.initial is not None:  # an initial value of its own (a resource variable's init subgraph)
                raw = np.ascontiguousarray(tensor.initial_value()).view(np.uint8).ravel()
                out += [f"static const uint8_t {p}_state_initial{t}[{tensor.nbytes}] = {{",
                        c_array_body(raw.tolist()), "};"]
                value = f"{p}_state_initial{t}[i]"
            else:
                value = f"{tensor.reset_value}u"
            body += [f"    for (i = 0u; i < {tensor.nbytes}u; i++) {{ /* tensor {t} */",
                     f"        {p}_state_block.bytes[{off}u + i] = {value};", "    }"]
    return out + ["", f"void {p}_reset(void)", "{", *body, f"    {p}_state_ready = 1u;", "}"]


def _jump_row(plan: Plan, step, prefix: str, rows: list[str]) -> list[str]:
    """The op-table row of a jump (ops/control_flow.py; ariel_runtime.c evaluates it): no kernel and
    no params; the condition's pointer, if any; the destination as an op index (the first kernel op
    at or after the node following the writer of the jump's `after` tensor; the op count when that
    is the model's end)."""
    names = _Names(plan)
    after = plan.graph.nodes[step.node].options.after
    target = next(pos for pos, n in enumerate(plan.graph.nodes) if after in n.outputs) + 1
    index = next((k for k, s in enumerate(plan.kernel_steps) if s.node >= target), len(plan.kernel_steps))
    out, buffers = [], "0"
    if step.call.buffers:
        pointers = ", ".join(names.pointer(t) for t in step.call.buffers)
        out.append(f"static void *const {prefix}_buffers[{len(step.call.buffers)}] = {{{pointers}}};")
        buffers = f"{prefix}_buffers"
    out.append(f"static const int32_t {prefix}_tiles[2] = {{0, 1}};")
    cores = "0"
    if plan.options.scheduler == "static":
        out.append(f"static const uint8_t {prefix}_cores[1] = {{{step.tile_core[0] if step.tile_core else 0}}};")
        cores = f"{prefix}_cores"
    # barrier_after 1: no core may overwrite the condition's bytes (the planner may reuse them right
    # after the branch) before every core has read it
    rows.append(f"    {{0, 0, {buffers}, {prefix}_tiles, {cores}, 1u, {len(step.call.buffers)}u, 1u, 0u, 0u, "
                f"{CONTROL_KIND[step.op]}, {index}u}},")
    return out + [""]


def used_constants(plan: Plan) -> list[int]:
    roots = set()
    for step in plan.kernel_steps:
        for t in step.call.buffers:
            if t != NO_TENSOR and plan.graph.tensors[plan.root(t)].is_constant:
                roots.add(plan.root(t))
    for t in plan.graph.inputs + plan.graph.outputs:
        if plan.graph.tensors[plan.root(t)].is_constant:
            roots.add(plan.root(t))
    return sorted(roots)


# Placement of a constant array (passes/weight_placement.py): const data stays in flash (.rodata);
# a non-const initialised array is .data, which the start-up copies from its load image in flash to
# the image's private SRAM. The kernels read the same bytes either way.
SRAM_COPY_NOTE = "copied to SRAM at start-up (read often)"


def _in_sram(plan: Plan, tensor: int = -1, op: int = -1, field: str = "") -> bool:
    placement = plan.weight_placement
    return placement is not None and placement.in_sram(tensor, op, field)


def _qualifier(in_sram: bool) -> str:
    return "" if in_sram else "const "


def emit_weights(plan: Plan) -> tuple[str, int]:
    names = _Names(plan)
    out = [f"/* {plan.options.name}_weights.c - generated by arielml; do not edit. Weights and biases: const "
           "arrays stay in flash, the others are copied to SRAM at start-up. */",
           "#include <math.h> /* NAN and INFINITY, should a float model carry them */", "#include <stdint.h>", ""]
    total = 0
    for t in used_constants(plan):
        tensor = plan.graph.tensors[t]
        data = np.asarray(tensor.data).ravel()
        total += tensor.nbytes
        values = data.astype(np.uint8).tolist() if tensor.dtype == "bool" else data.tolist()
        sram = _in_sram(plan, tensor=t)
        # by index, never by name: a name is the model file's text (`arielml inspect` lists them)
        out.append(f"/* tensor {t}: {tensor.dtype}{list(tensor.shape)}{'; ' + SRAM_COPY_NOTE if sram else ''} */")
        out.append(f"{_qualifier(sram)}{C_TYPE_OF[tensor.dtype]} {names.constant(t)}[{max(data.size, 1)}] = {{")
        out.append(c_array_body(values))
        out.append("};")
    return "\n".join(out) + "\n", total


def _params(prefix: str, call: KernelCall, in_sram=lambda field: False, emitted: dict | None = None) -> list[str]:
    """The params struct of one op and its arrays; `in_sram(field)`: that array is copied to SRAM.
    `emitted` maps (type, values, in SRAM) to the name of an array already written: the bands of one
    operator (passes/bands.py) share its prepared arrays instead of repeating them in flash."""
    lines, inits = [], []
    emitted = {} if emitted is None else emitted
    for field, value in call.fields:
        if isinstance(value, CArray):
            sram = in_sram(field)
            key = (value.ctype, value.values, sram)
            if key in emitted:
                inits.append(f"    .{field} = {emitted[key]},")
                continue
            array = emitted[key] = f"{prefix}_{field}"
            if sram:
                lines.append(f"/* .{field}: {SRAM_COPY_NOTE} */")
            lines.append(f"static {_qualifier(sram)}{value.ctype} {array}[{max(len(value.values), 1)}] = {{\n"
                         f"{c_array_body(value.values)}\n}};")
            inits.append(f"    .{field} = {array},")
        else:
            inits.append(f"    .{field} = {c_literal(value)},")
    lines.append(f"static const {call.params_type} {prefix} = {{\n" + "\n".join(inits) + "\n};")
    return lines


def emit_model_c(plan: Plan) -> str:
    o = plan.options
    p, names, graph = o.name, _Names(plan), plan.graph
    steps = plan.kernel_steps
    if not steps:
        raise UnsupportedOperatorError("the model has no operator to run (only views); nothing to compile")
    out = [f"/* {p}.c - generated by arielml from \"{comment_text(graph.name)}\"; do not edit.",
           f" * target {o.target}, {o.cores} core(s), {o.scheduler} scheduler, semantics {o.semantics.name} */",
           "#include <math.h>", "#include <stdint.h>", "", f'#include "{p}.h"', '#include "ariel_kernels.h"',
           '#include "ariel_runtime.h"', ""]
    out += kernel_interfaces(sorted({s.call.source for s in steps}))
    for t in used_constants(plan):
        tensor = graph.tensors[t]
        out.append(f"extern {_qualifier(_in_sram(plan, tensor=t))}{C_TYPE_OF[tensor.dtype]} "
                   f"{names.constant(t)}[{max(tensor.num_elements, 1)}];")
    # ARIEL_SHARED_ZERO (ariel_port.h): what every core reads and writes - arena, scheduler state,
    # op stamps - sits at one address in every image of a two-image board (rp2350-mixed, stm32h747)
    out += ["", "/* the activation arena; the union aligns it for any buffer type */",
            f"static ARIEL_SHARED_ZERO union {{ uint64_t align; uint8_t bytes[{max(plan.arena_bytes, 8)}]; }} "
            f"{p}_arena;", "", *_state_block(plan), ""]
    rows, arrays = [], {}
    for k, step in enumerate(steps):
        node = graph.nodes[step.node]
        prefix = f"{p}_op{k}"
        out.append(f"/* op {k}: {comment_text(step.op)} (operator #{node.index}), {step.work_items} work items, "
                   f"{len(step.tiles)} tile(s) */")
        if step.op in CONTROL_OPS:
            out += _jump_row(plan, step, prefix, rows)
            continue
        out += _params(f"{prefix}_params", step.call, lambda field, k=k: _in_sram(plan, op=k, field=field), arrays)
        pointers = ", ".join(names.pointer(t) for t in step.call.buffers)
        out.append(f"static void *const {prefix}_buffers[{len(step.call.buffers)}] = {{{pointers}}};")
        starts = [b for b, _ in step.tiles] + [step.tiles[-1][1]]
        out.append(f"static const int32_t {prefix}_tiles[{len(starts)}] = {{{', '.join(map(str, starts))}}};")
        cores = "0"
        if o.scheduler == "static":
            out.append(f"static const uint8_t {prefix}_cores[{len(step.tile_core)}] = "
                       f"{{{', '.join(map(str, step.tile_core))}}};")
            cores = f"{prefix}_cores"
        scratch = plan.scratch_offsets[step.node] if step.scratch_bytes else 0
        rows.append(f"    {{{step.call.kernel}, &{prefix}_params, {prefix}_buffers, {prefix}_tiles, {cores}, "
                    f"{len(step.tiles)}u, {len(step.call.buffers)}u, {int(step.barrier_after)}u, {scratch}u, "
                    f"{step.scratch_bytes}u, ARIEL_OP_KERNEL, 0u}},")
        out.append("")
    sched = "ARIEL_SCHED_STATIC" if o.scheduler == "static" else "ARIEL_SCHED_DYNAMIC"
    out += [f"static const ariel_op {p}_ops[{len(steps)}] = {{", *rows, "};", "",
            f"static ARIEL_SHARED_ZERO ariel_shared {p}_shared;",
            f"static ARIEL_SHARED_ZERO uint32_t {p}_op_end[{len(steps) + 1}];",
            f"static const ariel_model {p}_model = {{{p}_ops, {len(steps)}u, {o.cores}u, {sched}, "
            f"{p}_arena.bytes, &{p}_shared, {p}_op_end}};", ""]
    for kind, tensors in (("input", graph.inputs), ("output", graph.outputs)):
        out.append(f"static void *const {p}_{kind}s[{max(len(tensors), 1)}] = "
                   f"{{{', '.join(names.pointer(t) for t in tensors) or '0'}}};")
        out.append(f"static const uint32_t {p}_{kind}_sizes[{max(len(tensors), 1)}] = "
                   f"{{{', '.join(str(graph.tensors[t].nbytes) + 'u' for t in tensors) or '0'}}};")
    n_in, n_out = len(graph.inputs), len(graph.outputs)
    out += ["", f"void {p}_init(void)", "{",
            f"    if (!{p}_state_ready) {{ /* the state starts at its reset value, before the first inference */",
            f"        {p}_reset();", "    }", f"    ariel_init(&{p}_model);", "}",
            f"int {p}_run_on_core(unsigned core) {{ return ariel_run_on_core(&{p}_model, core); }}",
            f"void *{p}_input(unsigned index) {{ return index < {n_in}u ? {p}_inputs[index] : 0; }}",
            f"uint32_t {p}_input_bytes(unsigned index) {{ return index < {n_in}u ? {p}_input_sizes[index] : 0u; }}",
            f"const void *{p}_output(unsigned index) {{ return index < {n_out}u ? {p}_outputs[index] : 0; }}",
            f"uint32_t {p}_output_bytes(unsigned index) {{ return index < {n_out}u ? {p}_output_sizes[index] : 0u; }}",
            f"uint32_t {p}_arena_bytes(void) {{ return {plan.arena_bytes}u; }}",
            f"uint32_t {p}_state_bytes(void) {{ return {plan.state_bytes}u; }}",
            f"void *{p}_state(void) {{ return {f'{p}_state_block.bytes' if plan.state_offsets else '0'}; }}",
            f"const uint32_t *{p}_op_end_times(void) {{ return {p}_op_end; }}", ""]
    return "\n".join(out)


def runtime_files(plan: Plan) -> dict[str, str]:
    """The runtime sources the generated library needs, under ariel/ (copied verbatim): headers,
    scheduler, the kernels the plan uses, and the port of every core type the plan runs on (posix
    on the host; the board's bare-metal port(s) otherwise, see codegen/library.py)."""
    headers = {f"include/{h.name}" for h in (RUNTIME / "include").glob("*.h")}
    kernels = {s.call.source for s in plan.kernel_steps}
    wanted = sorted(headers | {"src/ariel_runtime.c"} | {f"kernels/{s}" for s in kernels})
    files = {f"ariel/{rel}": (RUNTIME / rel).read_text() for rel in wanted}
    files.update(kernel_variant_files(plan, sorted(kernels)))  # ISA-specific kernels of the plan's core types
    files.update(port_files(plan))
    return files


def posix_files(plan: Plan) -> dict[str, str]:
    """The posix port and the threaded launcher, for running any plan on this host (the native
    backend runs plans made with another target's cost model too)."""
    p = plan.options.name
    return {f"{p}_posix.c": _template("model_posix.c", name=p, NAME=p.upper()), **port_sources("posix")}


def emit(plan: Plan, startup: bool = False) -> tuple[dict[str, str], int]:
    """All files of the generated library, and the weights' byte count. `startup`: add the bare-metal
    start-up (crt0, crt_main.c, the board's linker script(s)) under ariel/ports/baremetal/."""
    o, p = plan.options, check_library_name(plan.options.name)  # plans made without compile_model too
    weights, weights_bytes = emit_weights(plan)
    files = {f"{p}.c": emit_model_c(plan), f"{p}_weights.c": weights}
    files[f"{p}.h"] = render_header(plan, files)
    files.update(runtime_files(plan))
    if o.target == "host":
        files.update(posix_files(plan))
    if startup:
        files.update(startup_files(plan))
    files = dict(sorted(files.items()))
    files["README.md"] = render_readme(plan, files, weights_bytes)
    return dict(sorted(files.items())), weights_bytes


def write(files: dict[str, str], out_dir: Path) -> list[Path]:
    written = []
    for rel, text in files.items():
        path = Path(out_dir) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written
