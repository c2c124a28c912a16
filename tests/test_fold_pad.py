"""passes/fold_pad.py: a PAD read only by a VALID convolution becomes the convolution's explicit
padding - same bytes as the unfolded graph (reference executor), fewer operators, a smaller arena -
and is left alone whenever folding would change a number."""
from dataclasses import replace

import numpy as np
import pytest

import arielml
from arielml.ir import Graph, Node, QuantParams, Tensor
from arielml.ops.common import PADDING_VALID
from arielml.ops.conv import Conv2DOptions, DepthwiseConv2DOptions
from arielml.passes.pipeline import PASSES, run_pipeline, verify_plan
from arielml.passes.plan import CompileOptions
from tests.emu_helpers import needs_cross

PAD_SIDES = (1, 2, 1, 0)  # top, bottom, left, right


def _graph(op="CONV_2D", pad_value=None, dtype="int8", second_reader=False, sides=PAD_SIDES) -> Graph:
    rng = np.random.default_rng(11)
    q = QuantParams((0.05,), (-3,)) if dtype != "float32" else None
    top, bottom, left, right = sides
    h, w, c = 9, 8, 4
    tensors = [Tensor("x", (1, h, w, c), dtype, q),
               Tensor("paddings", (4, 2), "int32", None, np.array([[0, 0], [top, bottom], [left, right], [0, 0]],
                                                                    dtype=np.int32)),
               Tensor("padded", (1, h + top + bottom, w + left + right, c), dtype, q)]
    pad_inputs = (0, 1)
    if pad_value is not None:
        tensors.append(Tensor("value", (), dtype, q, np.array(pad_value, dtype=dtype)))
        pad_inputs = (0, 1, len(tensors) - 1)
    if op == "CONV_2D":
        weights = rng.integers(-127, 128, (6, 3, 3, c)).astype(np.int8) if dtype != "float32" else \
            rng.normal(0, 0.1, (6, 3, 3, c)).astype(np.float32)
        options, out_c = Conv2DOptions(PADDING_VALID, 2, 1, 0), 6
    else:
        weights = rng.integers(-127, 128, (1, 3, 3, c)).astype(np.int8) if dtype != "float32" else \
            rng.normal(0, 0.1, (1, 3, 3, c)).astype(np.float32)
        options, out_c = DepthwiseConv2DOptions(PADDING_VALID, 1, 1, 1, 0), c
    wq = QuantParams(tuple(rng.uniform(0.005, 0.02, weights.shape[0 if op == "CONV_2D" else 3])),
                     (0,) * weights.shape[0 if op == "CONV_2D" else 3], 0 if op == "CONV_2D" else 3) \
        if dtype != "float32" else None
    tensors.append(Tensor("w", weights.shape, "int8" if dtype != "float32" else "float32", wq, weights))
    stride_w, stride_h = options.stride_w, options.stride_h
    out_h = (h + top + bottom - 3) // stride_h + 1
    out_w = (w + left + right - 3) // stride_w + 1
    tensors.append(Tensor("y", (1, out_h, out_w, out_c), dtype, QuantParams((0.2,), (4,)) if q else None))
    wi, yi = len(tensors) - 2, len(tensors) - 1
    nodes = [Node("PADV2" if pad_value is not None else "PAD", pad_inputs, (2,), None, 0),
             Node(op, (2, wi), (yi,), options, 1)]
    outputs = (yi,)
    if second_reader:
        tensors.append(Tensor("z", tensors[2].shape, dtype, q))
        nodes.append(Node("RELU", (2,), (len(tensors) - 1,), None, 2))
        outputs = (yi, len(tensors) - 1)
    return Graph(tuple(tensors), tuple(nodes), (0,), outputs)


def _plan(graph):
    return run_pipeline(graph, CompileOptions(cores=2, target="host"), check=verify_plan)


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_a_pad_with_the_zero_point_folds_and_gives_the_same_bytes(op):
    graph = _graph(op)
    plan = _plan(graph)
    assert [n.op for n in plan.graph.nodes] == [op] and plan.graph.nodes[0].index == 1
    assert plan.graph.nodes[0].options.explicit_padding == PAD_SIDES
    assert any("PAD #0 folded" in note for note in plan.notes)
    unfolded = run_pipeline(graph, CompileOptions(cores=2, target="host"),
                            passes=tuple(p for p in PASSES if p[0] != "fold_pad"))
    assert plan.arena_bytes < unfolded.arena_bytes  # the padded copy is gone
    model = arielml.Model(graph=graph)
    for seed in range(3):
        x = model.random_inputs(seed)
        reference = model.run(x)  # the reference executor runs the PAD itself
        native = model.run_native(x, cores=2).outputs
        assert all(np.array_equal(a, b) for a, b in zip(reference, native)), seed


@pytest.mark.parametrize("case", ["other value", "float", "two readers", "same padding"])
def test_folding_is_refused_where_it_would_change_a_number(case):
    if case == "other value":
        graph = _graph(pad_value=5)  # PADV2 with a constant that is not the zero point
    elif case == "float":
        graph = _graph(dtype="float32")
    elif case == "two readers":
        graph = _graph(second_reader=True)
    else:
        graph = _graph()
        conv = graph.nodes[1]
        graph = replace(graph, nodes=(graph.nodes[0], replace(conv, options=replace(conv.options, padding=0))),
                        tensors=graph.tensors)
        graph = replace(graph, tensors=tuple(replace(t, shape=(1, 12, 5, 6)) if t.name == "y" else t
                                             for t in graph.tensors))
    plan = _plan(graph)
    assert plan.graph.nodes[0].op in ("PAD", "PADV2") and not [n for n in plan.notes if "folded" in n]
    if case in ("other value", "two readers"):
        model = arielml.Model(graph=graph)
        x = model.random_inputs(0)
        assert all(np.array_equal(a, b) for a, b in zip(model.run(x), model.run_native(x, cores=2).outputs))


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", ["rp2040", "rp2350-arm", "rp2350-riscv"])
def test_folded_convolutions_are_bit_exact_on_each_core_types_kernels(target):
    """Explicit padding reaches pad_top/pad_left values SAME never makes (here 1 and 2 on a stride 2
    convolution): every kernel variant must read them right."""
    for op, sides in (("CONV_2D", PAD_SIDES), ("CONV_2D", (2, 0, 0, 2)), ("DEPTHWISE_CONV_2D", PAD_SIDES),
                      ("DEPTHWISE_CONV_2D", (0, 2, 2, 1))):
        model = arielml.Model(graph=_graph(op, sides=sides))
        x = model.random_inputs(1)
        run = model.run_emulated(x, target, cores=2)
        assert all(np.array_equal(a, b) for a, b in zip(model.run(x), run.outputs)), (op, sides)
