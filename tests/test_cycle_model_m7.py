"""Cortex-M7 cycle model (arielml/emu/cyclemodel_m7.py, docs/cycle-model.md): dual-issue pairing
rules, load-use stalls, branch prediction. Block schedules are checked on the classifier with code
assembled here; prediction on the emulated stm32h747 (tests/emu_src/branches_m7.S)."""
from __future__ import annotations

import subprocess

import pytest

from arielml.emu import run_firmware
from arielml.emu.cyclemodel_m7 import M7_TIMING, M7Classifier
from arielml.targets.boards import get_board
from tests.emu_helpers import link_standalone, needs_cross

pytestmark = [pytest.mark.cross, needs_cross]


def cycles(tmp_path, assembly: str) -> int:
    """Static cycles of one block of Thumb-2 code (no branch at its end)."""
    source, obj, raw = tmp_path / "block.S", tmp_path / "block.o", tmp_path / "block.bin"
    source.write_text(".syntax unified\n.thumb\n" + assembly + "\n")
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m7", "-mthumb", str(source), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    return M7Classifier().classify(raw.read_bytes(), 0x2400_0000).cycles


def test_independent_alu_instructions_pair(tmp_path):
    assert cycles(tmp_path, "add r0, r1, r2\nadd r3, r4, r5\neor r6, r7, r8\norr r9, r10, r11") == 2


def test_dependent_instructions_do_not_pair(tmp_path):
    assert cycles(tmp_path, "add r0, r1, r2\nadd r3, r0, r5") == 2


def test_two_loads_do_not_pair_a_load_and_an_alu_op_do(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r4]\nldr r1, [r4, #4]") == 2
    assert cycles(tmp_path, "ldr r0, [r4]\nstr r1, [r4, #4]") == 2
    assert cycles(tmp_path, "ldr r0, [r4]\nadd r1, r2, r3") == 1


def test_load_use_costs_a_stall(tmp_path):
    used = cycles(tmp_path, "ldr r0, [r4]\nadd r1, r0, #1")
    independent = cycles(tmp_path, "ldr r0, [r4]\nadd r1, r2, #1")
    assert independent == 1
    assert used == 3  # load, one stall cycle, then the add: it cannot pair with its producer
    # one instruction in between hides the stall
    assert cycles(tmp_path, "ldr r0, [r4]\nadd r2, r3, #1\nadd r5, r6, #2\nadd r1, r0, #1") == 3


def test_multiplies_pair_only_as_the_first_of_a_pair(tmp_path):
    assert cycles(tmp_path, "mla r0, r1, r2, r3\nadd r4, r5, r6") == 1
    assert cycles(tmp_path, "add r4, r5, r6\nmla r0, r1, r2, r3") == 2
    assert cycles(tmp_path, "mul r0, r1, r2\nmul r3, r4, r5") == 2
    assert cycles(tmp_path, "smlad r0, r1, r2, r3\nsmlad r4, r5, r6, r7") == 2


def test_one_shifted_operand_per_pair(tmp_path):
    assert cycles(tmp_path, "add r0, r1, r2, lsl #2\nadd r3, r4, r5, lsl #2") == 2
    assert cycles(tmp_path, "add r0, r1, r2, lsl #2\nadd r3, r4, r5") == 1


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("m7")

    def run_entry(entry: str):
        elf = link_standalone("branches_m7.S", out, "arm", 0x0800_0000, entry, cpu="cortex-m7")
        result = run_firmware(get_board("stm32h747"), elf, cores=1)
        assert result.exit_status == 0
        return result
    return run_entry


def test_a_loop_branch_is_predicted(run):
    """Backward branch, first seen: predicted taken; only the final fall-through mispredicts."""
    assert run("counted_loop").mispredicts == (1,)


def test_a_mispredicted_branch_costs_more_than_a_predicted_one(run):
    """The alternating forward branch defeats the 2-bit counter; the steady one is always taken (first
    seen: forward, predicted not taken; then learnt)."""
    alternating, steady = run("alternating"), run("steady")
    assert steady.mispredicts[0] == 2  # its first encounter and the loop's final fall-through
    assert alternating.mispredicts[0] >= 90
    # alternating runs 51 more instructions (50 adds, one branch at its entry): at most 51 cycles,
    # the rest of the difference is the mispredictions
    assert alternating.instructions[0] == steady.instructions[0] + 51
    extra = alternating.mispredicts[0] - steady.mispredicts[0]
    assert alternating.cycles[0] - steady.cycles[0] >= extra * M7_TIMING.mispredict


def test_same_elf_same_counts(run):
    first, second = run("alternating"), run("alternating")
    assert (first.cycles, first.instructions, first.mispredicts) == \
        (second.cycles, second.instructions, second.mispredicts)
