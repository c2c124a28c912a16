"""CIRCULAR_BUFFER: TFLite Micro's custom operator for strided streaming convolutions (custom code
"CIRCULAR_BUFFER", flexbuffer option cycles_max; LiteRT has no such operator, TFLite Micro's kernel
is the reference).

int8 input [1, 1, H, W] -> output [1, num_slots, H, W]: the last num_slots inputs, oldest first. Each
invocation shifts the window by one slot (H * W bytes) and appends the input. TFLite Micro keeps the
window in the output tensor itself (a memmove of its own bytes); here it is operator-owned state
(OpDef.internal_state), copied to the output, so the planner may reuse the output's bytes like any
other activation. The window starts full of the output's zero point: TFLite Micro's reset value of a
variable int8 output (a non-variable output starts as whatever the arena held: TFLite Micro's Python
interpreter shows leftovers of its Prepare there).

Every invocation counts down; only every cycles_max-th one completes, the others shift the window
and then end the invocation (TFLite Micro returns kTfLiteAbort; its interpreter skips the rest of
the graph and the outputs of the skipped operators hold whatever the arena held). The counter is
state too: `elapsed` invocations since the last completed one, zero at reset (TFLite Micro's Reset
puts its countdown back to cycles_max: the same thing counted the other way). A third state value,
`completes` (bool), records whether this invocation completes (OpDef.ends_invocation): when it is 0,
the reference executor stops there and a compiled plan jumps to the end of its op table
(passes/early_exit.py), so the operators after it, and their state, advance only on the invocations
TFLite Micro completes. The outputs of an invocation that ends early are unspecified, as in TFLite
Micro (whatever the arena held).

cycles_max <= 0 (absent): TFLite Micro guesses from the shape, for the two streaming models it was
written for: num_slots 5, 13 or 25 -> 1, else 2, except a rule that depends on a counter shared by
every interpreter of the process (the fifth such operator prepared with H, W = 2, 96 gets 1): that
shape is refused here, its period is not a property of the model.

Work: one item (a copy of the window, num_slots * H * W bytes: a few hundred bytes in the models it
serves; a split would need the old window read by every core before any core rewrites it)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported


@dataclass(frozen=True)
class CircularBufferOptions:
    cycles_max: int = 0


@dataclass(frozen=True)
class CircularBufferParams:
    slot: int  # bytes per slot: H * W
    slots: int  # num_slots
    cycles_max: int  # >= 1: every cycles_max-th invocation completes
    zero_point: int  # the window starts full of it; the state holds window - zero_point (mod 256)


# TFLite Micro's guess when cycles_max is absent (circular_buffer_common.cc): these window lengths run
# on every invocation, the others every second one
EVERY_INVOCATION_SLOTS = (5, 13, 25)


def _period(node: Node, graph: Graph) -> int:
    cycles = node.options.cycles_max
    if cycles > 0:
        return cycles
    out = graph.tensors[node.outputs[0]].shape
    return 1 if out[1] in EVERY_INVOCATION_SLOTS else 2


def _check(node: Node, graph: Graph) -> None:
    x, y = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if x.dtype != "int8" or y.dtype != "int8":
        raise unsupported(node, f"{x.dtype} in, {y.dtype} out: TFLite Micro's circular buffer takes int8 only")
    if len(x.shape) != 4 or len(y.shape) != 4 or x.shape[0] != 1 or x.shape[1] != 1 or y.shape[0] != 1 \
            or x.shape[2:] != y.shape[2:] or y.shape[1] < 1:
        raise unsupported(node, f"input {x.shape} and output {y.shape} must be [1, 1, H, W] and [1, num_slots, H, W] "
                          "(TFLite Micro's layout; it shifts only the first batch)")
    if node.options.cycles_max <= 0 and y.shape[1] not in EVERY_INVOCATION_SLOTS and y.shape[2:] == (2, 96):
        raise unsupported(node, "cycles_max is absent and the output is [1, n, 2, 96]: TFLite Micro then picks the "
                          "period from a count shared by every interpreter in the process; give cycles_max")


def _state(node: Node, graph: Graph) -> list:
    y = graph.tensors[node.outputs[0]]
    return [(tuple(y.shape), "int8"), ((1,), "int32"), ((1,), "bool")]


def _prepare(node: Node, graph: Graph, semantics: Semantics) -> CircularBufferParams:
    y = graph.tensors[node.outputs[0]]
    zero_point = int(np.ravel(y.quant.zero_point)[0]) if y.quant is not None else 0
    return CircularBufferParams(slot=y.shape[2] * y.shape[3], slots=y.shape[1], cycles_max=_period(node, graph),
                                zero_point=zero_point)


def _evaluate(p: CircularBufferParams, inputs: list) -> list:
    x, window, elapsed = inputs[0], inputs[1], int(inputs[2][0])
    # the state is window - zero_point in 8-bit wrapping arithmetic (a bijection), so that the
    # all-zero state of a reset is a window full of the zero point
    appended = (x.reshape(-1).astype(np.int16) - p.zero_point).astype(np.uint8).view(np.int8)
    new = np.concatenate([window.reshape(-1)[p.slot:], appended]).reshape(window.shape)
    out = (new.astype(np.int16) + p.zero_point).astype(np.uint8).view(np.int8)
    elapsed += 1
    completes = elapsed == p.cycles_max
    if completes:
        elapsed = 0
    return [out, new, np.array([elapsed], dtype=np.int32), np.array([completes])]


def _lower(node: Node, graph: Graph, p: CircularBufferParams) -> KernelCall:
    fields = (("slot", p.slot), ("slots", p.slots), ("cycles_max", p.cycles_max), ("zero_point", p.zero_point))
    return KernelCall("ariel_circular_buffer_s8", "ariel_circular_buffer_params", fields,
                      tuple(node.inputs) + tuple(node.outputs), "circular_buffer.c")


CIRCULAR_BUFFER = register(OpDef(
    name="CIRCULAR_BUFFER", custom_code="CIRCULAR_BUFFER", tflite_options="flexbuffers",
    options_type=CircularBufferOptions, check=_check,
    infer_shapes=lambda node, graph: [tuple(graph.tensors[node.outputs[0]].shape)],
    prepare=_prepare, evaluate=_evaluate, work_items=None, lower=_lower,
    num_inputs=(4, 4), num_outputs=(1, 1), state_inputs=(1, 2, 3), internal_state=_state, ends_invocation=3))
