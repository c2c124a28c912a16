"""Fault reports: invalid access, a Thumb-2 instruction on the Cortex-M0+, budget, endless spin,
deadlock, and the current operator named in the message."""
from __future__ import annotations

import pytest

from arielml.emu import build_firmware, run_firmware
from arielml.errors import FirmwareFault
from arielml.targets.boards import get_board
from tests.emu_helpers import SRC, link_standalone, needs_cross

pytestmark = [pytest.mark.cross, needs_cross]


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("emu_faults")


def test_invalid_access_names_core_pc_symbol_and_address(out):
    elf = link_standalone("faults_thumb.S", out, "arm", 0x0, "bad_store", cpu="cortex-m4")
    with pytest.raises(FirmwareFault) as fault:
        run_firmware(get_board("nrf52840"), elf, cores=1)
    message = str(fault.value)
    assert "core 0" in message and "bad_store+0x" in message
    assert "write to unmapped address 0x40000000" in message
    assert "PC 0x" in message


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("entry", ["store_to_flash_code", "store_to_flash_data"])
def test_a_store_to_flash_faults(out, entry, exact):
    """Flash is read-only whether a page holds code (RAM-mapped) or constants (default mode: an MMIO
    window without a write callback; exact mode: RAM-mapped with a memory hook). A store to a page of
    code ends as Unicorn's CPU exception (it does not report the address), one to constants names it."""
    elf = link_standalone("faults_thumb.S", out, "arm", 0x1000_0000, entry, cpu="cortex-m33")
    with pytest.raises(FirmwareFault) as fault:
        run_firmware(get_board("rp2040"), elf, cores=1, exact_flash_reads=exact)
    assert f"{entry}+0x" in str(fault.value)
    if entry == "store_to_flash_data":
        assert "write to read-only address 0x10001000" in str(fault.value)


def test_thumb2_instruction_faults_on_cortex_m0plus_but_runs_on_m33(out):
    elf_m0 = link_standalone("faults_thumb.S", out, "arm", 0x1000_0000, "thumb2_on_m0", cpu="cortex-m33")
    with pytest.raises(FirmwareFault, match="undefined instruction.*cortex-m0plus"):
        run_firmware(get_board("rp2040"), elf_m0, cores=1)
    # the same bytes on the Cortex-M33 board run to the end: the M0+ model really is an M0+
    assert run_firmware(get_board("rp2350-arm"), elf_m0, cores=1).exit_status == 0x1234


def test_instruction_budget(out):
    elf = link_standalone("faults_thumb.S", out, "arm", 0x1000_0000, "budget_loop", cpu="cortex-m33")
    with pytest.raises(FirmwareFault, match=r"budget exhausted \(200000 instructions\)") as fault:
        run_firmware(get_board("rp2040"), elf, cores=1, max_instructions=200_000)
    assert "budget_loop" in str(fault.value)


def test_spinning_forever_is_detected(out):
    elf = link_standalone("faults_thumb.S", out, "arm", 0x1000_0000, "spin_forever", cpu="cortex-m33")
    with pytest.raises(FirmwareFault, match="spinning forever") as fault:
        run_firmware(get_board("rp2040"), elf, cores=1)
    assert "spin_forever" in str(fault.value)


def test_fault_names_the_current_operator(out):
    board = get_board("rp2040")
    firmware = build_firmware(board, [SRC / "profile_prog.c"], defines={"TRACE_BAD_ACCESS": 1}, out_dir=out)
    with pytest.raises(FirmwareFault, match="operator 1: write to unmapped address 0x40000000"):
        run_firmware(board, firmware)


def test_deadlock_on_a_lock_nobody_releases(out, tmp_path):
    source = tmp_path / "deadlock.c"
    source.write_text('#include "ariel_port.h"\n'
                      "int ariel_main(unsigned core) { ariel_port_lock(3); if (core == 0) { ariel_port_lock(3); }\n"
                      "  for (;;) { ariel_port_wait(); } }\n")
    board = get_board("rp2040")
    firmware = build_firmware(board, [source], out_dir=out)
    with pytest.raises(FirmwareFault, match="deadlock"):
        run_firmware(board, firmware)
