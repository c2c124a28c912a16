"""CONV_2D and DEPTHWISE_CONV_2D: randomised single-operator models against LiteRT's reference
kernels (bit for bit; float32 within a few ulps; hybrid within the input-quantisation bound) and
against TFLite Micro with `semantics="tflm"`; the zoo models' convolutions node by node; MACs; and
the variants we reject. A failing case prints its seed: rerun it with `conv_case(seed, depthwise)`."""
from __future__ import annotations

import numpy as np
import pytest

from arielml.errors import UnsupportedOperatorError
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from arielml.ops.registry import LITERT, lookup
from tests.conftest import ZOO
from tests.conv_cases import conv_case
from tests.tflite_builder import ModelBuilder
from tests.window_op_cases import Case, assert_exact, assert_float_close, litert, run_arielml, tflm

BASE_SEED = 7_000
CASES = 96  # per operator and run


def hybrid_error_bound(params, x: np.ndarray, ours: np.ndarray) -> np.ndarray:
    """LiteRT quantises hybrid inputs to int8 on the fly, per batch (symmetric: step max|x|/127;
    asymmetric: step (max-min)/255 <= max|x|/127). Each input is off by at most half a step, so an
    output is off by at most step/2 * sum|w| over its window; plus float rounding."""
    step = float(np.max(np.abs(x))) / 127.0
    weights = np.abs(params.float_weights.astype(np.float64))
    weight_sums = weights.sum(axis=(0, 1, 2)) if params.depthwise else weights.reshape(weights.shape[0], -1).sum(1)
    return 0.5 * step * weight_sums + 1e-5 * max(float(np.max(np.abs(ours))), 1.0)


def _prepared(case: Case):
    graph = parse_tflite(case.model)
    return lookup(graph.nodes[0]).prepare(graph.nodes[0], graph, LITERT)


def check_against_litert(case: Case) -> None:
    (ours,) = run_arielml(case)
    (theirs,) = litert(case)
    if case.kind.startswith("hybrid"):
        err = np.abs(ours.astype(np.float64) - theirs)
        bound = hybrid_error_bound(_prepared(case), case.inputs[0], ours)
        assert np.all(err <= bound), f"{case}: hybrid error {err.max():.3g} exceeds the quantisation bound"
    elif ours.dtype == np.float32:
        assert_float_close(ours, theirs, case)
    else:
        assert_exact(ours, theirs, case)


def check_against_tflm(case: Case) -> None:
    (ours,) = run_arielml(case, semantics="tflm")
    (theirs,) = tflm(case)
    if ours.dtype == np.float32:
        assert_float_close(ours, theirs, case)
    else:
        assert_exact(ours, theirs, case, who="TFLite Micro")


@pytest.mark.parametrize("index", range(CASES))
@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_random_conv_matches_litert_and_tflm(op, index):
    case = conv_case(BASE_SEED + index, depthwise=op == "DEPTHWISE_CONV_2D")
    check_against_litert(case)
    if case.tflm:
        check_against_tflm(case)


# ---- zoo: every convolution and pooling node, fed with LiteRT's own intermediate tensors ----------

WINDOW_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D")
ZOO_MODELS = sorted(p.relative_to(ZOO).as_posix() for p in ZOO.rglob("*.tflite")
                    if any(n.op in WINDOW_OPS for n in parse_tflite(p.read_bytes()).nodes))


@pytest.mark.parametrize("name", ZOO_MODELS)
def test_zoo_window_nodes_match_litert(name):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    data = (ZOO / name).read_bytes()
    graph = parse_tflite(data, name)
    interpreter = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
                              experimental_preserve_all_tensors=True)
    interpreter.allocate_tensors()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for detail in interpreter.get_input_details():
            dtype = detail["dtype"]
            if np.issubdtype(dtype, np.integer):
                info = np.iinfo(dtype)
                array = rng.integers(info.min, int(info.max) + 1, detail["shape"]).astype(dtype)
            else:
                array = rng.uniform(-1, 1, detail["shape"]).astype(dtype)
            interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        for node in graph.nodes:
            if node.op not in WINDOW_OPS:
                continue
            opdef = lookup(node)
            opdef.check(node, graph)
            args = [None if t < 0 else graph.tensors[t].data if graph.tensors[t].is_constant
                    else interpreter.get_tensor(t) for t in node.inputs]
            (ours,) = opdef.evaluate(opdef.prepare(node, graph, LITERT), args)
            theirs = interpreter.get_tensor(node.outputs[0])
            where = f"{name} seed={seed} {node.op} #{node.index}"
            weights = graph.tensors[node.inputs[1]] if len(node.inputs) > 1 else None
            if weights is not None and ours.dtype == np.float32 and weights.dtype == "int8":
                # hybrid layer: LiteRT quantised the activations on the fly (bound as above)
                err = np.abs(ours.astype(np.float64) - theirs)
                bound = hybrid_error_bound(opdef.prepare(node, graph, LITERT), args[0], ours)
                assert np.all(err <= bound), f"{where}: hybrid error {err.max():.3g} exceeds the quantisation bound"
            elif ours.dtype == np.float32:
                assert_float_close(ours, theirs, where, rtol=1e-5)
            else:
                assert np.array_equal(ours, theirs), f"{where}: {np.count_nonzero(ours != theirs)} values differ"


