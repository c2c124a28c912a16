"""Weights in SRAM when it pays (passes/weight_placement.py): the planner takes the most re-read
arrays first within the SRAM budget, "off" and the host move nothing, a model that barely fits gets
nothing, the generated C marks exactly the chosen arrays non-const, the emulated runs stay bit-exact
and get no slower, and the CLI option parses."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

import arielml
from arielml.cli import main
from arielml.compile import compile_model, plan_model
from arielml.errors import TargetError
from arielml.ir import NO_TENSOR
from arielml.passes.pipeline import verify_plan
from arielml.passes.plan import WeightCopy
from arielml.passes.weight_placement import MIN_COPY_BYTES, candidates, choose, sram_budget
from arielml.targets.boards import get_board
from tests.conftest import ZOO
from tests.tflite_builder import ModelBuilder

VWW = ZOO / "mlcommons_tiny" / "vww_96_int8.tflite"
KWS = ZOO / "mlcommons_tiny" / "kws_ref_model.tflite"


def _ratio(c: WeightCopy) -> float:
    return c.saved_cycles / c.nbytes


def _copy(nbytes: int, saved: float, label: str) -> WeightCopy:
    return WeightCopy(NO_TENSOR, 0, label, nbytes, saved / nbytes, saved, label)


def test_choose_takes_the_best_saving_per_byte_first_within_the_budget():
    rng = np.random.default_rng(7)
    items = [_copy(int(rng.integers(16, 4000)), float(rng.uniform(1, 1e5)), f"a{i}") for i in range(60)]
    for budget in (0, 100, 5000, 40_000, 10 ** 7):
        chosen = choose(items, budget)
        assert sum(c.nbytes for c in chosen) <= budget
        assert [_ratio(c) for c in chosen] == sorted((_ratio(c) for c in chosen), reverse=True)
        # greedy: whatever was left out did not fit what was left after the better ones
        for c in items:
            if c not in chosen:
                better = sum(x.nbytes for x in chosen if _ratio(x) >= _ratio(c))
                assert c.nbytes > budget - better
    assert choose(items, 10 ** 7) and len(choose(items, 10 ** 7)) == len(items)
    # each image holds a copy: two images pay twice
    assert sum(c.nbytes for c in choose(items, 40_000, copies_per_byte=2)) <= 20_000
    assert choose([_copy(MIN_COPY_BYTES - 1, 1e9, "tiny")], 10 ** 6) == []


@pytest.mark.parametrize("target", ["rp2040", "nrf52840"])
def test_vww_copies_the_hottest_arrays_within_the_budget(target):
    plan = plan_model(VWW, target=target, cores=1, check=verify_plan)
    placement = plan.weight_placement
    assert placement.mode == "auto" and placement.copies and placement.images == 1
    assert placement.budget_bytes == sram_budget(plan) > 0
    assert placement.sram_bytes <= placement.budget_bytes
    total = sum(c.nbytes for c in candidates(plan))
    assert placement.sram_bytes < total  # vww's weights do not all fit next to its arena: a real choice
    first = placement.copies[0]
    if target == "nrf52840":  # wait states on every read: the most re-read weights first - the first
        # convolution's (48x48 outputs: read 2304 times per inference)
        assert first.tensor != NO_TENSOR and first.op == 0 and first.reads == 48 * 48
    else:  # behind the XIP cache a weight misses about once per line: the bytes count, the largest first
        assert first.nbytes == max(c.nbytes for c in candidates(plan))
    chosen = {(c.tensor, c.op, c.field) for c in placement.copies}
    worst_chosen = min(_ratio(c) for c in placement.copies)
    left = placement.budget_bytes - placement.sram_bytes
    for c in candidates(plan):
        if (c.tensor, c.op, c.field) not in chosen and c.nbytes >= MIN_COPY_BYTES:
            assert _ratio(c) <= worst_chosen or c.nbytes > left
    # the RAM check counts the copies
    board = get_board(target)
    assert plan.arena_bytes + placement.sram_bytes < board.sram.size


def test_depthwise_weights_that_outgrow_the_xip_cache_cost_more_per_byte():
    from arielml.passes.weight_placement import flash_read_cycles
    plan = plan_model(KWS, target="rp2040")
    fits = flash_read_cycles(plan, 8192, 8192, reads=4, working_set=8192)
    assert fits == 8192 // 8 * get_board("rp2040").flash_cache.miss_cycles  # one miss per line
    assert flash_read_cycles(plan, 8192, 8192, reads=4, working_set=24 * 1024) > fits
    assert flash_read_cycles(plan, 8192, 8192, reads=4, working_set=32 * 1024) == 4 * fits


def test_off_host_and_fast_flash_move_nothing():
    off = plan_model(VWW, target="rp2040", weights_in_sram="off").weight_placement
    assert off.mode == "off" and off.copies == () and off.sram_bytes == 0
    host = plan_model(VWW, target="host").weight_placement
    assert host.copies == () and "not applicable" in host.reason
    with pytest.raises(TargetError, match="weights_in_sram"):
        plan_model(VWW, target="rp2040", weights_in_sram="always")


def _barely_fitting_model() -> bytes:
    """One 3x3 CONV_2D whose input and output (128x128x8 int8 each) take 256 KiB of the RP2040's 264."""
    rng = np.random.default_rng(3)
    b = ModelBuilder()
    x = b.tensor((1, 128, 128, 8), "int8", quant=(0.05, -3))
    w = b.tensor((8, 3, 3, 8), "int8", quant=([0.01] * 8, [0] * 8, 0), data=rng.integers(-127, 128, (8, 3, 3, 8)))
    y = b.tensor((1, 128, 128, 8), "int8", quant=(0.1, 2))
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=0, strideW=1, strideH=1)
    return b.build(inputs=[x], outputs=[y])


