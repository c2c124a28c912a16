"""`<name>.h`, the API of a generated library, from the Plan: the calls, what each input and output is
(element type, shape, quantisation, as macros a firmware can check at compile time), the return
codes, and a version. It declares only what the library defines: the POSIX launcher's calls only
on the host target, which alone carries `<name>_posix.c`."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

import arielml
from arielml.codegen.names import comment_text
from arielml.ir import Tensor
from arielml.passes.plan import Plan

TEMPLATES = Path(__file__).resolve().parent / "templates"
C_TYPE_OF = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t", "int64": "int64_t",
             "float32": "float", "bool": "uint8_t",
             "uint16": "uint16_t", "uint32": "uint32_t", "uint64": "uint64_t"}
# <NAME>_DTYPE_* codes, in a fixed order so that a code never changes meaning
DTYPE_CODES = ("float32", "int8", "uint8", "int16", "int32", "int64", "bool", "uint32", "uint16", "uint64")
# return codes of the calls that can fail (also ARIEL_OK / ARIEL_ERROR_CORE in ariel_runtime.h)
ERROR_CODES = (("OK", 0, "success"),
               ("ERROR_CORE", -1, "a core index >= <NAME>_CORES, or a thread count other than <NAME>_CORES"),
               ("ERROR_THREAD", -2, "POSIX: a worker thread could not be started"))
PLAN_HASH_CHARS = 16


def plan_hash(sources: dict[str, str], name: str) -> str:
    """Hash of what decides the inference (the op table and the weights): two libraries with the same
    hash compute the same bytes."""
    digest = hashlib.sha256()
    for rel in (f"{name}.c", f"{name}_weights.c"):
        digest.update(sources[rel].encode())
        digest.update(b"\0")
    return digest.hexdigest()[:PLAN_HASH_CHARS]


def float_literal(value: float) -> str:
    """A float32 value as a C float literal that reads back to the same float32 (9 significant digits)."""
    text = f"{float(np.float32(value)):.9g}"
    if not any(c in text for c in ".en"):  # "1" -> "1.0": a bare integer with an f suffix is no C literal
        text += ".0"
    return f"{text}f"


def tensor_macros(upper: str, label: str, tensor: Tensor) -> list[str]:
    """`<NAME>_<LABEL>_DTYPE`, `_TYPE`, `_RANK`, `_SHAPE`, `_ELEMENTS`, `_BYTES`, `_QUANTIZED` and the
    quantisation (`_SCALE`, `_ZERO_POINT`; per channel: `_SCALES`, `_ZERO_POINTS`, `_QUANT_AXIS`)."""
    prefix = f"{upper}_{label}"
    shape = ", ".join(f"{int(d)}u" for d in tensor.shape) or "1u"
    lines = [f"#define {prefix}_DTYPE {upper}_DTYPE_{tensor.dtype.upper()}",
             f"#define {prefix}_TYPE {C_TYPE_OF[tensor.dtype]}",
             f"#define {prefix}_RANK {len(tensor.shape)}u",
             f"#define {prefix}_SHAPE {{{shape}}}",
             f"#define {prefix}_ELEMENTS {tensor.num_elements}u",
             f"#define {prefix}_BYTES {tensor.nbytes}u"]
    q = tensor.quant
    if q is None or not q.scale:
        return lines + [f"#define {prefix}_QUANTIZED 0 /* real values, no scale */"]
    if not q.per_channel:
        return lines + [f"#define {prefix}_QUANTIZED 1 /* real = SCALE * (q - ZERO_POINT) */",
                        f"#define {prefix}_SCALE {float_literal(q.single_scale)}",
                        f"#define {prefix}_ZERO_POINT {int(q.single_zero_point)}"]
    return lines + [f"#define {prefix}_QUANTIZED 2 /* per channel along QUANT_AXIS: real = SCALES[c] * (q - ZERO_POINTS[c]) */",
                    f"#define {prefix}_QUANT_AXIS {int(q.axis)}u",
                    f"#define {prefix}_SCALES {{{', '.join(float_literal(s) for s in q.scale)}}}",
                    f"#define {prefix}_ZERO_POINTS {{{', '.join(str(int(z)) for z in q.zero_point)}}}"]


def io_macros(plan: Plan) -> str:
    graph, upper = plan.graph, plan.options.name.upper()
    lines = [f"#define {upper}_DTYPE_{dtype.upper()} {code}" for code, dtype in enumerate(DTYPE_CODES, 1)]
    for kind, tensors in (("INPUT", graph.inputs), ("OUTPUT", graph.outputs)):
        for i, t in enumerate(tensors):
            tensor = graph.tensors[t]
            lines += ["", f"/* {kind.lower()} {i}: {tensor.dtype}{list(tensor.shape)} (tensor {t} of the model) */",
                      *tensor_macros(upper, f"{kind}{i}", tensor)]
    return "\n".join(lines)


def error_macros(name: str) -> str:
    upper = name.upper()
    return "\n".join(f"#define {upper}_{code} ({value}) /* {why.replace('<NAME>', upper)} */" if value else
                     f"#define {upper}_{code} 0 /* {why} */" for code, value, why in ERROR_CODES)


def posix_declarations(name: str) -> str:
    """The POSIX launcher's calls (`<name>_posix.c`, host target only)."""
    n, upper = name, name.upper()
    return f"""
/* POSIX host only ({n}_posix.c): the cores are a pool of threads, created by the first call and
 * reused by later ones. Each call takes a run lock, then initialises and runs the model, so calls
 * from several threads are serialised and each finishes.
 * {n}_run: the caller writes the inputs before and reads the outputs after; with several calling
 *   threads, hold a lock of your own around write, {n}_run and read - or use {n}_invoke.
 * {n}_invoke: copies inputs[i] ({n}_input_bytes(i) bytes each) into the model, runs it and copies
 *   the outputs into outputs[i], all under the run lock: safe to call from any number of threads.
 * Both return {upper}_OK, {upper}_ERROR_CORE (nthreads != {upper}_CORES) or {upper}_ERROR_THREAD. */
int {n}_run(unsigned nthreads);
int {n}_invoke(const void *const inputs[], void *const outputs[], unsigned nthreads);
/* Join the worker threads now (a later call starts them again). Unloading the library or exiting
 * the process does this by itself. */
void {n}_shutdown(void);
"""


def render_header(plan: Plan, sources: dict[str, str]) -> str:
    o = plan.options
    name = o.name
    digest = plan_hash(sources, name)
    host = o.target == "host"
    return (TEMPLATES / "model.h").read_text().format(
        name=name, NAME=name.upper(), model=comment_text(plan.graph.name), nops=len(plan.kernel_steps),
        cores=o.cores, scheduler=o.scheduler, target=o.target, arena=plan.arena_bytes, state=plan.state_bytes,
        ninputs=len(plan.graph.inputs), noutputs=len(plan.graph.outputs), version=arielml.__version__,
        plan_hash=digest, io=io_macros(plan), errors=error_macros(name),
        posix=posix_declarations(name) if host else "",
        launch=(f"On this POSIX host, {name}_run({name.upper()}_CORES) or {name}_invoke(...) runs the cores as "
                f"threads ({name}_posix.c)." if host else
                "On a board, each core calls it: see README.md."))
