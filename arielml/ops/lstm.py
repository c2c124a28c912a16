"""UNIDIRECTIONAL_SEQUENCE_LSTM: the Keras LSTM layer over a sequence, its hidden state (TFLite's
"output state") and cell state kept in variable tensors across invocations.

Inputs (the schema's order): 0 input [batch, time, in] ([time, batch, in] when time_major);
1-4 input-to-{input, forget, cell, output} weights [cell, in]; 5-8 recurrent-to-{...} weights
[cell, out]; 9-11 peephole weights; 12-15 {input, forget, cell, output} gate biases [cell];
16-17 projection weights/bias; 18 output state [batch, out] (variable); 19 cell state
[batch, cell] (variable); 20-23 layer-norm coefficients. Output [batch, time, out] (or time-major).

Per batch row and time step t, with h = the output state and c = the cell state:
  gate_k = act_k(W_k x_t + b_k + R_k h)      k = input, forget, output: sigmoid; cell: tanh
  c = forget * c + input * cell_gate, clipped to +-cell_clip when cell_clip > 0
  h = output * tanh(c); the output at t is h.

Covered: the Keras LSTM as TFLite Micro runs it (all four gates, no peephole, no projection, no
layer norm, tanh activation), in float32, int8 activations with int16 cell state (int8 weights,
int32 biases), int16 activations (int8 weights, int64 biases), and hybrid (float32 activations,
int8 weights with one scale each: ops/lstm_hybrid.py, LiteRT's arithmetic), time_major either way.
Refused with UnsupportedOperatorError naming the feature: CIFG (no input gate), peephole,
projection, layer norm, activations other than TANH.

Arithmetic: int8 layers under semantics "litert" (the default; "onnxruntime" too) compute LiteRT's
8x8_16 integer LSTM, bit-exact with its reference interpreter (ops/lstm_litert.py; it reads the
hidden intermediate tensor's quantisation, which the frontend keeps in the options). Everything
else is TFLite Micro's (tensorflow/lite/micro/kernels/lstm_eval.h): int8 under "tflm", int16
activations (LiteRT has no such LSTM) and float32 under every semantics (docs/semantics.md):
- float32: each gate is (the input dot product summed in index order + bias) + (the recurrent dot
  product summed in index order); sigmoid is TFLite's reference logistic (1 above 16.619, expf(x)
  below -9, else 1 / (1 + expf(-x))), tanh is tanhf; c = f * c, then c + i * g, clipped; h =
  tanh(c) * o.
- integer: each gate's two fully connected products are requantised separately to int16 at scale
  2^-12 (input scale x weight scale / 2^-12, the product of the two float scales taken in float32),
  added with int16 saturation, then TFLite's int16 sigmoid/tanh (interpolated table, output
  Q0.15). forget x c (scale 2^-15) and input x cell gate (2^-30 / cell scale) are requantised to
  int16, added with saturation and clipped; h = tanh(c) x o requantised to the output state's
  scale and zero point. The cell scale must be a power of two (tanh reads the cell state through
  a shift). All requantisations round twice (gemmlowp's MultiplyByQuantizedMultiplier).

Work items: batch rows. A row's whole sequence is independent of every other row's (its own
state rows), so rows split across cores with no shared writes. A batch-1 layer on several cores is
split over hidden units instead, one op per time step with a barrier between them
(passes/lstm_steps.py, ops/lstm_step.py)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops import lstm_hybrid, lstm_litert
from arielml.ops.kernel_support import check_shifts, rounding_code
from arielml.ops.lookup_tables import c_float_function
from arielml.ops.nonlinear import SIGMOID_TABLE, Int16SigmoidActivation
from arielml.ops.quant_math import (DOUBLE_ROUNDING, multiply_by_quantized_multiplier,
                                    multiply_by_quantized_multiplier_int64, quantize_multiplier)
from arielml.ops.registry import OpDef, Semantics, register, unsupported

INPUT = 0
INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output}
RECURRENT_WEIGHTS = (5, 6, 7, 8)
PEEPHOLE = (9, 10, 11)
BIASES = (12, 13, 14, 15)
PROJECTION = (16, 17)
OUTPUT_STATE, CELL_STATE = 18, 19
LAYER_NORM = (20, 21, 22, 23)
GATE_INPUT, GATE_FORGET, GATE_CELL, GATE_OUTPUT = range(4)
GATE_NAMES = ("input", "forget", "cell", "output")
ACTIVATION_TANH = 4
GATE_INPUT_SCALE = 2.0 ** -12  # the int16 gate pre-activations are Q3.12
GATE_OUTPUT_SCALE = 2.0 ** -15  # sigmoid / tanh outputs are Q0.15


@dataclass(frozen=True)
class LSTMOptions:
    fused_activation_function: int = 0
    cell_clip: float = 0.0
    proj_clip: float = 0.0
    time_major: bool = False
    asymmetric_quantize_inputs: bool = False
    diagonal_recurrent_tensors: bool = False
    # the quantisation of the operator's intermediate tensors, ((scale, zero point) or None, ...),
    # filled by the frontend: LiteRT's integer LSTM reads them (ops/lstm_litert.py)
    intermediates: tuple = field(default=(), metadata={"compiler_only": True})


@dataclass(frozen=True)
class GateRequant:
    """One gate's two fully connected products -> int16 at scale 2^-12."""
    input_scale: tuple[int, int]
    recurrent_scale: tuple[int, int]