def test_vww_macs():
    """Issue 2: 7,489,664 MACs over CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED."""
    graph = parse_tflite((ZOO / "mlcommons_tiny/vww_96_int8.tflite").read_bytes())
    total = sum(lookup(n).macs(n, graph) for n in graph.nodes
                if n.op in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"))
    assert total == 7_489_664


def test_conv_without_bias_matches_tflm():
    """LiteRT's CONV_2D insists on a bias input; TFLite Micro (and we) accept none."""
    for seed in range(8):
        rng = np.random.default_rng(BASE_SEED + 500 + seed)
        b = ModelBuilder()
        x = b.tensor((1, 7, 6, 3), "int8", quant=(0.05, int(rng.integers(-128, 128))))
        w = b.tensor((4, 3, 3, 3), "int8", quant=(list(rng.uniform(0.005, 0.05, 4)), [0] * 4, 0),
                     data=rng.integers(-127, 128, (4, 3, 3, 3)))
        y = b.tensor((1, 4, 3, 4), "int8", quant=(0.2, int(rng.integers(-128, 128))))
        b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=0, strideH=2, strideW=2, fusedActivationFunction=1)
        case = Case(BASE_SEED + 500 + seed, b.build([x], [y]),
                    [rng.integers(-128, 128, (1, 7, 6, 3)).astype(np.int8)], "int8", "no bias")
        check_against_tflm(case)


# ---- rejected variants ----------------------------------------------------------------------------

def _model(x_dtype, w_dtype, bias_dtype, *, op="CONV_2D", w_zero_point=0, x_shape=(1, 5, 5, 2), w_hw=(3, 3),
           per_channel=True, padding=0, w_in=None, **options):
    b = ModelBuilder()
    channels = 2
    depthwise = op == "DEPTHWISE_CONV_2D"
    w_shape = (1, *w_hw, channels) if depthwise else (channels, *w_hw, w_in or x_shape[3])
    quant = None if x_dtype == "float32" else (0.1, 0)
    x = b.tensor(x_shape, x_dtype, quant=quant)
    scales = [0.01] * (channels if per_channel else 1)
    w = b.tensor(w_shape, w_dtype, quant=(scales, [w_zero_point] * len(scales), 3 if depthwise else 0),
                 data=np.ones(w_shape))
    bias = b.tensor((channels,), bias_dtype, data=np.zeros(channels))
    out_hw = (x_shape[1], x_shape[2]) if padding == 0 else \
        (max(x_shape[1] - w_hw[0] + 1, 1), max(x_shape[2] - w_hw[1] + 1, 1))
    y = b.tensor((1, *out_hw, channels), x_dtype, quant=quant)
    table = "DepthwiseConv2DOptions" if depthwise else "Conv2DOptions"
    b.op(op, [x, w, bias], [y], table, padding=padding, strideH=1, strideW=1, **options)
    return b.build([x], [y])


@pytest.mark.parametrize("why, model", [
    ("int8 weights with a zero point", lambda: _model("int8", "int8", "int32", w_zero_point=3)),
    ("int16 depthwise with int32 bias", lambda: _model("int16", "int8", "int32", op="DEPTHWISE_CONV_2D")),
    ("16x8 int32 bias not declared in options", lambda: _model("int16", "int8", "int32")),
    ("per-tensor hybrid depthwise", lambda: _model("float32", "int8", "float32", op="DEPTHWISE_CONV_2D",
                                                   per_channel=False)),
    ("VALID window larger than input", lambda: _model("int8", "int8", "int32", w_hw=(6, 3), padding=1)),
    ("grouped hybrid convolution", lambda: _model("float32", "int8", "float32", x_shape=(1, 5, 5, 4), w_in=2)),
    ("int8 input with uint8 weights", lambda: _model("int8", "uint8", "int32")),
    ("fused TANH", lambda: _model("int8", "int8", "int32", fusedActivationFunction=4)),
])
def test_unsupported_variants_are_rejected(why, model):
    with pytest.raises(UnsupportedOperatorError):
        verify(parse_tflite(model()))
