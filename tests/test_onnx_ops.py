"""Random single-operator ONNX models (built with onnx.helper) run by arielml's reference executor
against onnxruntime (CPU provider, default session options).

Two groups:
  - bit-exact: operators whose float32 result has one rounding per element (elementwise arithmetic,
    Relu/LeakyRelu/Clip/HardSigmoid, max pooling, data movement): arielml gives onnxruntime's bytes.
  - float-close: operators that sum many products or evaluate transcendental functions. onnxruntime's
    MLAS kernels sum in a blocked, vectorised order with fused multiply-adds (which order depends on the
    host's SIMD level) and approximate exp/tanh/sigmoid with their own polynomials; arielml sums
    in float64 and rounds once (conv), or in the reference order (fully connected), and uses libm.
    Neither order is "the" float32 result, so these compare within a bound of float32 summation
    error: |a - b| <= 1e-5 * max|reference| (a K-term float32 sum errs by at most ~K * 2^-24 of the
    sum of |terms|; K <= 200 here)."""
from __future__ import annotations

import numpy as np
import pytest

import arielml
from tests.onnx_models import helper, make_model, run_onnxruntime

F32 = np.float32


def _run_both(nodes, inputs: dict[str, np.ndarray], initializers=None, opset=17):
    model = make_model(nodes, {k: (v.shape, v.dtype) for k, v in inputs.items()}, ["y"], initializers, opset)
    expected = run_onnxruntime(model, list(inputs.values()))[0]
    got = arielml.load(model).run(list(inputs.values()))[0]
    assert got.shape == expected.shape and got.dtype == expected.dtype
    return got, expected


def _image(rng, channels=None, size=None):
    c = channels or int(rng.integers(1, 6))
    h, w = (int(rng.integers(5, 12)) for _ in range(2)) if size is None else size
    return (rng.standard_normal((1, c, h, w)) * 2).astype(F32)