@dataclass(frozen=True)
class LSTMParams:
    batch: int
    time_steps: int
    input_size: int
    cells: int
    time_major: bool
    dtype: str  # float32, int8 or int16 (the activations)
    input_weights: tuple[np.ndarray, ...]  # per gate, [cells, input_size]
    recurrent_weights: tuple[np.ndarray, ...]  # per gate, [cells, cells]
    biases: tuple[np.ndarray, ...]  # per gate, [cells]
    cell_clip: float = 0.0  # float32
    quantized_cell_clip: int = 0  # integer (0: no clipping)
    input_zero_point: int = 0
    hidden_zero_point: int = 0
    gates: tuple[GateRequant, ...] = ()
    forget_scale: tuple[int, int] = (0, 0)  # forget x cell -> cell (2^-15)
    update_scale: tuple[int, int] = (0, 0)  # input gate x cell gate -> cell
    hidden_scale: tuple[int, int] = (0, 0)  # tanh(cell) x output gate -> hidden state
    tanh_multiplier: int = 3  # tanh of the cell state: (c * multiplier + round) >> shift
    tanh_shift: int = 0
    rounding: str = DOUBLE_ROUNDING
    arithmetic: str = "tflm"  # "litert": LiteRT's int8 LSTM (ops/lstm_litert.py)
    cell_scale_power: int = 0  # litert: the cell scale is 2^cell_scale_power
    output_zero_point: int = 0  # litert: the new output state's zero point (the fifth intermediate's)
    weight_scales: tuple[float, ...] = ()  # hybrid: float32 scales, input weights per gate, then recurrent
    asymmetric_inputs: bool = False  # hybrid: rows quantised with a zero point (asymmetric_quantize_inputs)


def _tensor(graph: Graph, node: Node, k: int):
    return graph.tensor(node.inputs[k]) if k < len(node.inputs) else None


def _sizes(node: Node, graph: Graph) -> tuple[int, int, int, int]:
    """(batch, time steps, input size, cells)."""
    x = graph.tensors[node.inputs[INPUT]]
    forget = graph.tensors[node.inputs[INPUT_WEIGHTS[GATE_FORGET]]]
    time, batch = (x.shape[0], x.shape[1]) if node.options.time_major else (x.shape[1], x.shape[0])
    return batch, time, x.shape[2], forget.shape[0]


