"""LiteRT's integer UNIDIRECTIONAL_SEQUENCE_LSTM ("8x8_16": int8 activations and weights, int16 cell
state), the arithmetic of semantics "litert" (tensorflow/lite/kernels/unidirectional_sequence_lstm.cc
and lstm_eval.cc, EvalInteger8x8_16). ops/lstm.py keeps TFLite Micro's for "tflm" and the int16 and
float32 layers (LiteRT has no int16-activation LSTM; its float one is another story).

Where it differs from TFLite Micro's:
- The model must carry the five intermediate tensors the converter writes (LiteRT's Prepare
  refuses an int8 LSTM without them). Without layer norm the first four are not read (the gate
  pre-activations are Q3.12); the fifth's scale and zero point are those of the new output state:
  tanh(c) x o is requantised to them (2^-15 / scale x 2^-15, in double, then stored as float32).
- Each gate: the input product (bias and the input zero point folded in) requantised and saturated
  to int16, then the recurrent product (the output state's zero point folded in) requantised, added
  to it and saturated (not saturated on its own first, as in TFLite Micro).
- sigmoid and tanh are gemmlowp's fixed-point logistic / tanh on int16 (ops/fixed_point16.py), not
  TFLite Micro's interpolated table; the cell state goes into tanh as Q(15 + p).(-p) for a cell
  scale 2^p, which LiteRT handles for 2^-15 <= scale <= 2^-9 (refused otherwise: LiteRT leaves tanh's
  output unwritten there).
- f x c is rounded by 2^15 and i x g by 2^(30 + p) (rounding shifts, the result stored as int16),
  added with saturation and clipped.
- The requantisations round twice (gemmlowp's way, as TFLite Micro's do): LiteRT's LSTM helpers
  (portable_tensor_utils.cc) are built so, unlike its FULLY_CONNECTED. Measured: single rounding
  of the gate products disagrees with LiteRT on 12 of 150 random layers, double on none."""
from __future__ import annotations

import numpy as np

from arielml.ir import Graph, Node
from arielml.ops import fixed_point16
from arielml.ops.fixed_point import wrap_int16
from arielml.ops.quant_math import multiply_by_quantized_multiplier, quantize_multiplier
from arielml.ops.quant_math import rounding_divide_by_pot as rdbp
from arielml.ops.registry import unsupported

LITERT = "litert"
HIDDEN_INTERMEDIATE = 4
CELL_POWER_RANGE = (-15, -9)  # tanh(c) takes Q(15 + p): 0 to 6 integer bits


def hidden_quantisation(node: Node) -> tuple[float, int]:
    """The fifth intermediate's (scale, zero point), or a clear refusal when the model lacks it."""
    found = node.options.intermediates
    if len(found) != 5 or found[HIDDEN_INTERMEDIATE] is None:
        raise unsupported(node, f"LiteRT's int8 LSTM needs the five intermediate tensors the TFLite converter "
                                f"writes, the fifth quantised (the hidden state's scale); this model has "
                                f"{len(found)}{'' if len(found) != 5 else ' (the fifth without quantisation)'}, "
                                "and LiteRT refuses it. semantics='tflm' runs it with TFLite Micro's arithmetic, "
                                "which needs none")
    return found[HIDDEN_INTERMEDIATE]


def check_cell_power(node: Node, power: int) -> None:
    lo, hi = CELL_POWER_RANGE
    if not lo <= power <= hi:
        raise unsupported(node, f"the cell state's scale 2^{power} is outside what LiteRT's int8 LSTM handles "
                                f"(2^{lo} .. 2^{hi}: its tanh reads the cell state with 15 + {power} integer bits); "
                                "semantics='tflm' runs it with TFLite Micro's arithmetic")


def hidden_scale(scale: float) -> tuple[int, int]:
    """2^-15 / scale x 2^-15 in double, stored as float32 (LiteRT's effective_hidden_scale)."""
    return quantize_multiplier(float(np.float32(2.0 ** -15 / float(np.float32(scale)) * 2.0 ** -15)))


def _clamp16(v: np.ndarray) -> np.ndarray:
    return np.clip(v, -32768, 32767)


def step(p, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One time step of one batch row: (new output state, new cell state). p: ops/lstm.LSTMParams."""
    gates = []
    for k in range(4):
        from_input = p.input_weights[k].astype(np.int64) @ (x.astype(np.int64) - p.input_zero_point) \
            + p.biases[k].astype(np.int64)
        gate = _clamp16(multiply_by_quantized_multiplier(from_input, *p.gates[k].input_scale, rounding=p.rounding))
        from_hidden = p.recurrent_weights[k].astype(np.int64) @ (h.astype(np.int64) - p.hidden_zero_point)
        gate = _clamp16(multiply_by_quantized_multiplier(from_hidden, *p.gates[k].recurrent_scale,
                                                         rounding=p.rounding) + gate)
        gates.append(fixed_point16.tanh(gate, 3) if k == 2 else fixed_point16.logistic(gate, 3))
    i, f, g, o = gates
    kept = wrap_int16(rdbp(f * c.astype(np.int64), 15))
    added = wrap_int16(rdbp(i * g, 30 + p.cell_scale_power))
    c = _clamp16(kept + added)
    if p.quantized_cell_clip > 0:
        c = np.clip(c, -p.quantized_cell_clip, p.quantized_cell_clip)
    t = fixed_point16.tanh(c, 15 + p.cell_scale_power)
    hidden = multiply_by_quantized_multiplier(o * t, *p.hidden_scale, rounding=p.rounding) + p.output_zero_point
    return np.clip(hidden, -128, 127).astype(np.int8), c.astype(np.int16)


def uses_litert(graph: Graph, node: Node, semantics) -> bool:
    """LiteRT's arithmetic applies to int8 layers under every semantics but TFLite Micro's."""
    return semantics.name != "tflm" and graph.tensors[node.inputs[0]].dtype == "int8"
