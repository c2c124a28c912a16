"""Memory planner: property test on random lifetimes, aliasing (views, in-place), and the arena of
every int8 zoo model against TFLite Micro's ("Arena allocation head")."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import arielml
from arielml.bench.tflm_peer import tflm_arena_head, tflm_arena_heads
from arielml.compile import plan_model
from arielml.ir import Graph, Node, QuantParams, Tensor
from arielml.ops.registry import REGISTRY, OpDef
from arielml.passes.memory_plan import (ArenaPlanner, BufferRequest, check_layout, plan_greedy, plan_linear)
from arielml.passes.pipeline import verify_plan
from tests.conftest import ZOO


def _int8_zoo() -> list[str]:
    rows = (ZOO / "MANIFEST.tsv").read_text().splitlines()
    header = rows[0].split("\t")
    models = [dict(zip(header, r.split("\t"))) for r in rows[1:] if r.strip()]
    return [m["filename"] for m in models if m["filename"].endswith(".tflite") and m["quant"].startswith("int8")]


buffers = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 30), st.integers(0, 10)), min_size=0, max_size=40)


@settings(max_examples=300, deadline=None)
@given(buffers, st.sampled_from([1, 4, 8, 16]))
def test_greedy_is_valid_and_never_worse_than_linear(raw, alignment):
    requests = [BufferRequest(size, first, first + length) for size, first, length in raw]
    greedy, linear = plan_greedy(requests, alignment), plan_linear(requests, alignment)
    check_layout(requests, greedy, alignment)
    check_layout(requests, linear, alignment)
    assert greedy.arena_bytes <= linear.arena_bytes


def test_planner_api_reuses_dead_memory():
    planner = ArenaPlanner(alignment=8)
    a = planner.add_buffer(100, 0, 1)
    b = planner.add_buffer(100, 1, 2)  # overlaps a at step 1
    c = planner.add_buffer(100, 2, 3)  # a is dead by then: may take its place
    layout = planner.solve()
    assert layout.offsets[a] != layout.offsets[b]
    assert layout.offsets[c] == layout.offsets[a]
    assert layout.arena_bytes == 208


def test_reshape_is_a_view_sharing_its_input_bytes():
    model = arielml.load(ZOO / "mlcommons_tiny/str_ww_ref_model.tflite")
    plan = plan_model(model, kernels_required=False, check=verify_plan)
    reshapes = [s for s in plan.steps if s.op == "RESHAPE"]
    assert reshapes and all(s.view for s in reshapes)
    for s in reshapes:
        node = plan.graph.nodes[s.node]
        assert plan.offsets[node.outputs[0]] == plan.offsets[node.inputs[0]]


# ---- in-place: a test-only elementwise operator --------------------------------------------------

NEGATE = "TEST_NEGATE_INPLACE"


@pytest.fixture(autouse=True)
def _negate_op(monkeypatch):
    """A test-only in-place operator, registered for this module's tests only (it must not leak into
    other tests: the README table, error messages)."""
    monkeypatch.setitem(REGISTRY, NEGATE, OpDef(
        name=NEGATE, infer_shapes=lambda n, g: [g.tensors[n.inputs[0]].shape],
        prepare=lambda n, g, s: None, evaluate=lambda p, xs: [-xs[0]], inplace_input=0))


def _chain(reads_later: bool) -> Graph:
    """x -> NEG -> a -> NEG -> b (-> ADDless consumer reading a again when reads_later)."""
    op = NEGATE
    q = QuantParams((1.0,), (0,))
    t = [Tensor(n, (1, 64), "int8", q) for n in ("x", "a", "b", "c")]
    nodes = [Node(op, (0,), (1,), index=0), Node(op, (1,), (2,), index=1),
             Node(op, (1 if reads_later else 2,), (3,), index=2)]
    return Graph(tuple(t), tuple(nodes), inputs=(0,), outputs=(3,))


def test_elementwise_output_overwrites_a_dead_input():
    plan = plan_model(_chain(reads_later=False), kernels_required=False, check=verify_plan)
    # a is dead after node 1: b reuses it; x (the graph input) is never overwritten
    assert plan.root(2) == 1 and plan.root(1) == 1
    assert plan.offsets[0] != plan.offsets[1]
    assert any("in place" in n for n in plan.notes)


def test_no_in_place_over_an_input_read_later():
    plan = plan_model(_chain(reads_later=True), kernels_required=False, check=verify_plan)
    assert plan.root(2) == 2  # a is still read by node 2
    assert plan.offsets[2] != plan.offsets[1]


# ---- every int8 zoo model against TFLite Micro ----------------------------------------------------

def test_arena_not_larger_than_tflite_micro_on_int8_zoo():
    names = _int8_zoo()
    assert len(names) >= 8
    paths = [str(ZOO / n) for n in names]
    heads = tflm_arena_heads(paths)
    compared = 0
    for name, path in zip(names, paths):
        model = arielml.load(path)
        plan = plan_model(model, kernels_required=False, check=verify_plan)
        linear = plan_model(model, kernels_required=False, planner="linear")
        assert plan.arena_bytes <= linear.arena_bytes
        if heads[path] is None:
            continue  # TFLite Micro cannot allocate it (dynamic shapes): nothing to compare
        assert plan.arena_bytes <= heads[path], f"{name}: arena {plan.arena_bytes} > TFLM {heads[path]}"
        compared += 1
    assert compared >= len(names) - 1


def test_tflm_arena_head_of_one_model():
    """The peer helper on its own: a known model, and a model TFLite Micro cannot allocate."""
    from arielml.bench.tflm_peer import TflmPeerError
    assert tflm_arena_head(ZOO / "tflite_micro/hello_world_int8.tflite") == 32
    with pytest.raises(TflmPeerError, match="cannot allocate"):
        tflm_arena_head(ZOO / "tflite_micro/simple_add_model.tflite")  # dynamic batch
