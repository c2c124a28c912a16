"""The emulated multi-core microcontroller: firmware builds (firmware.py, linker.py), the Unicorn
machine (machine.py, peripherals.py), the cycle model (cyclemodel.py + cycle_hook.c) and profiles
(profile.py). See docs/emulator.md and docs/cycle-model.md."""
from arielml.emu.firmware import ElfImage, Firmware, build_firmware
from arielml.emu.machine import Machine, RunResult, run_firmware
from arielml.emu.gantt import draw_gantt
from arielml.emu.profile import Profile, build_profile

__all__ = ["ElfImage", "Firmware", "build_firmware", "Machine", "RunResult", "run_firmware", "Profile",
           "build_profile", "draw_gantt"]