def test_a_model_that_barely_fits_gets_nothing_moved():
    model = arielml.load(_barely_fitting_model())
    result = compile_model(model, target="rp2040")
    placement = result.plan.weight_placement
    assert result.arena_bytes >= 2 * 128 * 128 * 8
    assert sram_budget(result.plan) < MIN_COPY_BYTES and placement.copies == ()
    assert result.sram_weights_bytes == 0 and "no SRAM left" in placement.reason
    # the same weights on a board with room to spare are copied
    assert compile_model(model, target="rp2350-arm").plan.weight_placement.copies


def test_generated_c_marks_exactly_the_chosen_arrays_non_const():
    result = compile_model(KWS, target="rp2040", cores=2)
    placement = result.plan.weight_placement
    weights, model_c = result.sources["model_weights.c"], result.sources["model.c"]
    in_sram_tensors = {c.tensor for c in placement.copies if c.tensor != NO_TENSOR}
    assert in_sram_tensors
    defined = dict((int(t), q) for q, t in re.findall(r"^(const )?\w+ model_const(\d+)\[", weights, re.M))
    declared = dict((int(t), q) for q, t in re.findall(r"^extern (const )?\w+ model_const(\d+)\[", model_c, re.M))
    assert defined == declared  # the declaration in model.c has the definition's qualifier
    assert {t for t, q in defined.items() if not q} == in_sram_tensors
    params_in_sram = {(c.op, c.field) for c in placement.copies if c.tensor == NO_TENSOR}
    found = {(int(k), f) for q, k, f in re.findall(r"^static (const )?\w+ model_op(\d+)_params_(\w+)\[", model_c, re.M)
             if not q}
    assert found == params_in_sram and params_in_sram
    off = compile_model(KWS, target="rp2040", cores=2, weights_in_sram="off")
    assert not re.search(r"^(?:static )?(?!const|extern)\w+ model_(?:const|op)\w*\[", off.sources["model_weights.c"]
                         + off.sources["model.c"], re.M)
    assert "## Weights in SRAM" in result.sources["README.md"] and "tensor" in result.sources["README.md"]


def test_two_image_boards_pay_one_copy_per_image():
    placement = plan_model(KWS, target="stm32h747", cores=2).weight_placement
    assert placement.images == 2 and placement.copies
    assert placement.sram_bytes == 2 * sum(c.nbytes for c in placement.copies) <= placement.budget_bytes
    assert plan_model(KWS, target="stm32h747", cores=1).weight_placement.images == 1


