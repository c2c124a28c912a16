"""SVDF: a fully connected layer factored into a feature filter and a time filter over a memory of
the last `memory_size` feature activations (the classic keyword-spotting layer). Stateful: the
memory is a variable tensor that the operator updates in place every invocation.

Inputs: x [batch, input_size], weights_feature [filters, input_size], weights_time [filters,
memory_size], bias [units] (optional), state [batch, filters * memory_size] (variable). filters =
units * rank. Output [batch, units].

Per batch and filter f, with state row s_f (memory_size values, oldest first):
  1. s_f shifts left by one (the oldest value leaves)
  2. s_f[last] = feature dot product of x with weights_feature[f]
  3. t_f = dot(weights_time[f], s_f)
  4. out[u] = (sum of t_f over the unit's `rank` filters) + bias[u], then the activation
The state after an inference holds the newest value last, as LiteRT's does.

Variants, as LiteRT's reference kernels compute them (tensorflow/lite/kernels/svdf.cc and
internal/reference/svdf.h):
- float32: the dot products and the rank sum in float32, in the order of a four-lane vector loop
  (LiteRT's tensor_utils; TFLite Micro: index order; see lane_sum); out = (sum over rank) + bias
  (TFLite Micro: the bias, then each filter's value added in turn);
  the fused activation applied as max/min (NaN handling as std::max/min).
- int8 with int16 state (int16 weights_time, int32 bias): step 2 requantised by input scale x
  feature scale / state scale and saturated to int16; steps 3-4 in int32, requantised by state scale x
  time scale / output scale, plus the output zero point, saturated to int8 (integer sums: any order).
  TFLite Micro also has an int8 state with int8 time weights: the new value is saturated to int8, then
  the state's zero point is added (the int8 store wraps) and subtracted again in the time dot product;
  LiteRT aborts on such a model, so this variant has TFLite Micro as its only oracle.
  Both requantisations round twice (gemmlowp), in LiteRT too: unlike its other int8 kernels, LiteRT's
  SVDF matches single rounding on only a fraction of random cases and double rounding on all (measured
  with tests/test_ops_svdf.py). The scales are multiplied and divided in float32 first, as both do.
  The fused activation is not applied (LiteRT and TFLite Micro both ignore it on this path).
Hybrid SVDF (float input, int8 weights) is refused.

Work items: batch x units. A unit's `rank` filters are independent of every other unit's (their
state rows included), so the units split across cores with no shared writes."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import KernelCall
from arielml.ir import NO_TENSOR, Graph, Node
from arielml.ops.kernel_support import check_shifts, rounding_code
from arielml.ops.quant_math import DOUBLE_ROUNDING, multiply_by_quantized_multiplier, quantize_multiplier, wrap_int32
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported

INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME, BIAS, STATE = range(5)
ACTIVATION_CODES = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
# LiteRT sums SVDF's float dot products with its vector tensor_utils: four lanes (measured on its
# x86 build: the feature, time and rank sums all follow lane_sum(..., 4)) and adds the bias last;
# TFLite Micro's loops are plain index order and start the rank sum from the bias.
FLOAT_LANES = {"litert": 4, "tflm": 1}


@dataclass(frozen=True)
class SVDFOptions:
    rank: int = 0
    fused_activation_function: int = 0
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class SVDFParams:
    batch: int
    input_size: int
    filters: int
    units: int
    rank: int
    memory: int
    activation: str
    weights_feature: np.ndarray
    weights_time: np.ndarray
    bias: np.ndarray | None
    quantized: bool
    input_zero_point: int = 0
    output_zero_point: int = 0
    feature_scale: tuple[int, int] = (0, 0)  # (multiplier, shift): input x weights_feature -> state
    output_scale: tuple[int, int] = (0, 0)  # state x weights_time -> output
    rounding: str = DOUBLE_ROUNDING
    state_dtype: str = "int16"  # int8 state (and int8 time weights): TFLite Micro's variant
    state_zero_point: int = 0
    lanes: int = 1  # float32: the vector width of the sums' order (see lane_sum)
    bias_first: bool = False  # float32: the rank sum starts from the bias (TFLite Micro) or adds it last


def _shape(node: Node, graph: Graph) -> tuple[int, int, int, int, int, int]:
    x, wf, wt = (graph.tensors[node.inputs[k]] for k in (INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME))
    rank = node.options.rank
    filters = wf.shape[0]
    return x.shape[0], x.shape[1], filters, filters // rank, rank, wt.shape[1]


def check(node: Node, graph: Graph) -> None:
    x, wf, wt, state = (graph.tensors[node.inputs[k]] for k in (INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME, STATE))
    bias = graph.tensor(node.inputs[BIAS])
    out = graph.tensors[node.outputs[0]]
    if len(x.shape) != 2 or len(wf.shape) != 2 or len(wt.shape) != 2:
        raise unsupported(node, f"input {x.shape}, weights_feature {wf.shape} and weights_time {wt.shape} must be 2-D")
    rank = node.options.rank
    if rank < 1 or wf.shape[0] % rank:
        raise unsupported(node, f"rank {rank} must divide the {wf.shape[0]} filters")
    batch, size, filters, units, rank, memory = _shape(node, graph)
    if wf.shape[1] != size or wt.shape[0] != filters:
        raise unsupported(node, f"weights_feature {wf.shape} / weights_time {wt.shape} do not match input {x.shape}")
    if state.num_elements != batch * filters * memory:
        raise unsupported(node, f"state {state.shape} must hold batch x filters x memory = {batch * filters * memory} values")
    if bias is not None and bias.shape != (units,):
        raise unsupported(node, f"bias {bias.shape} must have one value per unit ({units})")
    if not (wf.is_constant and wt.is_constant and (bias is None or bias.is_constant)):
        raise unsupported(node, "weights and bias must be constant")
    if x.dtype == "float32":
        if any(t.dtype != "float32" for t in (wf, wt, state, out)) or (bias is not None and bias.dtype != "float32"):
            raise unsupported(node, "hybrid SVDF (float input with quantised weights) is not supported; "
                                    "use a float32 or an int8 model")
        fused_activation(node, node.options.fused_activation_function)
        return
    types = (x.dtype, wf.dtype, wt.dtype, state.dtype, out.dtype, None if bias is None else bias.dtype)
    if types[:5] not in (("int8", "int8", "int16", "int16", "int8"), ("int8", "int8", "int8", "int8", "int8")) \
            or types[5] not in (None, "int32"):
        raise unsupported(node, f"dtypes (input, weights_feature, weights_time, state, output, bias) {types} are "
                                "not supported; int8 SVDF takes int8, int8, int16 (or int8), int16 (or int8), int8 "
                                "and int32")
    if node.options.fused_activation_function != 1:
        raise unsupported(node, "int8 SVDF takes the RELU activation only (LiteRT refuses the others; neither it "
                                "nor TFLite Micro applies it on this path)")
    for t in (x, wf, wt, state, out):
        if t.quant is None or t.quant.per_channel:
            raise unsupported(node, f"tensor '{t.name}' needs per-tensor quantisation parameters")
    if state.dtype == "int16" and state.quant.single_zero_point != 0:
        raise unsupported(node, "the int16 state must have zero point 0 (as LiteRT requires)")


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    batch, _, _, units, _, _ = _shape(node, graph)
    return [(batch, units)]


def macs(node: Node, graph: Graph) -> int:
    batch, size, filters, _, _, memory = _shape(node, graph)
    return batch * filters * (size + memory)


def prepare(node: Node, graph: Graph, semantics: Semantics) -> SVDFParams:
    x, wf, wt, state = (graph.tensors[node.inputs[k]] for k in (INPUT, WEIGHTS_FEATURE, WEIGHTS_TIME, STATE))
    bias = graph.tensor(node.inputs[BIAS])
    out = graph.tensors[node.outputs[0]]
    batch, size, filters, units, rank, memory = _shape(node, graph)
    common = dict(batch=batch, input_size=size, filters=filters, units=units, rank=rank, memory=memory,
                  weights_feature=wf.data, weights_time=wt.data, bias=None if bias is None else bias.data)
    if x.dtype == "float32":
        return SVDFParams(activation=fused_activation(node, node.options.fused_activation_function),
                          quantized=False, lanes=FLOAT_LANES[semantics.name],
                          bias_first=semantics.name == "tflm", **common)
    # LiteRT's and TFLite Micro's Prepare multiply and divide the float scales in float32, then widen
    def ratio(a: float, b: float, c: float) -> float:
        return float(np.float32(np.float32(a) * np.float32(b)) / np.float32(c))
    feature = ratio(x.quant.single_scale, wf.quant.single_scale, state.quant.single_scale)
    output = ratio(state.quant.single_scale, wt.quant.single_scale, out.quant.single_scale)
    return SVDFParams(activation="NONE", quantized=True, input_zero_point=x.quant.single_zero_point,
                      output_zero_point=out.quant.single_zero_point, feature_scale=quantize_multiplier(feature),
                      output_scale=quantize_multiplier(output), rounding=DOUBLE_ROUNDING, state_dtype=state.dtype,
                      state_zero_point=state.quant.single_zero_point, **common)


def _float_activation(v: np.ndarray, activation: str) -> np.ndarray:
    """LiteRT's ApplyActivationToVector: std::max(lo, std::min(v, hi)), where std::max(a, b) is
    (a < b) ? b : a and std::min(a, b) is (b < a) ? b : a (so NaN becomes the lower bound)."""
    def fmax(a, b):
        return np.where(a < b, b, a).astype(np.float32)

    def fmin(a, b):
        return np.where(b < a, b, a).astype(np.float32)
    one, six, zero = np.float32(1), np.float32(6), np.float32(0)
    if activation == "RELU":
        return fmax(zero, v)
    if activation == "RELU_N1_TO_1":
        return fmax(-one, fmin(v, one))
    if activation == "RELU6":
        return fmax(zero, fmin(v, six))
    return v


def _sequential_dot(matrix: np.ndarray, vectors: np.ndarray, dtype) -> np.ndarray:
    """Row-wise dot products summed in index order from 0 (as the C loops do), in `dtype`."""
    acc = np.zeros(matrix.shape[:-1], dtype=dtype)
    for c in range(matrix.shape[-1]):
        acc = (acc + matrix[..., c].astype(dtype) * vectors[..., c].astype(dtype)).astype(dtype)
    return acc


def lane_sum(products: np.ndarray, lanes: int) -> np.ndarray:
    """float32 sums over the last axis in the order of a `lanes`-wide vector loop: lane k sums
    elements k, k + lanes, ... of the whole blocks, the lane totals are added in order (from 0), then
    the elements past the last whole block one by one. lanes=1: plain index order."""
    products = products.astype(np.float32)
    n = products.shape[-1]
    full = n // lanes * lanes
    acc = np.zeros(products.shape[:-1] + (lanes,), dtype=np.float32)
    for c in range(0, full, lanes):
        acc = (acc + products[..., c:c + lanes]).astype(np.float32)
    total = np.zeros(products.shape[:-1], dtype=np.float32)
    for k in range(lanes if full else 0):
        total = (total + acc[..., k]).astype(np.float32)
    for c in range(full, n):
        total = (total + products[..., c]).astype(np.float32)
    return total


def evaluate(p: SVDFParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, state = inputs[INPUT], inputs[STATE]
    rows = np.zeros((p.batch, p.filters, p.memory), dtype=state.dtype)
    rows[:, :, :-1] = state.reshape(p.batch, p.filters, p.memory)[:, :, 1:]  # the oldest value leaves
    if p.quantized:
        xs = x.astype(np.int64) - p.input_zero_point
        dots = np.stack([_sequential_dot(p.weights_feature, np.broadcast_to(xs[b], p.weights_feature.shape), np.int64)
                         for b in range(p.batch)])
        newest = multiply_by_quantized_multiplier(dots, *p.feature_scale, rounding=p.rounding)
        info = np.iinfo(np.dtype(p.state_dtype))
        # saturated to the state type, then the state's zero point added (an int8 store wraps: TFLite Micro)
        rows[:, :, -1] = (np.clip(newest, info.min, info.max) + p.state_zero_point).astype(p.state_dtype)
        # int32 sums wrap in LiteRT's C; wrapping once at the end gives the same value
        time = np.stack([_sequential_dot(p.weights_time, rows[b].astype(np.int64) - p.state_zero_point, np.int64)
                         for b in range(p.batch)])
        summed = time.reshape(p.batch, p.units, p.rank).sum(axis=2)
        if p.bias is not None:
            summed = summed + p.bias.astype(np.int64)
        summed = wrap_int32(summed)
        scaled = multiply_by_quantized_multiplier(summed, *p.output_scale, rounding=p.rounding) + p.output_zero_point
        out = np.clip(scaled, -128, 127).astype(np.int8)
    else:
        wf, wt = p.weights_feature.astype(np.float32), p.weights_time.astype(np.float32)
        with np.errstate(all="ignore"):
            # the new value goes into the cleared slot: 0 + dot (a -0.0 dot becomes +0.0)
            rows[:, :, -1] = np.float32(0) + lane_sum(wf[None] * x[:, None, :].astype(np.float32), p.lanes)
            time = lane_sum(wt[None] * rows, p.lanes)
            grouped = time.reshape(p.batch, p.units, p.rank)
            if p.bias_first:
                summed = np.broadcast_to(p.bias.astype(np.float32) if p.bias is not None else np.float32(0),
                                         (p.batch, p.units)).astype(np.float32)
                for r in range(p.rank):
                    summed = (summed + grouped[:, :, r]).astype(np.float32)
            else:
                summed = lane_sum(grouped, p.lanes)
                if p.bias is not None:
                    summed = (summed + p.bias.astype(np.float32)).astype(np.float32)
        out = _float_activation(summed, p.activation)
    return [out, rows.reshape(state.shape)]


def work_items(node: Node, graph: Graph) -> int:
    batch, _, _, units, _, _ = _shape(node, graph)
    return batch * units


def lower(node: Node, graph: Graph, p: SVDFParams) -> KernelCall:
    buffers = (node.inputs[INPUT], node.inputs[WEIGHTS_FEATURE], node.inputs[WEIGHTS_TIME],
               node.inputs[BIAS] if len(node.inputs) > BIAS else NO_TENSOR, node.inputs[STATE], node.outputs[0])
    fields = [("batch", p.batch), ("input_size", p.input_size), ("units", p.units), ("rank", p.rank),
              ("memory", p.memory)]
    if not p.quantized:
        fields += [("activation", ACTIVATION_CODES[p.activation]), ("lanes", p.lanes), ("bias_first", int(p.bias_first))]
        return KernelCall("ariel_svdf_f32", "ariel_svdf_params", tuple(fields), buffers, "svdf.c")
    for multiplier, shift in (p.feature_scale, p.output_scale):
        check_shifts(node, np.array([shift]))
    fields += [("input_zero_point", p.input_zero_point), ("output_zero_point", p.output_zero_point),
               ("feature_multiplier", p.feature_scale[0]), ("feature_shift", p.feature_scale[1]),
               ("output_multiplier", p.output_scale[0]), ("output_shift", p.output_scale[1]),
               ("rounding", rounding_code(p.rounding))]
    if p.state_dtype == "int8":
        fields.append(("state_zero_point", p.state_zero_point))
        return KernelCall("ariel_svdf_s8_state8", "ariel_svdf_params", tuple(fields), buffers, "svdf.c")
    return KernelCall("ariel_svdf_s8", "ariel_svdf_params", tuple(fields), buffers, "svdf.c")


SVDF = register(OpDef(name="SVDF", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
                      options_type=SVDFOptions, tflite_options="SVDFOptions", macs=macs, check=check,
                      work_items=work_items, lower=lower, num_inputs=(5, 5), num_outputs=(1, 1), optional_inputs=(BIAS,),
                      state_inputs=(STATE,)))