def _exact_cases(rng):
    x = _image(rng)
    c = x.shape[1]
    k = {"k": rng.standard_normal((c, 1, 1)).astype(F32)}
    yield "Add", [helper.make_node("Add", ["x", "k"], ["y"])], {"x": x}, k
    yield "Sub", [helper.make_node("Sub", ["k", "x"], ["y"])], {"x": x}, k
    yield "Mul", [helper.make_node("Mul", ["x", "x2"], ["y"])], {"x": x, "x2": _image(rng, c, x.shape[2:])}, None
    yield "Div", [helper.make_node("Div", ["x", "k"], ["y"])], {"x": x}, k
    yield "Max", [helper.make_node("Max", ["x", "k"], ["y"])], {"x": x}, k
    yield "Relu", [helper.make_node("Relu", ["x"], ["y"])], {"x": x}, None
    alpha = float(rng.uniform(0.01, 0.5))
    yield "LeakyRelu", [helper.make_node("LeakyRelu", ["x"], ["y"], alpha=alpha)], {"x": x}, None
    yield "HardSigmoid", [helper.make_node("HardSigmoid", ["x"], ["y"], alpha=0.25, beta=0.4)], {"x": x}, None
    lo, hi = sorted(rng.uniform(-2, 2, 2).astype(F32))
    yield "Clip", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"x": x}, {"lo": lo, "hi": hi}
    yield "Clip06", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"x": x}, {"lo": F32(0), "hi": F32(6)}
    s = int(rng.integers(1, 3))
    yield "MaxPool", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[s, 2])], {"x": x}, None
    yield "MaxPoolSame", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                           auto_pad="SAME_UPPER")], {"x": x}, None
    yield "GlobalMaxPool", [helper.make_node("GlobalMaxPool", ["x"], ["y"])], {"x": x}, None
    yield "Reshape", [helper.make_node("Reshape", ["x", "s"], ["y"])], {"x": x}, {"s": np.array([0, -1], np.int64)}
    yield "Flatten", [helper.make_node("Flatten", ["x"], ["y"], axis=2)], {"x": x}, None
    yield "Squeeze", [helper.make_node("Squeeze", ["x", "a"], ["y"])], {"x": x}, {"a": np.array([0], np.int64)}
    yield "Unsqueeze", [helper.make_node("Unsqueeze", ["x", "a"], ["y"])], {"x": x}, {"a": np.array([2], np.int64)}
    yield "Transpose", [helper.make_node("Transpose", ["x"], ["y"], perm=[0, 3, 1, 2])], {"x": x}, None
    yield "Concat", [helper.make_node("Concat", ["x", "x"], ["y"], axis=int(rng.integers(1, 4)))], {"x": x}, None
    pads = [0, 0, *rng.integers(0, 3, 2), 0, 0, *rng.integers(0, 3, 2)]
    yield "Pad", [helper.make_node("Pad", ["x", "p"], ["y"])], {"x": x}, {"p": np.array(pads, np.int64)}
    yield "PadValue", [helper.make_node("Pad", ["x", "p", "v"], ["y"])], {"x": x}, \
        {"p": np.array(pads, np.int64), "v": F32(rng.uniform(-1, 1))}
    reflect = [0, 0, *rng.integers(0, 2, 2), 0, 0, *rng.integers(0, 2, 2)]  # below every spatial size
    yield "PadReflect", [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")], {"x": x}, \
        {"p": np.array(reflect, np.int64)}
    yield "ReduceMean", [helper.make_node("ReduceMean", ["x", "ax"], ["y"], keepdims=int(rng.integers(0, 2)))], \
        {"x": x}, {"ax": np.array([1, 3], np.int64)}, 18
    yield "ReduceMax", [helper.make_node("ReduceMax", ["x", "ax"], ["y"], keepdims=0)], {"x": x}, \
        {"ax": np.array([2], np.int64)}, 18
    yield "Slice", [helper.make_node("Slice", ["x", "s", "e", "a", "st"], ["y"])], {"x": x}, \
        {"s": np.array([0, -2], np.int64), "e": np.array([c, -100], np.int64), "a": np.array([1, 3], np.int64),
         "st": np.array([1, -int(rng.integers(1, 3))], np.int64)}
    yield "Split", [helper.make_node("Split", ["x", "sp"], ["y", "z"], axis=2)], {"x": x}, \
        {"sp": np.array([2, x.shape[2] - 2], np.int64)}
    yield "Gather", [helper.make_node("Gather", ["x", "i"], ["y"], axis=3)], {"x": x}, \
        {"i": np.array([[0, -1], [2, 1]], np.int64)}
    for transform, nearest in (("asymmetric", "floor"), ("align_corners", "round_prefer_ceil")):
        sizes = [1, c, int(rng.integers(2, 20)), int(rng.integers(2, 20))]
        yield f"ResizeNearest_{transform}", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest",
                                                               coordinate_transformation_mode=transform,
                                                               nearest_mode=nearest)], \
            {"x": x}, {"sz": np.array(sizes, np.int64)}
    # shape arithmetic folded at load time: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]))
    yield "ShapeChain", [helper.make_node("Shape", ["x"], ["sh"]), helper.make_node("Gather", ["sh", "i"], ["n"]),
                         helper.make_node("Unsqueeze", ["n", "z"], ["n1"]),
                         helper.make_node("Concat", ["n1", "m"], ["s"], axis=0),
                         helper.make_node("Reshape", ["x", "s"], ["y"])], {"x": x}, \
        {"i": np.array(0, np.int64), "z": np.array([0], np.int64), "m": np.array([-1], np.int64)}
    # an NHWC pool output -> Transpose (free) -> Add with a permuted constant
    yield "LayoutChain", [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[1, 1]),
                          helper.make_node("Transpose", ["p"], ["t"], perm=[0, 2, 3, 1]),
                          helper.make_node("Add", ["t", "b"], ["y"])], {"x": x}, \
        {"b": rng.standard_normal((x.shape[3], c)).astype(F32)}


EXACT = [name for name, *_ in _exact_cases(np.random.default_rng(0))]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("name", EXACT)
def test_single_op_bit_exact_with_onnxruntime(name, seed):
    case = {n: rest for n, *rest in _exact_cases(np.random.default_rng(seed))}[name]
    got, expected = _run_both(*case)
    np.testing.assert_array_equal(got, expected)


