"""Hybrid UNIDIRECTIONAL_SEQUENCE_LSTM: float32 activations and states, int8 weights (per-tensor,
zero point 0), float32 biases: what TensorFlow's dynamic-range quantisation makes of a Keras LSTM.
LiteRT runs it; TFLite Micro refuses it.

LiteRT's arithmetic (lstm_eval.cc, its hybrid step), per time step and batch row:
- the input row and the previous output state row are each quantised on the fly to int8 as LiteRT's
  other hybrid kernels do (ops/hybrid.py: symmetric, or asymmetric with a zero point when the op's
  `asymmetric_quantize_inputs` is set); an all-zero vector is skipped (its products add nothing);
- each gate starts from its float bias and accumulates, input part then recurrent part,
  `gate += float(dot) * (row scale * weight scale)` with the int32 dot product less
  zero point x the weight row's sum (exact), each a float32 operation;
- sigmoid / tanh, then c = f * c, c += g * i, the clip, and h = o * tanh(c), as the float LSTM.
Bit-exactness: the products and sums above are reproduced operation for operation. LiteRT computes
sigmoid and tanh with Eigen's vectorised approximations, whose last bit depends on the element's
position in its SIMD packets; arielml uses expf and tanhf (1 / (1 + expf(-x))), so outputs agree to a
few float32 ulps (measured in tests/test_ops_lstm.py), as the float32 LSTM does against LiteRT."""
from __future__ import annotations

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall
from arielml.ir import Graph, Node
from arielml.ops.hybrid import asymmetric_quantize, is_zero_vector, symmetric_quantize
from arielml.ops.lookup_tables import c_float_function

HYBRID = "hybrid"
_expf = c_float_function("exp")
_tanhf = c_float_function("tanh")


def is_hybrid(graph: Graph, node: Node, input_index: int, weight_index: int) -> bool:
    return (graph.tensors[node.inputs[input_index]].dtype == "float32"
            and graph.tensors[node.inputs[weight_index]].dtype == "int8")


def refusal(weights, biases, states) -> str | None:
    """Why these tensors do not make a hybrid LSTM arielml runs (None: they do)."""
    for w in weights:
        if w.dtype != "int8" or w.quant is None or w.quant.per_channel or w.quant.single_zero_point != 0:
            return (f"hybrid LSTM weights must be int8 with one scale and zero point 0 ('{w.name}' is {w.dtype}"
                    f"{', per-channel' if w.quant is not None and w.quant.per_channel else ''})")
    if any(t.dtype != "float32" for t in (*biases, *states)):
        return "a hybrid LSTM takes float32 biases, output state, cell state and output"
    return None


def weight_scales(weights) -> tuple[float, ...]:
    """float32 scales, input weights of the four gates then the recurrent ones"""
    return tuple(float(np.float32(w.quant.single_scale)) for w in weights)


def _quantise(v: np.ndarray, asymmetric: bool) -> tuple[np.ndarray, np.float32, int]:
    if asymmetric:
        return asymmetric_quantize(v)
    q, scale = symmetric_quantize(v)
    return q, scale, 0


def _accumulate(gates: list[np.ndarray], weights, scales, v: np.ndarray, asymmetric: bool) -> None:
    if is_zero_vector(v):
        return
    q, row_scale, zero_point = _quantise(v, asymmetric)
    for k in range(4):
        w = weights[k].astype(np.int64)
        dot = w @ q.astype(np.int64) - zero_point * w.sum(axis=1)
        factor = np.float32(row_scale * np.float32(scales[k]))
        gates[k] = (gates[k] + (dot.astype(np.float32) * factor).astype(np.float32)).astype(np.float32)


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return (np.float32(1) / (np.float32(1) + _expf(-v))).astype(np.float32)


def step(p, x: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One time step of one batch row (p: lstm.LSTMParams with arithmetic HYBRID)."""
    f32 = np.float32
    with np.errstate(all="ignore"):
        gates = [b.astype(f32).copy() for b in p.biases]
        _accumulate(gates, p.input_weights, p.weight_scales[:4], x, p.asymmetric_inputs)
        _accumulate(gates, p.recurrent_weights, p.weight_scales[4:], h, p.asymmetric_inputs)
        i, f, o = (_sigmoid(gates[k]) for k in (0, 1, 3))
        g = _tanhf(gates[2])
        c = ((f * c).astype(f32) + (g * i).astype(f32)).astype(f32)
        if p.cell_clip > 0:  # CwiseClipping: above clip to clip, then below -clip to -clip
            bound = f32(p.cell_clip)
            c = np.where(c > bound, bound, c)
            c = np.where(c < -bound, -bound, c).astype(f32)
        h = (o * _tanhf(c)).astype(f32)
    return h, c


def lower(node: Node, p, buffers: tuple[int, ...]) -> KernelCall:
    """kernels/lstm_hybrid.c; per-core scratch: the new output state of a row (floats), then the
    row's quantised input and output state (int8)."""
    def row_sums(weights) -> CArray:
        return CArray.of("int32_t", np.concatenate([w.astype(np.int64).sum(axis=1) for w in weights]))

    fields = (("batch", p.batch), ("time_steps", p.time_steps), ("input_size", p.input_size), ("cells", p.cells),
              ("time_major", int(p.time_major)),
              ("input_weights", CArray.of("int8_t", np.concatenate([w.ravel() for w in p.input_weights]))),
              ("recurrent_weights", CArray.of("int8_t", np.concatenate([w.ravel() for w in p.recurrent_weights]))),
              ("biases", CArray.of("float", np.concatenate([b.ravel() for b in p.biases]))),
              ("input_row_sums", row_sums(p.input_weights)), ("recurrent_row_sums", row_sums(p.recurrent_weights)),
              ("weight_scales", CArray.of("float", np.array(p.weight_scales, dtype=np.float32))),
              ("cell_clip", p.cell_clip), ("asymmetric", int(p.asymmetric_inputs)))
    scratch = 4 * p.cells + p.input_size + p.cells
    return KernelCall("ariel_lstm_hybrid_f32", "ariel_lstm_hybrid_params", fields, buffers, "lstm_hybrid.c",
                      scratch_bytes=scratch)
