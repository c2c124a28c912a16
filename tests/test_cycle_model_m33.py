"""Cortex-M33 block costs (arielml/emu/cyclemodel.py, docs/cycle-model.md): single-cycle loads and
stores (addresses formed in the second pipeline stage) and a one-cycle stall when the next instruction
reads the loaded register."""
from __future__ import annotations

import subprocess

import pytest

from arielml.emu.cyclemodel import classifier_for
from tests.emu_helpers import needs_cross

pytestmark = [pytest.mark.cross, needs_cross]


def cycles(tmp_path, assembly: str) -> int:
    source, obj, raw = tmp_path / "block.S", tmp_path / "block.o", tmp_path / "block.bin"
    source.write_text(".syntax unified\n.thumb\n" + assembly + "\n")
    subprocess.run(["arm-none-eabi-as", "-mcpu=cortex-m33", "-mthumb", str(source), "-o", str(obj)], check=True)
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", "-j", ".text", str(obj), str(raw)], check=True)
    return classifier_for("cortex-m33").classify(raw.read_bytes(), 0x2000_0000).cycles


def test_loads_and_stores_take_one_cycle(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r1]\nldr r2, [r3]\nstr r4, [r5]\nadds r6, r7, #1") == 4


def test_using_a_loaded_value_at_once_stalls_a_cycle(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r1]\nadds r2, r0, #1") == 3
    assert cycles(tmp_path, "ldr r0, [r1]\nadds r2, r3, #1\nadds r4, r0, #1") == 3
    assert cycles(tmp_path, "ldr r0, [r1]\nldr r2, [r0]") == 3  # pointer chasing


def test_the_written_back_base_is_ready_at_once(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r1], #4\nadds r2, r1, #1") == 2