def _close_cases(rng):
    x = _image(rng)
    c = x.shape[1]
    groups = int(rng.choice([g for g in (1, 2, 3) if c % g == 0]))
    out_c = groups * int(rng.integers(1, 4))
    kh, kw = (int(v) for v in rng.integers(1, 4, 2))
    w = rng.standard_normal((out_c, c // groups, kh, kw)).astype(F32)
    b = rng.standard_normal(out_c).astype(F32)
    pads = [int(v) for v in rng.integers(0, 2, 4)]
    strides = [int(v) for v in rng.integers(1, 3, 2)]
    dilations = [int(v) for v in rng.integers(1, 3, 2)]
    if (x.shape[2] + pads[0] + pads[2] < (kh - 1) * dilations[0] + 1
            or x.shape[3] + pads[1] + pads[3] < (kw - 1) * dilations[1] + 1):
        dilations = [1, 1]
    yield "Conv", [helper.make_node("Conv", ["x", "W", "B"], ["y"], group=groups, pads=pads, strides=strides,
                                    dilations=dilations)], {"x": x}, {"W": w, "B": b}
    yield "ConvSameLower", [helper.make_node("Conv", ["x", "W"], ["y"], group=groups, strides=strides,
                                             auto_pad="SAME_LOWER")], {"x": x}, {"W": w}
    m = int(rng.integers(1, 3))
    dw = rng.standard_normal((c * m, 1, 3, 3)).astype(F32)
    yield "DepthwiseConv", [helper.make_node("Conv", ["x", "W", "B"], ["y"], group=c, pads=[1, 1, 1, 1],
                                             strides=strides)], {"x": x}, \
        {"W": dw, "B": rng.standard_normal(c * m).astype(F32)}
    a = rng.standard_normal((int(rng.integers(1, 4)), int(rng.integers(2, 40)))).astype(F32)
    n = int(rng.integers(1, 20))
    yield "Gemm", [helper.make_node("Gemm", ["a", "G", "C"], ["y"], transB=1)], {"a": a}, \
        {"G": rng.standard_normal((n, a.shape[1])).astype(F32), "C": rng.standard_normal(n).astype(F32)}
    yield "MatMul", [helper.make_node("MatMul", ["a", "M"], ["y"])], {"a": a}, \
        {"M": rng.standard_normal((a.shape[1], n)).astype(F32)}
    for op in ("Sigmoid", "Tanh", "HardSwish", "Exp"):
        yield op, [helper.make_node(op, ["x"], ["y"])], {"x": x}, None
    yield "Softmax", [helper.make_node("Softmax", ["a"], ["y"])], {"a": a}, None
    yield "LogSoftmax", [helper.make_node("LogSoftmax", ["a"], ["y"])], {"a": a}, None
    yield "AveragePool", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[1, 2])], \
        {"x": x}, None
    yield "GlobalAveragePool", [helper.make_node("GlobalAveragePool", ["x"], ["y"])], {"x": x}, None
    k, s = int(rng.integers(2, 5)), int(rng.integers(1, 3))
    pads, extra = ([1, 1, 1, 1], [s - 1] * 2) if k == 3 else ([0, 1, 1, 0], [0, 0])
    yield "ConvTranspose", [helper.make_node("ConvTranspose", ["x", "W", "B"], ["y"], strides=[s, s], pads=pads,
                                             output_padding=extra)], {"x": x}, \
        {"W": rng.standard_normal((c, 4, k, k)).astype(F32), "B": rng.standard_normal(4).astype(F32)}
    for transform in ("asymmetric", "half_pixel", "align_corners"):
        sizes = [1, c, int(rng.integers(2, 20)), int(rng.integers(2, 20))]
        yield f"ResizeLinear_{transform}", [helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="linear",
                                                              coordinate_transformation_mode=transform)], \
            {"x": x}, {"sz": np.array(sizes, np.int64)}


CLOSE = [name for name, *_ in _close_cases(np.random.default_rng(0))]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", CLOSE)
def test_single_op_float_close_to_onnxruntime(name, seed):
    case = {n: rest for n, *rest in _close_cases(np.random.default_rng(100 + seed))}[name]
    got, expected = _run_both(*case)
    bound = 1e-5 * float(np.max(np.abs(expected)))
    assert float(np.max(np.abs(got.astype(np.float64) - expected))) <= bound