@pytest.mark.parametrize("target, cores", [("rp2040", 2), ("stm32h747", 2)])
def test_emulated_runs_are_bit_exact_and_no_slower(target, cores, cache):
    """The cycle model may treat flash data reads as free (then both runs take the same cycles) or
    charge them (XIP cache, wait states): the copies can only remove cycles. The RAM of the linked
    firmware grows by the copies, its flash does not."""
    from arielml.backends.emulator import build_emulated
    model = arielml.load(KWS)
    inputs = model.random_inputs(5)
    reference = model.run(inputs)
    runs = {}
    for mode in ("off", "auto"):
        firmware = build_emulated(model, target, cores, weights_in_sram=mode, cache_dir=cache / "emulator")
        runs[mode] = (firmware, firmware.run(inputs))
        assert all(np.array_equal(a, b) for a, b in zip(runs[mode][1].outputs, reference)), mode
    (off_fw, off), (auto_fw, auto) = runs["off"], runs["auto"]
    copies = auto_fw.compiled.sram_weights_bytes
    assert copies > 0 and off_fw.compiled.sram_weights_bytes == 0
    assert auto.cycles <= off.cycles
    assert auto.ram_bytes >= off.ram_bytes + copies - 256  # the linker's alignment may absorb a little
    assert auto.flash_bytes <= off.flash_bytes + 256


def test_copies_save_cycles_when_flash_reads_cost_wait_states(cache):
    """The emulator charges every data read from flash (on the rp2040 through its XIP cache model), so
    the copies must save cycles: strictly fewer."""
    from arielml.backends.emulator import build_emulated
    model = arielml.load(KWS)
    inputs = model.random_inputs(1)
    cycles = {}
    for mode in ("off", "auto"):
        run = build_emulated(model, "rp2040", 1, weights_in_sram=mode, cache_dir=cache / "emulator").run(inputs)
        assert all(np.array_equal(a, b) for a, b in zip(run.outputs, model.run(inputs)))
        cycles[mode] = run.cycles
    assert cycles["auto"] < cycles["off"]


def test_cli_option(tmp_path, capsys):
    assert main(["compile", str(KWS), "--target", "rp2040", "-o", str(tmp_path / "a"), "--json"]) == 0
    auto = json.loads(capsys.readouterr().out)
    assert auto["sram_weights_bytes"] > 0 and auto["weights_in_sram"]["copies"]
    assert auto["weights_in_sram"]["sram_bytes"] == auto["sram_weights_bytes"]
    assert main(["compile", str(KWS), "--target", "rp2040", "-o", str(tmp_path / "b"), "--json",
                 "--weights-in-sram", "off"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert off["sram_weights_bytes"] == 0 and off["weights_bytes"] == auto["weights_bytes"]
    assert main(["compile", str(KWS), "--target", "rp2040", "-o", str(tmp_path / "c")]) == 0
    assert "weights in SRAM (auto):" in capsys.readouterr().out
    for command in (["compile", str(KWS), "--target", "rp2040", "-o", str(tmp_path / "d")],
                    ["profile", str(KWS), "--target", "rp2040"],
                    ["inspect", str(KWS), "--target", "rp2040"],
                    ["run", str(KWS), "--backend", "emulator", "--target", "rp2040", "-o", str(tmp_path / "e")]):
        assert main(command + ["--weights-in-sram", "sometimes"]) == 2
        err = capsys.readouterr().err
        assert "unknown --weights-in-sram 'sometimes'" in err and "auto, off" in err
    for backend in ("reference", "native"):  # the option places weights on a board: refused elsewhere
        assert main(["run", str(KWS), "--backend", backend, "--weights-in-sram", "off", "-o", str(tmp_path / "f")]) == 2
        assert "--weights-in-sram" in capsys.readouterr().err
    assert main(["inspect", str(KWS), "--target", "nrf52840", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["weights_in_sram"]["copies"] and plan["arena_bytes"] > 0
