"""A batch-1 LSTM on several cores, split over its hidden units: Plan -> Plan (before `lower`).

UNIDIRECTIONAL_SEQUENCE_LSTM splits over batch rows (ops/lstm.py), so a stream of batch 1, the
usual case on a microcontroller, would run on one core. Within one time step the units are
independent (each reads the whole previous output state and its own cell), but step t + 1 reads
all of step t's output state: a barrier between steps. So the layer becomes

    ARIEL_LSTM_STEP(t = 0, previous = output state)        -> h_0   (work items: units)
    ARIEL_LSTM_STEP(t = 1, previous = h_0)                 -> h_1
    ...
    ARIEL_LSTM_STEP(t = T-1, previous = h_{T-2})           -> h_{T-1}
    ASSIGN_VARIABLE(output state, h_{T-1})

with h_t placed inside the layer's output at step t's row (Plan.alias), so the sequence output is
written where it belongs and nothing is copied but the last output state. The cell state is updated
in place by each step (a unit touches only its own cell).

Applied when more than one core runs the model, the batch is 1 and one step has enough work to
repay its barrier (MIN_STEP_MACS); at most MAX_STEPS steps (each is a row of the op table). The
reference executor keeps the LSTM node; the steps are checked against it."""
from __future__ import annotations

import dataclasses

from arielml.ir import Node, Tensor
from arielml.ops import lstm
from arielml.ops.lstm_step import LSTM_STEP, step_options
from arielml.ops.resource_variables import ASSIGN_MARKER_SHAPE
from arielml.passes.plan import Plan

LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
MIN_STEP_MACS = 4096  # a barrier costs a few hundred cycles; a step below this is not worth splitting
MAX_STEPS = 512


def _splittable(plan: Plan, node: Node) -> bool:
    if node.op != LSTM or plan.options.cores < 2:
        return False
    graph = plan.graph
    batch, time, size, cells = lstm._sizes(node, graph)
    return batch == 1 and time <= MAX_STEPS and 4 * cells * (size + cells) >= MIN_STEP_MACS


def split_lstm_steps(plan: Plan) -> Plan:
    graph = plan.graph
    if not any(_splittable(plan, n) for n in graph.nodes):
        return plan
    tensors, nodes, notes = list(graph.tensors), [], list(plan.notes)
    alias = list(plan.alias or range(len(tensors)))
    offset = list(plan.alias_offset or [0] * len(tensors))

    def new_tensor(tensor: Tensor, target: int, at: int) -> int:
        tensors.append(tensor)
        alias.append(target)
        offset.append(at)
        return len(tensors) - 1

    for node in graph.nodes:
        if not _splittable(plan, node):
            nodes.append(node)
            continue
        _, time, _, cells = lstm._sizes(node, graph)
        out = node.outputs[0]
        template = graph.tensors[out]
        row = cells * template.np_dtype.itemsize  # batch 1: step t's outputs are row t, either layout
        previous = node.inputs[lstm.OUTPUT_STATE]
        for t in range(time):
            h_t = new_tensor(dataclasses.replace(template, name=f"{template.name}/step{t}", shape=(1, cells),
                                                 data=None, variable=False, initial=None), out, t * row)
            inputs = list(node.inputs)
            inputs[lstm.OUTPUT_STATE] = previous
            nodes.append(Node(LSTM_STEP, tuple(inputs), (h_t,), step_options(node.options, t), index=node.index))
            previous = h_t
        marker = new_tensor(Tensor(name=f"lstm{node.index}/assign", shape=ASSIGN_MARKER_SHAPE, dtype="int8"),
                            len(tensors), 0)  # its own root
        nodes.append(Node("ASSIGN_VARIABLE", (node.inputs[lstm.OUTPUT_STATE], previous), (marker,), index=node.index))
        notes.append(f"{LSTM} #{node.index}: batch 1 on {plan.options.cores} cores: {time} steps split over its "
                     f"{cells} hidden units (a barrier between steps)")
    split = dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(nodes))
    return dataclasses.replace(plan, graph=split, notes=tuple(notes), alias=tuple(alias),
                               alias_offset=tuple(offset))
