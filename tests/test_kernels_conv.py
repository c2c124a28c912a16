"""C kernels of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED (runtime/kernels/{conv,fully_connected}.c)
against the numpy reference: int8 (per-tensor and per-channel), legacy uint8, 16x8 and float32/hybrid,
built natively and run on 1..3 threads under both schedulers. Integer kernels must give the same
bytes; float32 kernels agree within the rounding-error bound of a float32 dot product (below).
The FULLY_CONNECTED variants are also checked against LiteRT (there is no separate FC op test).
A failing case prints its seed: rebuild it with `conv_case(seed, depthwise, kind)` / `fc_case(seed, kind)`."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from arielml.api import Model
from arielml.backends.native import build_native
from arielml.backends.reference import prepare_all, run_reference
from arielml.compile import compile_model
from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.ops.registry import LITERT, lookup
from tests.conv_cases import CONV_KINDS, DEPTHWISE_KINDS, conv_case
from tests.tflite_builder import ModelBuilder, run_litert
from tests.window_op_cases import QMAX, Case, log_uniform, random_input, zero_point

CONFIGS = [(c, s) for c in (1, 2, 3) for s in ("static", "dynamic")]
BASE_SEED = 7_300
U = 2.0 ** -24  # unit roundoff of float32


def graph_of(model_bytes: bytes):
    return verify(parse_tflite(model_bytes))


def float_error_bound(graph, inputs) -> np.ndarray:
    """A float32 sum of n terms is off from the exact sum by at most ~n*u*sum|terms|; the reference
    (float64 window sums for conv, float32 BLAS for FC) and the C kernel (float32, index order) are
    each within that of the exact value, so they differ by at most 2*(n+1)*u*sum|x*w| (+|bias|),
    n = products per output. sum|x*w| comes from the reference itself run on |x|, |w|, |bias|."""
    node = graph.nodes[0]
    opdef = lookup(node)
    params = opdef.prepare(node, graph, LITERT)
    magnitude_params = replace(params, clamp=(-math.inf, math.inf))
    if params.float_weights is not None:
        magnitude_params = replace(magnitude_params, float_weights=np.abs(params.float_weights))
    arrays = [np.abs(inputs[0])] + [None if t < 0 else np.abs(graph.tensors[t].data) for t in node.inputs[1:]]
    (magnitude,) = opdef.evaluate(magnitude_params, arrays)
    w = graph.tensors[node.inputs[1]]
    terms = w.shape[-1] if node.op == "FULLY_CONNECTED" else (
        w.shape[1] * w.shape[2] * (1 if node.op == "DEPTHWISE_CONV_2D" else w.shape[3]))
    return 2 * (terms + 1) * U * magnitude.astype(np.float64) + 1e-30


def check_native(graph, inputs, cache, configs, what: str) -> None:
    expected = run_reference(graph, inputs, prepare_all(graph, LITERT))
    for cores, scheduler in configs:
        # rv32-smp's cheap tiles make the cost model split the ops, so the threads really share them
        lib = build_native(compile_model(graph, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want in zip(lib.run(inputs).outputs, expected):
            assert got.dtype == want.dtype and got.shape == want.shape, what
            if want.dtype == np.float32:
                err = np.abs(got.astype(np.float64) - want)
                bound = float_error_bound(graph, inputs)
                assert np.all(err <= bound), f"{what} cores={cores} {scheduler}: float error {err.max():.3g} " \
                                             f"over the bound (worst ratio {np.max(err / bound):.2f})"
            else:
                assert np.array_equal(got, want), (f"{what} cores={cores} {scheduler}: {(got != want).sum()} of "
                                                   f"{got.size} values differ")


# ---- CONV_2D / DEPTHWISE_CONV_2D: every variant, random geometry --------------------------------------

CONV_CASES = [(False, kind, BASE_SEED + 10 * i + k) for i, kind in enumerate(CONV_KINDS) for k in range(3)]
DEPTHWISE_CASES = [(True, kind, BASE_SEED + 500 + 10 * i + k) for i, kind in enumerate(DEPTHWISE_KINDS)
                   for k in range(3)]


@pytest.mark.parametrize("depthwise,kind,seed", CONV_CASES + DEPTHWISE_CASES)
def test_random_conv_matches_reference(depthwise, kind, seed, cache):
    case = conv_case(seed, depthwise, kind)
    check_native(graph_of(case.model), case.inputs, cache, [CONFIGS[seed % len(CONFIGS)]], str(case))


# ---- FULLY_CONNECTED ----------------------------------------------------------------------------------

FC_KINDS = ("int8", "int8-per-channel", "uint8", "int16x8", "float32", "hybrid")


def fc_case(seed: int, kind: str) -> Case:
    rng = np.random.default_rng(seed)
    rows, depth, units = int(rng.integers(1, 5)), int(rng.integers(1, 70)), int(rng.integers(1, 24))
    b = ModelBuilder()
    activation = int(rng.choice([0, 1, 2, 3]))
    if kind in ("float32", "hybrid"):
        x = b.tensor((rows, depth), "float32")
        if kind == "float32":
            w = b.tensor((units, depth), "float32", data=rng.normal(0, 1 / np.sqrt(depth), (units, depth)))
        else:
            scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(units if rng.random() < 0.5 else 1)]
            w = b.tensor((units, depth), "int8", quant=(scales, [0] * len(scales), 0),
                         data=rng.integers(-127, 128, (units, depth)))
        bias = b.tensor((units,), "float32", data=rng.normal(0, 0.5, units))
        y = b.tensor((rows, units), "float32")
        inputs = [random_input(rng, (rows, depth), "float32", log_uniform(rng, 0.1, 10))]
    else:
        act = {"int8": "int8", "int8-per-channel": "int8", "uint8": "uint8", "int16x8": "int16"}[kind]
        w_dtype = "uint8" if act == "uint8" else "int8"
        in_scale = log_uniform(rng, 1e-3, 1.0)
        x = b.tensor((rows, depth), act, quant=(in_scale, zero_point(rng, act)))
        scales = [log_uniform(rng, 1e-3, 1e-1) for _ in range(units if kind == "int8-per-channel" else 1)]
        w_zp = int(rng.integers(0, 256)) if w_dtype == "uint8" else 0
        w_data = rng.integers(0, 256, (units, depth)) if w_dtype == "uint8" else rng.integers(-127, 128, (units, depth))
        w = b.tensor((units, depth), w_dtype, quant=(scales, [w_zp] * len(scales), 0), data=w_data)
        acc_std = (QMAX[act] / 1.7) * (QMAX[w_dtype] / 1.7) * np.sqrt(depth)
        bias = b.tensor((units,), "int64" if act == "int16" else "int32", quant=([in_scale * s for s in scales],
                        [0] * len(scales)), data=rng.integers(-int(acc_std), int(acc_std) + 1, units))
        out_scale = in_scale * float(np.mean(scales)) * acc_std / (QMAX[act] / 2.5) * log_uniform(rng, 0.2, 5)
        y = b.tensor((rows, units), act, quant=(out_scale, zero_point(rng, act)))
        inputs = [random_input(rng, (rows, depth), act)]
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=activation)
    return Case(seed, b.build([x], [y]), inputs, kind, f"{rows}x{depth} -> {units} act {activation}")


def hybrid_bound(graph, x: np.ndarray) -> np.ndarray:
    """LiteRT quantises hybrid inputs to int8 per row on the fly: each input is off by at most half
    a step (max|x|/127 / 2), so an output is off by at most that times sum|w| (plus float rounding)."""
    node = graph.nodes[0]
    weights = lookup(node).prepare(node, graph, LITERT).float_weights.astype(np.float64)
    step = np.max(np.abs(x), axis=1, keepdims=True) / 127.0
    return 0.5 * step * np.abs(weights).sum(axis=1) + 1e-5


FC_CASES = [(kind, BASE_SEED + 1000 + 10 * i + k) for i, kind in enumerate(FC_KINDS) for k in range(3)]


@pytest.mark.parametrize("kind,seed", FC_CASES)
def test_random_fully_connected_matches_reference_and_litert(kind, seed, cache):
    case = fc_case(seed, kind)
    graph = graph_of(case.model)
    (ours,) = Model(graph).run(case.inputs)
    (theirs,) = run_litert(case.model, case.inputs)
    if kind == "hybrid":
        err = np.abs(ours.astype(np.float64) - theirs)
        assert np.all(err <= hybrid_bound(graph, case.inputs[0])), f"{case}: hybrid error {err.max():.3g}"
    elif kind == "float32":
        assert np.all(np.abs(ours.astype(np.float64) - theirs) <= float_error_bound(graph, case.inputs)), str(case)
    else:
        assert np.array_equal(ours, theirs), f"{case}: reference differs from LiteRT on {(ours != theirs).sum()}"
    check_native(graph, case.inputs, cache, [CONFIGS[seed % len(CONFIGS)]], str(case))


# ---- chained layers, every core count and scheduler -----------------------------------------------------

def chain_model(seed: int, dtype: str) -> tuple[bytes, list[np.ndarray]]:
    """CONV 3x3/2 SAME -> DEPTHWISE 3x3 (multiplier 3: channel blocks of 16 start inside a group of 3)
    -> CONV 1x1/2 (39 input channels: the 1x1 fast path's odd tail) -> FC over channels. Covers border
    pixels (padded taps read the zero point), the 1x1 path and the channel-block split."""
    rng = np.random.default_rng(seed)
    w_dtype = {"int8": "int8", "uint8": "uint8", "int16": "int8", "float32": "float32"}[dtype]
    bias_dtype = {"int8": "int32", "uint8": "int32", "int16": "int64", "float32": "float32"}[dtype]
    b = ModelBuilder()

    def act(shape):
        quant = None if dtype == "float32" else (log_uniform(rng, 0.02, 0.2), zero_point(rng, dtype))
        return b.tensor(shape, dtype, quant=quant)

    def weights(shape, axis, channels):
        if w_dtype == "float32":
            return b.tensor(shape, "float32", data=rng.normal(0, 0.3, shape)), None
        scales = [log_uniform(rng, 2e-3, 2e-2) for _ in range(channels if w_dtype == "int8" else 1)]
        zp = int(rng.integers(0, 256)) if w_dtype == "uint8" else 0
        data = rng.integers(0, 256, shape) if w_dtype == "uint8" else rng.integers(-127, 128, shape)
        return b.tensor(shape, w_dtype, quant=(scales, [zp] * len(scales), axis), data=data), scales

    def bias(channels, in_t, scales):
        if dtype == "float32":
            return b.tensor((channels,), "float32", data=rng.normal(0, 0.3, channels))
        in_scale = b.tensors[in_t].quantization.scale[0]
        return b.tensor((channels,), bias_dtype, quant=([in_scale * s for s in scales], [0] * len(scales)),
                        data=rng.integers(-3000, 3000, channels))

    x = act((1, 13, 11, 5))
    w1, s1 = weights((13, 3, 3, 5), 0, 13)
    h1 = act((1, 7, 6, 13))
    b.op("CONV_2D", [x, w1, bias(13, x, s1)], [h1], "Conv2DOptions", padding=0, strideH=2, strideW=2,
         fusedActivationFunction=1)
    w2, s2 = weights((1, 3, 3, 39), 3, 39)
    h2 = act((1, 7, 6, 39))
    b.op("DEPTHWISE_CONV_2D", [h1, w2, bias(39, h1, s2)], [h2], "DepthwiseConv2DOptions", padding=0, strideH=1,
         strideW=1, depthMultiplier=3, fusedActivationFunction=3)
    w3, s3 = weights((19, 1, 1, 39), 0, 19)
    h3 = act((1, 4, 3, 19))
    conv3 = dict(padding=0, strideH=2, strideW=2)
    if dtype == "int16":
        conv3["quantizedBiasType"] = 4
    b.op("CONV_2D", [h2, w3, bias(19, h2, s3)], [h3], "Conv2DOptions", **conv3)
    w4, s4 = weights((9, 19), 0, 9)
    y = act((12, 9))
    b.op("FULLY_CONNECTED", [h3, w4, bias(9, h3, s4)], [y], "FullyConnectedOptions")
    return b.build([x], [y]), [random_input(rng, (1, 13, 11, 5), dtype)]


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "float32"])
def test_chained_layers_on_every_configuration(dtype, cache):
    seed = BASE_SEED + 2000 + ["int8", "uint8", "int16", "float32"].index(dtype)
    model_bytes, inputs = chain_model(seed, dtype)
    graph = graph_of(model_bytes)
    expected = run_reference(graph, inputs, prepare_all(graph, LITERT))
    if dtype != "float32":  # the chain itself is a valid model: the reference agrees with LiteRT
        assert np.array_equal(expected[0], run_litert(model_bytes, inputs)[0]), f"seed {seed}"
    plan = compile_model(graph, target="rv32-smp", cores=3).plan
    assert max(len(s.tiles) for s in plan.kernel_steps) > 1, "no op was split: the test would not share work"
    first = None
    for cores, scheduler in CONFIGS:
        lib = build_native(compile_model(graph, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        got = lib.run(inputs).outputs[0]
        if dtype == "float32":
            # each output element is summed by one work item in a fixed order, so float results are
            # identical for every split; closeness to the reference is checked op by op above
            first = got if first is None else first
            assert np.array_equal(got, first), f"seed {seed} cores={cores} {scheduler}: float results depend on the split"
        else:
            assert np.array_equal(got, expected[0]), f"seed {seed} cores={cores} {scheduler}: " \
                                                     f"{(got != expected[0]).sum()} values differ"


# ---- compile-time folding and refusals ----------------------------------------------------------------

def test_input_offset_is_folded_into_the_bias():
    """The 8-bit kernels get bias + input_offset * sum(w) per channel and no bias buffer."""
    case = conv_case(BASE_SEED + 3000, False, "int8")
    graph = graph_of(case.model)
    step = compile_model(graph, target="host").plan.kernel_steps[0]
    fields = dict(step.call.fields)
    node = graph.nodes[0]
    w, bias, x = (graph.tensors[node.inputs[i]] for i in (1, 2, 0))
    sums = w.data.astype(np.int64).reshape(w.shape[0], -1).sum(axis=1)
    expected = bias.data.astype(np.int64) - x.quant.zero_point[0] * sums
    assert list(fields["bias"].values) == list(expected) and step.call.buffers[2] == -1


def test_weights_that_are_not_constant_are_refused():
    b = ModelBuilder()
    x = b.tensor((1, 4, 4, 2), "int8", quant=(0.1, 0))
    w = b.tensor((3, 1, 1, 2), "int8", quant=([0.01] * 3, [0] * 3, 0))  # a graph input, not a constant
    bias = b.tensor((3,), "int32", data=[1, 2, 3])
    y = b.tensor((1, 4, 4, 3), "int8", quant=(0.1, 0))
    b.op("CONV_2D", [x, w, bias], [y], "Conv2DOptions", padding=0, strideH=1, strideW=1)
    with pytest.raises(UnsupportedOperatorError, match="must be constant"):
        compile_model(graph_of(b.build([x, w], [y])))


def test_accumulator_overflow_guard():
    """uint8 products reach 255*255: a 40000-deep layer could overflow int32, so it is refused."""
    b = ModelBuilder()
    x = b.tensor((1, 40000), "uint8", quant=(0.1, 3))
    w = b.tensor((1, 40000), "uint8", quant=(0.01, 100), data=np.full((1, 40000), 7))
    y = b.tensor((1, 1), "uint8", quant=(5.0, 0))
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    with pytest.raises(UnsupportedOperatorError, match="overflow"):
        compile_model(graph_of(b.build([x], [y])))
