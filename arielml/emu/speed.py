"""Emulator speed benchmark: `python -m arielml.emu.speed [board ...]` builds an int8 matrix-vector
benchmark (bench_src/speed_bench.c) for each board, runs it on every core and prints emulated
instructions per host second (MIPS), with cycles per core. Its weights stream from flash, a byte per
8 instructions: the worst case for the flash data-read callback (docs/emulator.md, "Speed")."""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from arielml.emu.firmware import build_firmware
from arielml.emu.machine import RunResult, run_firmware
from arielml.targets.boards import get_board

BENCH = Path(__file__).with_name("bench_src") / "speed_bench.c"


def measure(board_name: str, cores: int | None = None, repeat: int = 40, out_dir: Path | None = None,
            quantum_cycles: int | None = None, exact_flash_reads: bool = False) -> RunResult:
    board = get_board(board_name)
    out = out_dir or Path(tempfile.gettempdir()) / "arielml-speed"
    firmware = build_firmware(board, [BENCH], defines={"BENCH_REPEAT": repeat}, out_dir=out, cores=cores)
    return run_firmware(board, firmware, quantum_cycles=quantum_cycles, exact_flash_reads=exact_flash_reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("boards", nargs="*", default=["rp2040", "rp2350-arm", "rp2350-riscv", "stm32h747"])
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--quantum", type=int, default=None)
    parser.add_argument("--exact-flash-reads", action="store_true", help="the whole-flash memory hook (slow)")
    args = parser.parse_args()
    for name in args.boards:
        result = measure(name, repeat=args.repeat, quantum_cycles=args.quantum,
                         exact_flash_reads=args.exact_flash_reads)
        print(f"{name:14s} {result.total_instructions / 1e6:8.1f} M instructions in {result.seconds:6.2f} s "
              f"= {result.mips:6.1f} MIPS; cycles per core {list(result.cycles)}; "
              f"flash data reads {sum(result.flash_reads)}")


if __name__ == "__main__":
    main()
