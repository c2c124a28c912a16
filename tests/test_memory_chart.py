"""The arena chart (`arielml profile --memory FILE.png`, arielml/memory_chart.py): its numbers (bytes
in use per step, the peak) checked against lifetimes computed here from the graph alone, tied
(overlapping) buffers and scratch blocks, a long plan, the PNG the CLI writes, and bad paths."""
import json
import os
from dataclasses import replace

import pytest

import arielml
from arielml.compile import plan_model
from arielml.ir import NO_TENSOR
from arielml.memory_chart import arena_buffers, draw_memory_chart, live_bytes, memory_peak, step_runs
from arielml.passes.memory_plan import align_up, plan_memory
from tests.emu_helpers import needs_cross
from tests.test_cli import HELLO, VWW, assert_one_line_error, cli

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def vww_plan():
    return plan_model(arielml.load(VWW), "rp2040", 2)


def bytes_in_use_from_graph(plan) -> list[int]:
    """Per node: bytes of the non-constant tensors alive while it runs, from the graph's node order
    alone (a tensor lives from the node that writes it, or step 0 for a graph input, to the last node
    that reads it, or the end for a graph output). Tensors sharing bytes (views) are counted once,
    at the largest of them. Valid for plans whose live buffers never overlap in the arena."""
    graph = plan.graph
    end = len(graph.nodes) - 1
    span: dict[int, list[int]] = {}
    for t in graph.inputs:
        span[plan.root(t)] = [0, 0]
    for position, node in enumerate(graph.nodes):
        for t in (*node.inputs, *node.outputs):
            if t != NO_TENSOR and not graph.tensors[plan.root(t)].is_constant:
                lifetime = span.setdefault(plan.root(t), [position, position])
                lifetime[1] = max(lifetime[1], position)
    for t in graph.outputs:
        span[plan.root(t)][1] = end
    size: dict[int, int] = {}
    for t, tensor in enumerate(graph.tensors):
        if plan.root(t) in span:
            size[plan.root(t)] = max(size.get(plan.root(t), 0), tensor.nbytes)
    return [sum(size[r] for r, (a, b) in span.items() if a <= position <= b) for position in range(end + 1)]


def test_bytes_in_use_match_the_graph_and_the_peak_is_the_largest_neighbours(vww_plan):
    per_step = live_bytes(vww_plan)
    assert per_step == bytes_in_use_from_graph(vww_plan)
    step, peak = memory_peak(vww_plan)
    assert peak == max(per_step) <= vww_plan.arena_bytes and per_step.index(peak) == step
    # vww is a chain: at the peak one operator reads its input and writes its output, nothing else
    graph = vww_plan.graph
    largest_pair = max(sum({vww_plan.root(t): graph.tensors[t].nbytes for t in (*node.inputs, *node.outputs)
                            if t != NO_TENSOR and not graph.tensors[t].is_constant}.values())
                       for node in graph.nodes)
    assert peak == largest_pair == 18432 + 36864  # conv #2: 48x48x8 in, 48x48x16 out


def test_tied_buffers_overlap_and_count_once(vww_plan, tmp_path):
    """An in-place operator's output laid over its input (as in-place depthwise will): the chart
    draws the overlap and counts the shared bytes once."""
    graph = vww_plan.graph
    node = graph.nodes[1]  # depthwise: 48x48x8 in, 48x48x8 out
    source, target = node.inputs[0], node.outputs[0]
    offsets = list(vww_plan.offsets)
    offsets[target] = offsets[source] + 1024  # overlaps all but 1 KiB of its input
    tied = replace(vww_plan, offsets=tuple(offsets))
    by_offset = {(b.offset, b.first) for b in arena_buffers(tied)}
    assert (offsets[target], 1) in by_offset and (offsets[source], 0) in by_offset
    before, after = live_bytes(vww_plan), live_bytes(tied)
    size = graph.tensors[source].nbytes
    assert after[1] == before[1] - (size - 1024)  # the shared bytes counted once
    assert max(after) <= tied.arena_bytes
    chart = draw_memory_chart(tied, tmp_path / "tied.png")
    assert chart.peak_bytes == max(after)


def test_scratch_blocks_count_for_every_core_and_a_long_plan_draws(vww_plan, tmp_path):
    """Every operator of the first eight run as 30 consecutive steps (as patch-based execution will),
    convolutions with scratch: about 260 steps, one labelled run per operator."""
    steps = []
    for step in vww_plan.steps:
        scratch = 600 if step.op == "CONV_2D" else 0
        steps += [replace(step, scratch_bytes=scratch)] * (30 if step.node < 8 else 1)
    long_plan = plan_memory(replace(vww_plan, steps=tuple(steps)))
    per_step = live_bytes(long_plan)
    cores = long_plan.options.cores
    first_of_node = {}
    for i, step in enumerate(long_plan.steps):
        first_of_node.setdefault(step.node, i)
    base = live_bytes(vww_plan)
    for node, i in first_of_node.items():
        extra = cores * align_up(600, long_plan.options.alignment) if long_plan.steps[i].op == "CONV_2D" else 0
        assert per_step[i] == base[node] + extra
    assert [run[2] for run in step_runs(long_plan)] == list(range(len(vww_plan.steps)))
    assert max(per_step) <= long_plan.arena_bytes
    assert {b.kind for b in arena_buffers(long_plan)} == {"input", "output", "activation", "scratch"}
    chart = draw_memory_chart(long_plan, tmp_path / "long.png", model_name="vww $patched$")
    data = chart.path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 20_000
    assert (chart.peak_step, chart.peak_bytes) == memory_peak(long_plan) and chart.steps == len(steps)


@pytest.mark.cross
@needs_cross
def test_profile_memory_writes_the_png_and_reports_the_peak(capsys, tmp_path):
    path = tmp_path / "charts" / "hello memory.png"  # the directory is created
    code, out, err = cli(capsys, "profile", HELLO, "--target", "rp2040", "--cores", "2", "--memory", path, "--json")
    assert code == 0, err
    doc = json.loads(out)  # stdout stays one JSON object; the line goes to stderr
    plan = plan_model(arielml.load(HELLO), "rp2040", 2)
    step, peak = memory_peak(plan)
    assert doc["memory"] == {"chart": str(path), "peak_step": step, "peak_bytes": peak,
                             "arena_bytes": plan.arena_bytes, "steps": len(plan.steps)}
    assert f"memory chart: {path} (peak {peak:,} B" in err
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000
    path.unlink()
    code, out, err = cli(capsys, "profile", HELLO, "--target", "rp2040", "--cores", "2", "--memory", path)
    assert code == 0, err
    assert out.startswith(f"memory chart: {path} (peak {peak:,} B") and path.read_bytes().startswith(PNG_SIGNATURE)


def test_profile_memory_bad_paths_are_one_line(capsys, tmp_path):
    """Refused before anything is built (the chart is drawn from the plan first)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = ("profile", HELLO, "--target", "rp2040", "--memory")
    assert_one_line_error(*cli(capsys, *args, blocker / "chart.png")[::2], contains="cannot write the memory chart")
    assert_one_line_error(*cli(capsys, *args, tmp_path / "chart.svg")[::2], contains=".png")
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert_one_line_error(*cli(capsys, *args, locked / "chart.png")[::2], contains="cannot write")
