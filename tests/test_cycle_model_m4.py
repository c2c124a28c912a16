"""Cortex-M4 branch refill (docs/cycle-model.md): P = 1 for a direct branch to a word-aligned or 16-bit
target, +1 when the target is a 32-bit instruction at an address = 2 mod 4, +1 when the target comes
from a register (BX LR). Programs: tests/emu_src/refill_m4.S."""
from __future__ import annotations

import pytest

from arielml.emu import run_firmware
from arielml.targets.boards import get_board
from tests.emu_helpers import link_standalone, needs_cross

pytestmark = [pytest.mark.cross, needs_cross]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("m4")

    def run_entry(entry: str):
        elf = link_standalone("refill_m4.S", out, "arm", 0x0, entry, cpu="cortex-m4")
        result = run_firmware(get_board("nrf52840"), elf, cores=1)
        assert result.exit_status == 0
        return result
    return run_entry


def test_a_misaligned_32_bit_target_costs_one_more_refill_cycle(run):
    """Same loop (the aligned one's padding is a nop, the misaligned one's nop puts its target at 2 mod 4),
    99 taken branches to its first instruction, a 32-bit ADD.W."""
    aligned, misaligned = run("aligned"), run("misaligned")
    assert misaligned.instructions[0] == aligned.instructions[0]
    assert misaligned.cycles[0] - aligned.cycles[0] == 99


def test_an_indirect_return_costs_one_more_refill_cycle(run):
    """Per iteration: BL (1 + P = 2), adds 1, BX LR (1 + P + 1 = 3), subs 1, bne 1 (+1 taken); the taken
    bne lands on the BL, a 32-bit instruction at 2 mod 4: +1 more (99 times)."""
    result = run("returns")
    loop = 100 * (2 + 1 + 3 + 1 + 1) + 99 * (1 + 1)
    entry_and_exit = 1 + 2 + 1 + 1 + 2 + 2  # movs; b done (1 + P); mov.w, movs, str (2), b . (1 + P)
    assert result.cycles[0] == loop + entry_and_exit
