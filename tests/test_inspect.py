"""arielml.inspect: MAC and parameter counts, live-activation peak, unsupported operators, and the
README's operator table kept equal to the registry."""
import re

import numpy as np
import pytest

import arielml
from arielml.frontend.tflite import load_tflite, parse_tflite
from arielml.inspect import live_ranges, operator_table_markdown, peak_activation, summarize, summarize_text
from arielml.ir import Graph, Node, Tensor
from arielml.ir.verify import verify
from tests.conftest import ROOT, ZOO
from tests.tflite_builder import ModelBuilder


def _t(name, shape, dtype="int8", data=None):
    return Tensor(name=name, shape=shape, dtype=dtype, data=data)


def test_peak_activation_counts_tensors_live_across_a_skip_connection():
    # x(100) -> a(200) -> b(50); c = f(a, b)(10): a stays live while b is computed.
    w = np.zeros((4,), np.int8)
    tensors = (_t("x", (100,)), _t("a", (200,)), _t("b", (50,)), _t("c", (10,)), _t("w", (4,), data=w))
    nodes = (Node("X", (0, 4), (1,), index=0), Node("Y", (1,), (2,), index=1), Node("Z", (1, 2), (3,), index=2))
    graph = Graph(tensors=tensors, nodes=nodes, inputs=(0,), outputs=(3,))
    assert live_ranges(graph) == {0: (-1, 0), 1: (0, 2), 2: (1, 2), 3: (2, 3)}
    # node 0: x + a = 300; node 1: a + b = 250; node 2: a + b + c = 260
    assert peak_activation(graph) == (300, 0)


def test_graph_output_stays_live_to_the_end_and_unread_input_only_at_start():
    tensors = (_t("x", (64,)), _t("unused", (1000,)), _t("y", (64,)), _t("z", (8,)))
    nodes = (Node("X", (0,), (2,), index=0), Node("Y", (0,), (3,), index=1))
    graph = Graph(tensors=tensors, nodes=nodes, inputs=(0, 1), outputs=(2, 3))
    ranges = live_ranges(graph)
    assert ranges[1] == (-1, -1) and ranges[2] == (0, 2) and ranges[3] == (1, 2)
    assert peak_activation(graph) == (64 + 1000, -1)


def _fc_model(units=8, depth=16, rows=2, extra_unsupported=False):
    rng = np.random.default_rng(0)
    b = ModelBuilder()
    x = b.tensor((rows, depth), "int8", quant=(0.05, -3))
    w = b.tensor((units, depth), "int8", quant=(0.02, 0), data=rng.integers(-127, 128, (units, depth)))
    bias = b.tensor((units,), "int32", quant=(0.001, 0), data=rng.integers(-500, 500, units))
    y = b.tensor((rows, units), "int8", quant=(0.07, 5))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions")
    outputs = [y]
    if extra_unsupported:
        z = b.tensor((rows, units), "float32")
        b.op("FLOOR", [y], [z])  # not an arielml operator
        outputs = [z]
    y2 = b.tensor((rows, units), "int8", quant=(0.07, 5))
    b.op("FULLY_CONNECTED", [x, w, bias], [y2], "FullyConnectedOptions")  # shares w and bias
    return b.build([x], outputs + [y2])


def test_macs_and_shared_parameters_counted_once():
    summary = summarize(parse_tflite(_fc_model()))
    assert [op.macs for op in summary.ops] == [2 * 8 * 16, 2 * 8 * 16]
    assert [op.params_bytes for op in summary.ops] == [8 * 16 + 8 * 4] * 2
    assert summary.macs == 2 * 2 * 8 * 16
    assert summary.params_bytes == 8 * 16 + 8 * 4  # shared between the two operators
    assert summary.unsupported == ()


def test_unsupported_operator_is_listed_not_fatal():
    graph = parse_tflite(_fc_model(extra_unsupported=True))
    summary = summarize(graph)
    assert [(op.index, op.type) for op in summary.unsupported] == [(1, "FLOOR")]
    assert summary.ops[1].macs == 0
    doc = summary.to_json()
    assert doc["unsupported"][0]["type"] == "FLOOR" and doc["ops"][1]["supported"] is False
    assert "FLOOR" in summarize_text(graph) and "unsupported" in summarize_text(graph)
    with pytest.raises(arielml.ArielError, match="FLOOR"):
        verify(graph)


def test_json_has_the_documented_fields():
    doc = summarize(parse_tflite(_fc_model())).to_json()
    assert {"ops", "macs", "params_bytes", "peak_activation_bytes", "unsupported", "notes"} <= set(doc)
    assert {"index", "type", "macs", "params_bytes", "inputs", "outputs"} <= set(doc["ops"][0])
    # x (32 B) is live through both operators, each output to the end: 32 + 16 + 16
    assert doc["peak_activation_bytes"] == 64


def test_model_summary_text_has_totals():
    model = arielml.load(ZOO / "mlcommons_tiny" / "ad01_int8.tflite")
    text = model.summary()
    assert "FULLY_CONNECTED" in text and "MACs 264,192" in text


def test_vww_int8_macs_are_the_published_count():
    summary = summarize(load_tflite(ZOO / "mlcommons_tiny" / "vww_96_int8.tflite"))
    assert summary.macs == 7_489_664


def test_readme_operator_table_equals_the_registry():
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- operators:begin -->\n(.*?)<!-- operators:end -->", readme, re.S)
    assert match, "README.md lost its <!-- operators:begin/end --> markers"
    assert match.group(1) == operator_table_markdown(), (
        "README operator table is stale: run `python -m arielml.inspect --readme` to regenerate it")


def test_peak_activation_sweep_matches_counting_every_position():
    """peak_activation is a linear sweep (inspect on graphs of thousands of operators); it must give
    what summing the live tensors at every position gives."""
    for path in sorted(ZOO.rglob("*.tflite")):
        graph = arielml.load(path).graph
        ranges = live_ranges(graph)
        best, best_pos = 0, None
        for pos in range(-1, len(graph.nodes) + 1):
            live = sum(graph.tensors[t].nbytes for t, (lo, hi) in ranges.items() if lo <= pos <= hi)
            if live > best:
                best, best_pos = live, pos
        assert peak_activation(graph) == (best, best_pos), path.name