def check(node: Node, graph: Graph) -> None:
    o = node.options
    x = graph.tensors[node.inputs[INPUT]]
    out = graph.tensors[node.outputs[0]]
    if len(x.shape) != 3:
        raise unsupported(node, f"input {x.shape} must be 3-D ([batch, time, features] or time-major)")
    present = lambda ks: [k for k in ks if _tensor(graph, node, k) is not None]  # noqa: E731
    if len(present((1, 5, 12))) == 0:
        raise unsupported(node, "CIFG LSTM (no input gate: coupled input and forget gates) is not supported; "
                                "TFLite Micro refuses it too")
    if present((1, 5, 12)) != [1, 5, 12]:
        raise unsupported(node, "the input gate's weights and bias must all be present")
    if present(PEEPHOLE):
        raise unsupported(node, "peephole connections (inputs 9-11) are not supported (TFLite Micro refuses them too)")
    if present(PROJECTION):
        raise unsupported(node, "the projection layer (inputs 16-17) is not supported (TFLite Micro refuses it too)")
    if present(LAYER_NORM):
        raise unsupported(node, "layer-norm LSTM (inputs 20-23) is not supported (TFLite Micro refuses it too)")
    if o.fused_activation_function != ACTIVATION_TANH:
        raise unsupported(node, f"activation code {o.fused_activation_function} is not supported; the Keras "
                                "LSTM's TANH (4) is")
    if o.diagonal_recurrent_tensors:
        raise unsupported(node, "diagonal recurrent weights are not supported")
    if o.cell_clip < 0 or o.proj_clip < 0:
        raise unsupported(node, "cell_clip and proj_clip must be >= 0")
    batch, time, size, cells = _sizes(node, graph)
    weights = [graph.tensors[node.inputs[k]] for k in INPUT_WEIGHTS + RECURRENT_WEIGHTS]
    biases = [graph.tensors[node.inputs[k]] for k in BIASES]
    for w in weights[:4]:
        if w.shape != (cells, size):
            raise unsupported(node, f"input weights '{w.name}' {w.shape} must be [{cells}, {size}]")
    for w in weights[4:]:
        if w.shape != (cells, cells):
            raise unsupported(node, f"recurrent weights '{w.name}' {w.shape} must be [{cells}, {cells}]")
    for b in biases:
        if b.shape != (cells,):
            raise unsupported(node, f"gate bias '{b.name}' {b.shape} must be [{cells}]")
    if not all(t.is_constant for t in weights + biases):
        raise unsupported(node, "weights and biases must be constant")
    hidden = graph.tensors[node.inputs[OUTPUT_STATE]]
    cell = graph.tensors[node.inputs[CELL_STATE]]
    if hidden.num_elements != batch * cells or cell.num_elements != batch * cells:
        raise unsupported(node, f"output state {hidden.shape} and cell state {cell.shape} must hold batch x cells "
                                f"= {batch * cells} values")
    if x.dtype == "float32":
        if lstm_hybrid.is_hybrid(graph, node, INPUT, INPUT_WEIGHTS[GATE_FORGET]):
            why = lstm_hybrid.refusal(weights, biases, [hidden, cell, out])
            if why is not None:
                raise unsupported(node, why)
        elif any(t.dtype != "float32" for t in weights + biases + [hidden, cell, out]):
            raise unsupported(node, "a float32 LSTM takes float32 weights, biases and states (or int8 weights with "
                                    "one scale each: a hybrid LSTM)")
        return
    bias_type = {"int8": "int32", "int16": "int64"}.get(x.dtype)
    if bias_type is None:
        raise unsupported(node, f"{x.dtype} input is not supported (float32, int8 or int16)")
    if any(w.dtype != "int8" for w in weights) or any(b.dtype != bias_type for b in biases) \
            or (hidden.dtype, cell.dtype, out.dtype) != (x.dtype, "int16", x.dtype):
        raise unsupported(node, f"an integer LSTM with {x.dtype} input takes int8 weights, {bias_type} biases, an "
                                f"{x.dtype} output state and output and an int16 cell state")
    for t in weights + [x, hidden, cell, out]:
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"tensor '{t.name}' needs per-tensor quantisation parameters")
    if any(w.quant.single_zero_point != 0 for w in weights) or cell.quant.single_zero_point != 0:
        raise unsupported(node, "weights and the cell state must be symmetric (zero point 0)")
    if x.dtype == "int16" and (x.quant.single_zero_point or hidden.quant.single_zero_point):
        raise unsupported(node, "int16 activations must be symmetric (zero point 0)")
    if (out.quant.single_scale, out.quant.single_zero_point) != (hidden.quant.single_scale,
                                                                 hidden.quant.single_zero_point):
        raise unsupported(node, "the output must have the output state's scale and zero point (the kernels copy "
                                "the state to the output)")
    mantissa, _ = math.frexp(cell.quant.single_scale)
    if mantissa != 0.5 or _cell_scale_power(cell.quant.single_scale) > -4:
        raise unsupported(node, f"the cell state's scale {cell.quant.single_scale} must be a power of two no larger "
                                "than 2^-4 (TFLite Micro's tanh reads the cell state through a shift)")


