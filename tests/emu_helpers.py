"""Shared helpers of the emulator tests: build standalone bare-metal ELFs from tests/emu_src."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SRC = Path(__file__).with_name("emu_src")

needs_cross = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or
                                 shutil.which("riscv64-unknown-elf-gcc") is None,
                                 reason="cross toolchains not installed (make test installs them)")


def link_standalone(source: str, out_dir: Path, arch: str, text_base: int, entry: str, cpu: str = "cortex-m0plus") -> Path:
    """Assemble and link one file into an ELF with its code at `text_base` (no start-up code: the
    file is the whole program)."""
    out = out_dir / f"{Path(source).stem}-{arch}-{cpu}-{entry}-{text_base:x}.elf"
    if arch == "arm":
        command = ["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb"]
    else:
        command = ["riscv64-unknown-elf-gcc", "-march=rv32imac", "-mabi=ilp32", "-Wl,--no-relax"]
    command += ["-nostdlib", "-nostartfiles", "-Wl,-n", f"-Wl,-Ttext={text_base:#x}", f"-Wl,-e,{entry}", str(SRC / source),
                "-o", str(out)]
    subprocess.run(command, check=True, capture_output=True)
    return out
