"""TFLite Micro's Signal library, its streaming operators (custom operators with flexbuffer options;
LiteRT has none; TFLite Micro's kernels are the reference). Each keeps samples from one invocation to
the next in TFLite Micro's persistent circular buffers; here they are hidden variable tensors
(OpDef.internal_state) that start at zero, as TFLite Micro's reset leaves its buffers.

- SignalDelay: int16 [..., frame] -> the same shape delayed by delay_length samples along the last
  axis (the line starts with delay_length zeros). State per row: the last delay_length samples.
- SignalFramer: int16 [..., n_frames * frame_step] -> frames [..., n_frames, frame_size] and a bool
  "valid": every frame_step new samples give a frame of the last frame_size once that many have
  arrived (prefill: the line starts with frame_size - frame_step zeros, so every frame is valid).
  State per row: the held samples (ceil(frame_size / frame_step) frame_steps minus one step) and
  their count. A frame that is not ready: TFLite Micro leaves its output unwritten (whatever the
  buffer held) and reports valid = false; arielml writes zeros there.
- SignalOverlapAdd: int16 or float32 frames [..., n_frames, frame_size] -> [..., n_frames *
  frame_step]: each frame is added into a frame_size accumulator (int16: saturated), whose first
  frame_step values are output and shifted out. State per row: the accumulator.
- SignalStacker: int16 [channels] -> [channels * (left + right + 1)] and valid: the stack of the
  last left + right + 1 frames, every stacker_step frames; the first frame is repeated left more
  times (TFLite Micro's padding). State: the held values and (count, started). Not ready: as Framer.

Work items: rows (each row's line is its own; within a row every frame depends on the one before);
Stacker is one item (one row). The audio front ends run one row, so these stay single-core: they
only move a few hundred samples."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops.registry import OpDef, Semantics, register, unsupported


@dataclass(frozen=True)
class DelayOptions:
    delay_length: int = 0


@dataclass(frozen=True)
class FramerOptions:
    frame_size: int = 0
    frame_step: int = 0
    prefill: bool = False


@dataclass(frozen=True)
class OverlapAddOptions:
    T: int = 0
    frame_step: int = 0


@dataclass(frozen=True)
class StackerOptions:
    num_channels: int = 0
    stacker_left_context: int = 0
    stacker_right_context: int = 0
    stacker_step: int = 0


@dataclass(frozen=True)
class StreamParams:
    rows: int
    frame: int  # samples per row (Delay), per frame (OverlapAdd: frame_size; Framer: frame_size)
    step: int = 0
    frames: int = 0  # per row and invocation
    line: int = 0  # held samples per row (the state's length)
    delay: int = 0
    prefill: bool = False
    channels: int = 0
    stack: int = 0  # Stacker: frames per output (left + right + 1)
    left: int = 0


def _t(node: Node, graph: Graph, k: int, output: bool = False):
    return graph.tensors[(node.outputs if output else node.inputs)[k]]


def _require(node: Node, cond: bool, why: str) -> None:
    if not cond:
        raise unsupported(node, why)


def _rows(node: Node, graph: Graph, inner_axes: int = 1) -> int:
    shape = _t(node, graph, 0).shape
    return int(np.prod(shape[:len(shape) - inner_axes], dtype=np.int64))


def _dtype(node: Node, graph: Graph, allowed: tuple, outputs: int = 1) -> None:
    x = _t(node, graph, 0)
    _require(node, x.dtype in allowed and _t(node, graph, 0, True).dtype == x.dtype,
             f"{x.dtype} in, {_t(node, graph, 0, True).dtype} out: TFLite Micro takes {' or '.join(allowed)}, "
             "the same in and out")
    if outputs == 2:
        _require(node, _t(node, graph, 1, True).dtype == "bool", "the second output (valid) must be bool")


def _io(node: Node) -> tuple:
    return tuple(node.inputs) + tuple(node.outputs)


def _call(kernel: str, p: StreamParams, node: Node) -> KernelCall:
    fields = (("rows", p.rows), ("frame", p.frame), ("step", p.step), ("frames", p.frames), ("line", p.line),
              ("delay", p.delay), ("prefill", int(p.prefill)), ("channels", p.channels), ("stack", p.stack),
              ("left", p.left))
    return KernelCall(kernel, "ariel_signal_stream_params", fields, _io(node), "signal_stream.c")


# ------------------------------------------------------------------------------- Delay

def _delay_check(node: Node, graph: Graph) -> None:
    _dtype(node, graph, ("int16",))
    _require(node, len(_t(node, graph, 0).shape) >= 1 and node.options.delay_length >= 0,
             "the input needs an axis to delay along and delay_length must be >= 0")


def _delay_prepare(node: Node, graph: Graph, semantics: Semantics) -> StreamParams:
    return StreamParams(rows=_rows(node, graph), frame=_t(node, graph, 0).shape[-1], delay=node.options.delay_length,
                        line=max(node.options.delay_length, 1))


def _delay_evaluate(p: StreamParams, inputs: list) -> list:
    x, line = inputs[0].reshape(p.rows, p.frame), inputs[1].reshape(p.rows, p.line)
    seq = np.concatenate([line[:, :p.delay], x], axis=1)
    new_line = line.copy()
    new_line[:, :p.delay] = seq[:, seq.shape[1] - p.delay:]
    return [seq[:, :p.frame].reshape(inputs[0].shape), new_line.reshape(inputs[1].shape)]


SIGNAL_DELAY = register(OpDef(
    name="SIGNAL_DELAY", custom_code="SignalDelay", tflite_options="flexbuffers", options_type=DelayOptions,
    check=_delay_check, infer_shapes=lambda node, graph: [tuple(_t(node, graph, 0).shape)], prepare=_delay_prepare,
    evaluate=_delay_evaluate, work_items=lambda node, graph: _rows(node, graph),
    lower=lambda node, graph, p: _call("ariel_signal_delay", p, node), num_inputs=(2, 2), num_outputs=(1, 1),
    state_inputs=(1,), internal_state=lambda node, graph: [((_rows(node, graph),
                                                             max(node.options.delay_length, 1)), "int16")]))


# ------------------------------------------------------------------------------- Framer

def _framer_geometry(node: Node, graph: Graph) -> tuple[int, int, int]:
    o = node.options
    capacity = -(-o.frame_size // o.frame_step) * o.frame_step
    return _rows(node, graph), _t(node, graph, 0).shape[-1] // o.frame_step, max(capacity - o.frame_step, 1)


def _framer_check(node: Node, graph: Graph) -> None:
    _dtype(node, graph, ("int16",), outputs=2)
    o, x = node.options, _t(node, graph, 0)
    _require(node, o.frame_size >= 1 and o.frame_step >= 1, "frame_size and frame_step must be >= 1")
    _require(node, not o.prefill or o.frame_size >= o.frame_step,
             f"prefill with frame_size {o.frame_size} < frame_step {o.frame_step} would prefill a negative count of "
             "zeros (TFLite Micro crashes); turn prefill off")
    _require(node, len(x.shape) >= 1 and x.shape[-1] >= o.frame_step and x.shape[-1] % o.frame_step == 0,
             f"the input's last axis ({x.shape}) must be a multiple of frame_step {o.frame_step}")


def _framer_shapes(node: Node, graph: Graph) -> list:
    _, frames, _ = _framer_geometry(node, graph)
    return [tuple(_t(node, graph, 0).shape[:-1]) + (frames, node.options.frame_size), ()]


def _framer_state(node: Node, graph: Graph) -> list:
    rows, _, line = _framer_geometry(node, graph)
    return [((rows, line), "int16"), ((rows,), "int32")]


def _framer_prepare(node: Node, graph: Graph, semantics: Semantics) -> StreamParams:
    rows, frames, line = _framer_geometry(node, graph)
    o = node.options
    return StreamParams(rows=rows, frame=o.frame_size, step=o.frame_step, frames=frames, line=line, prefill=o.prefill)


def _framer_evaluate(p: StreamParams, inputs: list) -> list:
    x = inputs[0].reshape(p.rows, p.frames, p.step)
    line, held = inputs[1].reshape(p.rows, p.line).copy(), inputs[2].copy()
    out = np.zeros((p.rows, p.frames, p.frame), dtype=np.int16)
    valid = True
    capacity = p.line + p.step
    for r in range(p.rows):
        # with prefill the line always holds frame_size - frame_step samples (zeros at first)
        filled = p.frame - p.step if p.prefill else int(held[r])
        for f in range(p.frames):
            seq = np.concatenate([line[r, :capacity - p.step], x[r, f]])
            available = filled + p.step
            if available >= p.frame:
                out[r, f] = seq[capacity - available:capacity - available + p.frame]
                available -= p.step
            else:
                valid = False
            line[r, :capacity - p.step] = seq[p.step:]
            filled = available
        held[r] = filled
    return [out.reshape(inputs[0].shape[:-1] + (p.frames, p.frame)), np.array(valid), line.reshape(inputs[1].shape),
            held]


SIGNAL_FRAMER = register(OpDef(
    name="SIGNAL_FRAMER", custom_code="SignalFramer", tflite_options="flexbuffers", options_type=FramerOptions,
    check=_framer_check, infer_shapes=_framer_shapes, prepare=_framer_prepare, evaluate=_framer_evaluate,
    work_items=lambda node, graph: _rows(node, graph),
    lower=lambda node, graph, p: _call("ariel_signal_framer", p, node),
    num_inputs=(3, 3), num_outputs=(2, 2), state_inputs=(1, 2), internal_state=_framer_state))


# ------------------------------------------------------------------------------- OverlapAdd

def _overlap_check(node: Node, graph: Graph) -> None:
    _dtype(node, graph, ("int16", "float32"))
    x, step = _t(node, graph, 0), node.options.frame_step
    _require(node, len(x.shape) >= 2, f"the input {x.shape} must be [..., frames, frame_size]")
    _require(node, 1 <= step <= x.shape[-1], f"frame_step {step} must be in 1..frame_size ({x.shape[-1]})")


def _overlap_prepare(node: Node, graph: Graph, semantics: Semantics) -> StreamParams:
    x = _t(node, graph, 0)
    return StreamParams(rows=_rows(node, graph, 2), frame=x.shape[-1], step=node.options.frame_step,
                        frames=x.shape[-2], line=x.shape[-1])


def _overlap_evaluate(p: StreamParams, inputs: list) -> list:
    x = inputs[0].reshape(p.rows, p.frames, p.frame)
    acc = inputs[1].reshape(p.rows, p.frame).copy()
    out = np.zeros((p.rows, p.frames, p.step), dtype=x.dtype)
    for f in range(p.frames):
        if x.dtype == np.int16:
            acc = np.clip(acc.astype(np.int32) + x[:, f], -32768, 32767).astype(np.int16)
        else:
            acc = (acc + x[:, f]).astype(np.float32)
        out[:, f] = acc[:, :p.step]
        acc = np.concatenate([acc[:, p.step:], np.zeros((p.rows, p.step), dtype=acc.dtype)], axis=1)
    return [out.reshape(inputs[0].shape[:-2] + (p.frames * p.step,)), acc.reshape(inputs[1].shape)]


SIGNAL_OVERLAP_ADD = register(OpDef(
    name="SIGNAL_OVERLAP_ADD", custom_code="SignalOverlapAdd", tflite_options="flexbuffers",
    options_type=OverlapAddOptions, check=_overlap_check,
    infer_shapes=lambda node, graph: [tuple(_t(node, graph, 0).shape[:-2])
                                      + (_t(node, graph, 0).shape[-2] * node.options.frame_step,)],
    prepare=_overlap_prepare, evaluate=_overlap_evaluate, macs=lambda node, graph: _t(node, graph, 0).num_elements,
    work_items=lambda node, graph: _rows(node, graph, 2),
    lower=lambda node, graph, p: _call("ariel_signal_overlap_add_" + ("s16" if _t(node, graph, 0).dtype == "int16"
                                                                      else "f32"), p, node),
    num_inputs=(2, 2), num_outputs=(1, 1), state_inputs=(1,),
    internal_state=lambda node, graph: [((_rows(node, graph, 2), _t(node, graph, 0).shape[-1]),
                                         _t(node, graph, 0).dtype)]))


# ------------------------------------------------------------------------------- Stacker

def _stacker_check(node: Node, graph: Graph) -> None:
    _dtype(node, graph, ("int16",), outputs=2)
    o, x = node.options, _t(node, graph, 0)
    stack = o.stacker_left_context + o.stacker_right_context + 1
    _require(node, x.shape == (o.num_channels,) and o.num_channels >= 1,
             f"the input {x.shape} must be 1-D with num_channels = {o.num_channels} values")
    _require(node, o.stacker_left_context >= 0 and o.stacker_right_context >= 0 and 1 <= o.stacker_step <= stack,
             "the contexts must be >= 0 and stacker_step in 1..left + right + 1")


def _stacker_prepare(node: Node, graph: Graph, semantics: Semantics) -> StreamParams:
    o = node.options
    stack = o.stacker_left_context + o.stacker_right_context + 1
    return StreamParams(rows=1, frame=o.num_channels * stack, step=o.stacker_step, channels=o.num_channels,
                        stack=stack, left=o.stacker_left_context, line=o.num_channels * stack)


def _stacker_evaluate(p: StreamParams, inputs: list) -> list:
    x, line, counters = inputs[0], inputs[1], inputs[2]
    available, started = int(counters[0]), int(counters[1])
    seq = np.concatenate([line[:available], x])
    if not started:  # the first frame is repeated `left` more times
        seq = np.concatenate([seq] + [x] * p.left)
        started = 1
    out = np.zeros(p.frame, dtype=np.int16)
    valid = len(seq) >= p.frame
    if valid:
        out[:] = seq[:p.frame]
        seq = seq[p.channels * p.step:]
    new_line = np.zeros_like(line)
    new_line[:len(seq)] = seq
    return [out, np.array(valid), new_line, np.array([len(seq), started], dtype=np.int32)]


SIGNAL_STACKER = register(OpDef(
    name="SIGNAL_STACKER", custom_code="SignalStacker", tflite_options="flexbuffers", options_type=StackerOptions,
    check=_stacker_check,
    infer_shapes=lambda node, graph: [(node.options.num_channels * (node.options.stacker_left_context
                                                                    + node.options.stacker_right_context + 1),), ()],
    prepare=_stacker_prepare, evaluate=_stacker_evaluate, work_items=None,
    lower=lambda node, graph, p: _call("ariel_signal_stacker", p, node), num_inputs=(3, 3), num_outputs=(2, 2),
    state_inputs=(1, 2),
    internal_state=lambda node, graph: [((node.options.num_channels * (node.options.stacker_left_context
                                                                       + node.options.stacker_right_context + 1),),
                                         "int16"), ((2,), "int32")]))