def _cell_scale_power(scale: float) -> int:
    return math.frexp(scale)[1] - 1


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[INPUT]]
    return [tuple(x.shape[:-1]) + (_sizes(node, graph)[3],)]


def macs(node: Node, graph: Graph) -> int:
    batch, time, size, cells = _sizes(node, graph)
    return batch * time * 4 * cells * (size + cells)


def _fc_scale(input_scale: float, weight_scale: float) -> tuple[int, int]:
    # TFLite Micro's GetQuantizedConvolutionMultipler (no bias): the scales' product in float32,
    # then divided in double
    product = float(np.float32(np.float32(input_scale) * np.float32(weight_scale)))
    return quantize_multiplier(product / GATE_INPUT_SCALE)


def _mul_scale(a: float, b: float, out: float) -> tuple[int, int]:
    # CreateInterGateMulParams: double product over double scale
    return quantize_multiplier(float(np.float32(a)) * float(np.float32(b)) / float(np.float32(out)))


def prepare(node: Node, graph: Graph, semantics: Semantics) -> LSTMParams:
    x = graph.tensors[node.inputs[INPUT]]
    batch, time, size, cells = _sizes(node, graph)
    wx = tuple(graph.tensors[node.inputs[k]] for k in INPUT_WEIGHTS)
    wh = tuple(graph.tensors[node.inputs[k]] for k in RECURRENT_WEIGHTS)
    biases = tuple(graph.tensors[node.inputs[k]].data for k in BIASES)
    common = dict(batch=batch, time_steps=time, input_size=size, cells=cells, time_major=bool(node.options.time_major),
                  dtype=x.dtype, input_weights=tuple(w.data for w in wx), recurrent_weights=tuple(w.data for w in wh),
                  biases=biases)
    if lstm_hybrid.is_hybrid(graph, node, INPUT, INPUT_WEIGHTS[GATE_FORGET]):
        return LSTMParams(cell_clip=float(np.float32(node.options.cell_clip)), arithmetic=lstm_hybrid.HYBRID,
                          weight_scales=lstm_hybrid.weight_scales(wx + wh),
                          asymmetric_inputs=bool(node.options.asymmetric_quantize_inputs), **common)
    if x.dtype == "float32":
        return LSTMParams(cell_clip=float(np.float32(node.options.cell_clip)), **common)
    hidden = graph.tensors[node.inputs[OUTPUT_STATE]]
    cell_scale = graph.tensors[node.inputs[CELL_STATE]].quant.single_scale
    gates = tuple(GateRequant(_fc_scale(x.quant.single_scale, wx[k].quant.single_scale),
                              _fc_scale(hidden.quant.single_scale, wh[k].quant.single_scale)) for k in range(4))
    clip = float(np.float32(node.options.cell_clip))
    quantized_clip = int(min(max(clip / float(np.float32(cell_scale)), -32768.0), 32767.0)) if clip > 0 else 0
    # TFLite Micro's Tanh(cell_state_scale_power): a left shift of 15 + power - 3 folded into the
    # multiplier 3 (the table's 1/(3*4096) input unit), or a rounding right shift when negative
    left = 15 + _cell_scale_power(cell_scale) - 3
    tanh_multiplier, tanh_shift = (3 << left, 0) if left >= 0 else (3, -left)
    if lstm_litert.uses_litert(graph, node, semantics):
        power = _cell_scale_power(cell_scale)
        lstm_litert.check_cell_power(node, power)
        scale, zero_point = lstm_litert.hidden_quantisation(node)
        return LSTMParams(quantized_cell_clip=quantized_clip, input_zero_point=x.quant.single_zero_point,
                          hidden_zero_point=hidden.quant.single_zero_point, gates=gates,
                          hidden_scale=lstm_litert.hidden_scale(scale), rounding=DOUBLE_ROUNDING,
                          arithmetic=lstm_litert.LITERT, cell_scale_power=power, output_zero_point=zero_point,
                          **common)
    return LSTMParams(quantized_cell_clip=quantized_clip, input_zero_point=x.quant.single_zero_point,
                      hidden_zero_point=hidden.quant.single_zero_point, gates=gates,
                      forget_scale=_mul_scale(GATE_OUTPUT_SCALE, cell_scale, cell_scale),
                      update_scale=_mul_scale(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cell_scale),
                      hidden_scale=_mul_scale(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.quant.single_scale),
                      tanh_multiplier=tanh_multiplier, tanh_shift=tanh_shift, **common)


