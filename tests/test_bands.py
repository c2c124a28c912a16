"""Band execution (passes/bands.py) and the plan choices around it (optimize="memory", ram_budget):
every banded plan gives the bytes of the layer-by-layer reference, on the host and on each core
type's kernels with one and two cores; the arena shrinks; no multiply-accumulate is repeated."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import arielml
from arielml.errors import FitError
from arielml.ir import Graph, Node, QuantParams, Tensor
from arielml.ops.common import PADDING_SAME
from arielml.ops.conv import Conv2DOptions, DepthwiseConv2DOptions
from arielml.ops.elementwise import AddSubOptions
from arielml.passes.bands import BandRegion, band_plan, band_rows, region_output
from arielml.passes.pipeline import run_pipeline, verify_plan
from arielml.passes.plan import CompileOptions, Plan
from tests.conftest import ZOO
from tests.emu_helpers import needs_cross

VWW = ZOO / "mlcommons_tiny" / "vww_96_int8.tflite"


def _block_graph(h: int = 20, w: int = 12, c: int = 8, seed: int = 3, float_input: bool = False) -> Graph:
    """An inverted-residual block and a strided block, MobileNetV2-style: expand 1x1, depthwise 3x3
    (SAME), project 1x1, residual ADD, depthwise 5x5 stride 2 (SAME), 1x1; float_input: a QUANTIZE
    of a float32 input first (MCUNet's own exports)."""
    rng = np.random.default_rng(seed)
    tensors: list[Tensor] = []

    def act(name, shape, zp):
        tensors.append(Tensor(name, shape, "int8", QuantParams((float(rng.uniform(0.02, 0.08)),), (zp,))))
        return len(tensors) - 1

    def weights(name, shape, axis):
        data = rng.integers(-127, 128, shape).astype(np.int8)
        n = shape[axis]
        tensors.append(Tensor(name, shape, "int8", QuantParams(tuple(rng.uniform(0.002, 0.01, n)), (0,) * n, axis), data))
        return len(tensors) - 1

    def bias(name, n):
        tensors.append(Tensor(name, (n,), "int32", None, rng.integers(-2000, 2000, n).astype(np.int32)))
        return len(tensors) - 1

    nodes = []
    if float_input:
        tensors.append(Tensor("x_float", (1, h, w, c), "float32"))
        source = len(tensors) - 1
    x = act("x", (1, h, w, c), -5)
    if float_input:
        nodes.append(Node("QUANTIZE", (source,), (x,), None, 0))
    e = act("expand", (1, h, w, 3 * c), -128)
    nodes.append(Node("CONV_2D", (x, weights("we", (3 * c, 1, 1, c), 0), bias("be", 3 * c)), (e,),
                      Conv2DOptions(PADDING_SAME, 1, 1, 3), 0))
    d = act("dw", (1, h, w, 3 * c), -128)
    nodes.append(Node("DEPTHWISE_CONV_2D", (e, weights("wd", (1, 3, 3, 3 * c), 3), bias("bd", 3 * c)), (d,),
                      DepthwiseConv2DOptions(PADDING_SAME, 1, 1, 1, 3), 1))
    p = act("project", (1, h, w, c), 2)
    nodes.append(Node("CONV_2D", (d, weights("wp", (c, 1, 1, 3 * c), 0), bias("bp", c)), (p,),
                      Conv2DOptions(PADDING_SAME, 1, 1, 0), 2))
    s = act("sum", (1, h, w, c), 1)
    nodes.append(Node("ADD", (p, x), (s,), AddSubOptions(), 3))
    oh, ow = -(-h // 2), -(-w // 2)
    d2 = act("dw2", (1, oh, ow, c), -7)
    nodes.append(Node("DEPTHWISE_CONV_2D", (s, weights("wd2", (1, 5, 5, c), 3), bias("bd2", c)), (d2,),
                      DepthwiseConv2DOptions(PADDING_SAME, 2, 2, 1, 1), 4))
    y = act("y", (1, oh, ow, 12), 3)
    nodes.append(Node("CONV_2D", (d2, weights("wy", (12, 1, 1, c), 0), bias("by", 12)), (y,),
                      Conv2DOptions(PADDING_SAME, 1, 1, 0), 5))
    if float_input:
        nodes = [nodes[0]] + [replace(n, index=n.index + 1) for n in nodes[1:]]
    return Graph(tuple(tensors), tuple(nodes), (source if float_input else x,), (y,))


def _banded(graph: Graph, regions: tuple[BandRegion, ...], cores: int = 1, target: str = "host") -> Plan:
    """The plan with exactly these band regions (the pipeline's own choice replaced)."""
    from arielml.passes import pipeline
    passes = tuple((name, (lambda plan: band_plan(plan, regions)) if name == "bands" else fn)
                   for name, fn in pipeline.PASSES)
    return run_pipeline(graph, CompileOptions(target=target, cores=cores), check=verify_plan, passes=passes)


REGIONS = [(BandRegion(0, 3, 2),), (BandRegion(0, 3, 20),), (BandRegion(0, 5, 3),), (BandRegion(0, 5, 10),),
           (BandRegion(1, 2, 7),), (BandRegion(0, 2, 5), BandRegion(4, 5, 4)),
           # outputs written over their dead inputs: a block over the graph input, in-place depthwise
           (BandRegion(0, 3, 5, True),), (BandRegion(1, 1, 20, True), BandRegion(4, 4, 10, True)),
           (BandRegion(0, 5, 10, True),)]


def test_an_output_over_its_input_overlaps_it_by_design():
    graph = _block_graph()
    plan = _banded(graph, REGIONS[7])
    assert len(plan.ties) == 2
    for a, b, delta in plan.ties:  # the output starts a few rows before its input, inside its bytes
        assert plan.offsets[b] == plan.offsets[a] + delta
        assert plan.offsets[b] < plan.offsets[a] < plan.offsets[b] + plan.graph.tensors[b].nbytes
    assert plan.arena_bytes < _banded(graph, ()).arena_bytes


def test_regions_and_rows():
    graph = _block_graph()
    assert region_output(graph, 0, 3) == graph.nodes[3].outputs[0]
    assert region_output(graph, 0, 1) == graph.nodes[1].outputs[0]
    assert region_output(graph, 1, 3) == graph.nodes[3].outputs[0]  # reads x and the expansion whole
    leaky = replace(graph, outputs=(*graph.outputs, graph.nodes[0].outputs[0]))
    assert region_output(leaky, 0, 1) is None  # the expansion leaves too: two tensors cross the cut
    bands = band_rows(graph, BandRegion(0, 5, 5), graph.outputs[0])
    # every model row of every intermediate is computed exactly once over the bands
    for position in range(5):
        rows = [r for b in bands if position in b.computed for r in range(*b.computed[position])]
        height = graph.tensors[graph.nodes[position].outputs[0]].shape[1]
        assert sorted(rows) == list(range(height)), position


@pytest.mark.parametrize("regions", REGIONS, ids=str)
def test_banded_plan_is_bit_exact_on_the_host(regions, cache):
    graph = _block_graph()
    model = arielml.Model(graph=graph)
    x = model.random_inputs(2)
    expected = model.run(x)
    from arielml.backends.native import build_native
    from arielml.codegen.emit import emit
    from arielml.compile import CompileResult
    for cores in (1, 2):
        plan = _banded(graph, regions, cores)
        assert plan.macs_executed == plan.model_macs  # halos are kept, never recomputed
        assert len(plan.graph.nodes) > len(graph.nodes)
        sources, weights = emit(plan)
        out = build_native(CompileResult(plan.arena_bytes, weights, tuple(sources), plan, sources), cache).run(x)
        assert all(np.array_equal(a, b) for a, b in zip(expected, out.outputs)), (regions, cores)


def test_memory_plan_of_a_zoo_model_is_smaller_exact_and_repeats_no_mac(cache):
    model = arielml.load(VWW)
    latency = run_pipeline(model.graph, CompileOptions(target="rp2040", cores=2), check=verify_plan)
    memory = run_pipeline(model.graph, CompileOptions(target="rp2040", cores=2, optimize="memory"), check=verify_plan)
    assert memory.arena_bytes < 0.7 * latency.arena_bytes, (memory.arena_bytes, latency.arena_bytes)
    assert memory.macs_executed == memory.model_macs == latency.macs_executed
    assert any("bands of rows" in note for note in memory.notes)
    x = model.random_inputs(0)
    for cores, scheduler in ((1, "static"), (2, "static"), (2, "dynamic")):
        out = model.run_native(x, cores=cores, scheduler=scheduler, target="rp2040", optimize="memory",
                               cache_dir=cache).outputs
        assert all(np.array_equal(a, b) for a, b in zip(model.run(x), out)), (cores, scheduler)


def test_ram_budget_picks_the_fastest_plan_that_fits_or_says_the_least_ram():
    from arielml.compile import plan_model
    from arielml.passes.memory_choice import plan_ram_with_copies
    model = arielml.load(VWW)
    latency = plan_model(model, "rp2040", 2, weights_in_sram="off")
    memory = plan_model(model, "rp2040", 2, optimize="memory")
    ram_latency, ram_memory = plan_ram_with_copies(latency), plan_ram_with_copies(memory)
    assert ram_memory < ram_latency
    roomy = plan_model(model, "rp2040", 2, ram_budget=ram_latency + 4096)
    assert roomy.options.optimize == "latency" and plan_ram_with_copies(roomy) <= ram_latency + 4096
    tight = plan_model(model, "rp2040", 2, ram_budget=ram_memory + 512)
    assert tight.options.optimize == "memory" and plan_ram_with_copies(tight) <= ram_memory + 512
    with pytest.raises(FitError) as refused:
        plan_model(model, "rp2040", 2, ram_budget=ram_memory - 1)
    assert f"{ram_memory:,} bytes" in str(refused.value)


def test_compile_json_reports_the_memory_plan(capsys, tmp_path):
    from arielml.cli import EXIT_USER_ERROR, main
    code = main(["compile", str(VWW), "--target", "rp2040", "--cores", "2", "-o", str(tmp_path / "lib"),
                 "--optimize", "memory", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    summary = json.loads(out)
    assert summary["optimize"] == "memory" and summary["macs_executed"] == summary["macs"] == 7_489_664
    assert summary["arena_bytes"] < 45_000 and summary["ram_bytes"] > summary["arena_bytes"]
    code = main(["compile", str(VWW), "-o", str(tmp_path / "x"), "--optimize", "speed"])
    out, err = capsys.readouterr()
    assert code == EXIT_USER_ERROR and "latency, memory" in err and "Traceback" not in err


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", ["rp2040", "rp2350-arm", "rp2350-riscv"])
def test_banded_plans_are_bit_exact_on_each_core_types_kernels(target):
    """Bands make small steps: tiles that start mid-row, channel blocks of 4..12, explicit padding
    on one side only, halo copies; every kernel variant must give the reference's bytes."""
    graph = _block_graph()
    model = arielml.Model(graph=graph)
    x = model.random_inputs(4)
    expected = model.run(x)
    from arielml.backends.emulator import EmulatedFirmware, build_firmware_for_plan
    for regions in (REGIONS[3], REGIONS[5], REGIONS[7]):  # halos, two regions, in place over inputs
        for cores in (1, 2):
            firmware: EmulatedFirmware = build_firmware_for_plan(model, _banded(graph, regions, cores, target))
            out = firmware.run(x).outputs
            assert all(np.array_equal(a, b) for a, b in zip(expected, out)), (regions, cores)
    floating = arielml.Model(graph=_block_graph(float_input=True))  # QUANTIZE in place, then bands
    xf = floating.random_inputs(6)
    out = floating.run_emulated(xf, target, cores=2, optimize="memory").outputs
    assert all(np.array_equal(a, b) for a, b in zip(floating.run(xf), out))


def test_inspect_shows_both_plans(capsys):
    from arielml.cli import main
    assert main(["inspect", str(VWW), "--target", "rp2040", "--cores", "2", "--json"]) == 0
    plans = json.loads(capsys.readouterr().out)["plan"]["plans"]
    latency, memory = plans["latency"], plans["memory"]
    assert memory["arena_bytes"] < latency["arena_bytes"] and memory["ram_bytes"] < latency["ram_bytes"]
    assert memory["macs_executed"] == latency["macs_executed"] == 7_489_664
    assert memory["changes"] and not latency["changes"]


def test_a_float_input_is_quantised_in_place_first_and_stays_exact(cache):
    """The memory plan converts a float input to int8 in place, a row at a time (the int8 rows
    written over float rows already read), before banding what follows; bit-exact on 1 and 2 threads."""
    graph = _block_graph(float_input=True)
    model = arielml.Model(graph=graph)
    x = model.random_inputs(5)
    latency = run_pipeline(graph, CompileOptions(target="rp2040", cores=2), check=verify_plan)
    memory = run_pipeline(graph, CompileOptions(target="rp2040", cores=2, optimize="memory"), check=verify_plan)
    quantize = next(i for i, n in enumerate(graph.nodes) if n.op == "QUANTIZE")
    assert any(a == graph.nodes[quantize].inputs[0] for a, _, _ in memory.ties)
    assert memory.arena_bytes < latency.arena_bytes
    for cores in (1, 2):
        out = model.run_native(x, cores=cores, target="rp2040", optimize="memory", cache_dir=cache).outputs
        assert all(np.array_equal(a, b) for a, b in zip(model.run(x), out)), cores
