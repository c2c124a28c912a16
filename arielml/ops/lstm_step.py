"""ARIEL_LSTM_STEP (compiler-only): one time step of a UNIDIRECTIONAL_SEQUENCE_LSTM, split over
hidden units. passes/lstm_steps.py lowers a batch-1 LSTM to one such node per time step when
several cores run the model: a step reads the whole previous output state, so the steps need a
barrier between them, which one kernel call over batch rows cannot give.

Inputs: the LSTM's own 24 (same positions), except that position 18 holds the previous output
state (the layer's output state for step 0, the previous step's output after). Output: this step's
output state [batch, cells]. The cell state (19) is updated in place, unit by unit. Options: the
LSTM's, plus the step's index into the input sequence. Arithmetic: the LSTM's (ops/lstm.py)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import Graph, Node
from arielml.ops import lstm, lstm_hybrid
from arielml.ops.registry import OpDef, Semantics, register

LSTM_STEP = "ARIEL_LSTM_STEP"


@dataclass(frozen=True)
class LSTMStepOptions(lstm.LSTMOptions):
    step: int = 0  # the time step of the input sequence this node computes


@dataclass(frozen=True)
class LSTMStepParams:
    layer: lstm.LSTMParams
    step: int


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    batch, _, _, cells = lstm._sizes(node, graph)
    return [(batch, cells)]


def prepare(node: Node, graph: Graph, semantics: Semantics) -> LSTMStepParams:
    return LSTMStepParams(lstm.prepare(node, graph, semantics), node.options.step)


def evaluate(p: LSTMStepParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    layer = p.layer
    x = inputs[lstm.INPUT]
    x_t = x[p.step] if layer.time_major else x[:, p.step]  # [batch, features]
    hidden = inputs[lstm.OUTPUT_STATE].reshape(layer.batch, layer.cells)
    cell = inputs[lstm.CELL_STATE].reshape(layer.batch, layer.cells).copy()
    step = lstm.step_function(layer)
    out = np.zeros((layer.batch, layer.cells), dtype=x.dtype)
    for b in range(layer.batch):
        out[b], cell[b] = step(layer, x_t[b], hidden[b], cell[b])
    return [out, cell.reshape(inputs[lstm.CELL_STATE].shape)]


def macs(node: Node, graph: Graph) -> int:
    batch, _, size, cells = lstm._sizes(node, graph)
    return batch * 4 * cells * (size + cells)


def work_items(node: Node, graph: Graph) -> int:
    batch, _, _, cells = lstm._sizes(node, graph)
    return batch * cells


def lower(node: Node, graph: Graph, p: LSTMStepParams) -> KernelCall:
    call = lstm.lower(node, graph, p.layer)  # the same params struct; identical arrays are emitted once
    buffers = (node.inputs[lstm.INPUT], node.inputs[lstm.OUTPUT_STATE], node.inputs[lstm.CELL_STATE], node.outputs[0])
    # the hybrid step quantises a row's input and previous output state into per-core scratch
    scratch = call.scratch_bytes if p.layer.arithmetic == lstm_hybrid.HYBRID else 0
    return dataclasses.replace(call, kernel=call.kernel.replace("ariel_lstm_", "ariel_lstm_step_"), buffers=buffers,
                               fields=call.fields + (("step", p.step),), scratch_bytes=scratch)


def step_options(options: lstm.LSTMOptions, step: int) -> LSTMStepOptions:
    return LSTMStepOptions(**dataclasses.asdict(options), step=step)


LSTM_STEP_OP = register(OpDef(
    name=LSTM_STEP, infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate, options_type=LSTMStepOptions,
    macs=macs, check=lstm.check, work_items=work_items, lower=lower, num_inputs=(20, 24), num_outputs=(1, 1),
    optional_inputs=lstm.UNIDIRECTIONAL_SEQUENCE_LSTM.optional_inputs, state_inputs=(lstm.CELL_STATE,),
    compiler_only=True))