# --- numpy reference ---------------------------------------------------------------------------

def _ordered_dot(weights: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """float32 row dot products summed in index order from 0 (TFLite Micro's reference loops)."""
    acc = np.zeros(weights.shape[0], dtype=np.float32)
    for c in range(weights.shape[1]):
        acc = (acc + weights[:, c] * vector[c]).astype(np.float32)
    return acc


_expf = c_float_function("exp")
_tanhf = c_float_function("tanh")


def _sigmoid_f32(v: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        body = (np.float32(1) / (np.float32(1) + _expf(-v))).astype(np.float32)
        return np.where(v > np.float32(16.619047164916992188), np.float32(1),
                        np.where(v < np.float32(-9), _expf(v), body)).astype(np.float32)


def _float_step(p: LSTMParams, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(all="ignore"):
        pre = [((_ordered_dot(p.input_weights[k], x) + p.biases[k]).astype(np.float32)
                + _ordered_dot(p.recurrent_weights[k], h)).astype(np.float32) for k in range(4)]
        i, f, o = (_sigmoid_f32(pre[k]) for k in (GATE_INPUT, GATE_FORGET, GATE_OUTPUT))
        g = _tanhf(pre[GATE_CELL])
        c = ((f * c).astype(np.float32) + (i * g).astype(np.float32)).astype(np.float32)
        if p.cell_clip > 0:
            # std::max(std::min(clip, c), -clip): std::min gives clip for NaN
            bound = np.float32(p.cell_clip)
            c = np.where(c < bound, c, bound)
            c = np.where(c < -bound, -bound, c).astype(np.float32)
        h = (_tanhf(c) * o).astype(np.float32)
    return h, c


def _integer_dot(weights: np.ndarray, vector: np.ndarray, zero_point: int) -> np.ndarray:
    return weights.astype(np.int64) @ (vector.astype(np.int64) - zero_point)


def _requantize(acc: np.ndarray, scale: tuple[int, int], p: LSTMParams) -> np.ndarray:
    if p.dtype == "int16":  # int64 accumulators: TFLite's reduced-multiplier variant
        return multiply_by_quantized_multiplier_int64(acc, *scale)
    return multiply_by_quantized_multiplier(acc, *scale, rounding=p.rounding)


def _clamp16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -32768, 32767)


def _integer_step(p: LSTMParams, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sigmoid = Int16SigmoidActivation("logistic", 3, 0)
    gate_tanh = Int16SigmoidActivation("tanh", 3, 0)
    cell_tanh = Int16SigmoidActivation("tanh", p.tanh_multiplier, p.tanh_shift)
    values = []
    for k in range(4):
        from_input = _clamp16(_requantize(_integer_dot(p.input_weights[k], x, p.input_zero_point)
                                          + p.biases[k].astype(np.int64), p.gates[k].input_scale, p))
        from_hidden = _clamp16(_requantize(_integer_dot(p.recurrent_weights[k], h, p.hidden_zero_point),
                                           p.gates[k].recurrent_scale, p))
        pre = _clamp16(from_input + from_hidden).astype(np.int16)
        values.append((gate_tanh if k == GATE_CELL else sigmoid).apply(pre).astype(np.int64))
    i, f, g, o = values
    mul = lambda a, b, scale: multiply_by_quantized_multiplier(a * b, *scale, rounding=p.rounding)  # noqa: E731
    kept = _clamp16(mul(f, c.astype(np.int64), p.forget_scale))
    added = _clamp16(mul(i, g, p.update_scale))
    c = _clamp16(kept + added)
    if p.quantized_cell_clip > 0:
        c = np.clip(c, -p.quantized_cell_clip, p.quantized_cell_clip)
    c = c.astype(np.int16)
    info = np.iinfo(p.dtype)
    hidden = mul(cell_tanh.apply(c).astype(np.int64), o, p.hidden_scale) + p.hidden_zero_point
    return np.clip(hidden, info.min, info.max).astype(p.dtype), c


def step_function(p: LSTMParams):
    if p.arithmetic == lstm_hybrid.HYBRID:
        return lstm_hybrid.step
    if p.dtype == "float32":
        return _float_step
    return lstm_litert.step if p.arithmetic == lstm_litert.LITERT else _integer_step


def evaluate(p: LSTMParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x = inputs[INPUT]
    hidden = inputs[OUTPUT_STATE].reshape(p.batch, p.cells).copy()
    cell = inputs[CELL_STATE].reshape(p.batch, p.cells).copy()
    sequence = x if p.time_major else np.swapaxes(x, 0, 1)  # [time, batch, features]
    out = np.zeros((p.time_steps, p.batch, p.cells), dtype=x.dtype)
    step = step_function(p)
    for t in range(p.time_steps):
        for b in range(p.batch):
            hidden[b], cell[b] = step(p, sequence[t, b], hidden[b], cell[b])
            out[t, b] = hidden[b]
    out = out if p.time_major else np.swapaxes(out, 0, 1)
    return [np.ascontiguousarray(out), hidden.reshape(inputs[OUTPUT_STATE].shape),
            cell.reshape(inputs[CELL_STATE].shape)]


# --- C lowering --------------------------------------------------------------------------------

def work_items(node: Node, graph: Graph) -> int:
    return _sizes(node, graph)[0]


def lower(node: Node, graph: Graph, p: LSTMParams) -> KernelCall:
    # An op has at most ARIEL_MAX_BUFFERS (10) buffers, the LSTM 12 constant tensors: the weights and
    # biases go to the kernel as compile-time arrays (gate order: input, forget, cell, output)
    buffers = (node.inputs[INPUT], node.inputs[OUTPUT_STATE], node.inputs[CELL_STATE], node.outputs[0])
    if p.arithmetic == lstm_hybrid.HYBRID:
        return lstm_hybrid.lower(node, p, buffers)
    element = np.dtype(p.dtype).itemsize
    weight_type = "float" if p.dtype == "float32" else "int8_t"
    fields = [("batch", p.batch), ("time_steps", p.time_steps), ("input_size", p.input_size), ("cells", p.cells),
              ("time_major", int(p.time_major)),
              ("input_weights", CArray.of(weight_type, np.concatenate([w.ravel() for w in p.input_weights]))),
              ("recurrent_weights", CArray.of(weight_type, np.concatenate([w.ravel() for w in p.recurrent_weights])))]
    biases = np.concatenate([b.ravel() for b in p.biases])
    # per-core scratch: the new output state of one row (every unit reads the old one meanwhile)
    scratch = p.cells * element
    if p.dtype == "float32":
        fields += [("float_biases", CArray.of("float", biases)), ("cell_clip", p.cell_clip)]
        return KernelCall("ariel_lstm_f32", "ariel_lstm_params", tuple(fields), buffers, "lstm.c", scratch_bytes=scratch)
    offsets = np.zeros(4 * p.cells, dtype=np.int64)
    if p.dtype == "int8":  # the zero points folded into per-row constants (exact integer identities)
        biases = biases.astype(np.int64) - p.input_zero_point * np.concatenate(
            [w.astype(np.int64).sum(axis=1) for w in p.input_weights])
        offsets = -p.hidden_zero_point * np.concatenate([w.astype(np.int64).sum(axis=1) for w in p.recurrent_weights])
        if np.abs(biases).max() >= 2 ** 31 - 2 ** 28:  # keep the folded sums clear of int32 overflow
            raise unsupported(node, "gate biases too large for the int8 kernel's int32 sums")
    if p.dtype == "int16":  # int64 biases as (low word, high word) pairs: CArray has no int64 type
        wide = biases.astype(np.int64)
        biases = np.stack([(wide & 0xFFFFFFFF).astype(np.uint32).view(np.int32), (wide >> 32).astype(np.int32)],
                          axis=1).ravel()
    gate_scales = []
    for g in p.gates:
        gate_scales += [*g.input_scale, *g.recurrent_scale]
    for multiplier, shift in [*(tuple(gate_scales[i:i + 2]) for i in range(0, 16, 2)), p.forget_scale,
                              p.update_scale, p.hidden_scale]:
        check_shifts(node, np.array([shift]), hi=14 if p.dtype == "int16" else 30)
    fields += [("biases", CArray.of("int32_t", biases)), ("recurrent_offsets", CArray.of("int32_t", offsets)),
               ("quantized_cell_clip", p.quantized_cell_clip), ("input_zero_point", p.input_zero_point),
               ("hidden_zero_point", p.hidden_zero_point), ("gate_scales", CArray.of("int32_t", gate_scales)),
               ("forget_multiplier", p.forget_scale[0]), ("forget_shift", p.forget_scale[1]),
               ("update_multiplier", p.update_scale[0]), ("update_shift", p.update_scale[1]),
               ("hidden_multiplier", p.hidden_scale[0]), ("hidden_shift", p.hidden_scale[1]),
               ("tanh_multiplier", p.tanh_multiplier), ("tanh_shift", p.tanh_shift),
               ("rounding", rounding_code(p.rounding))]
    if p.arithmetic == lstm_litert.LITERT:  # gemmlowp's int16 logistic / tanh: no table
        fields += [("cell_scale_power", p.cell_scale_power), ("output_zero_point", p.output_zero_point)]
        return KernelCall("ariel_lstm_s8_litert", "ariel_lstm_params", tuple(fields), buffers, "lstm.c",
                          scratch_bytes=scratch)
    fields.append(("sigmoid", CArray.of("int32_t", SIGMOID_TABLE)))
    kernel = "ariel_lstm_s8" if p.dtype == "int8" else "ariel_lstm_s16"
    return KernelCall(kernel, "ariel_lstm_params", tuple(fields), buffers, "lstm.c", scratch_bytes=scratch)


UNIDIRECTIONAL_SEQUENCE_LSTM = register(OpDef(
    name="UNIDIRECTIONAL_SEQUENCE_LSTM", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=LSTMOptions, tflite_options="UnidirectionalSequenceLSTMOptions", macs=macs, check=check,
    work_items=work_items, lower=lower, num_inputs=(20, 24), num_outputs=(1, 1),
    optional_inputs=(1, 5, *PEEPHOLE, 12, *PROJECTION), state_inputs=(OUTPUT_STATE, CELL_STATE)))
