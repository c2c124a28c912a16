"""Kernel micro-benchmarks of the emulator benchmark: one int8 operator per graph, at a shape typical
of the MobileNet-style models of MLPerf Tiny, run on one core of each core type. Cycles/MAC is the
operator's own span in the runtime's trace (the runtime's per-op cost included, the harness not)
divided by its multiply-accumulates.

The graphs are built as IR (arielml.schedule.micro_models' builder): no file, random but seeded data
(the kernels' timing does not depend on the values)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from arielml.ir import Graph
from arielml.schedule.micro_models import GraphBuilder, add_conv, add_depthwise, add_fully_connected


@dataclass(frozen=True)
class KernelCase:
    name: str  # shown in tables, e.g. "conv 1×1"
    shape: str  # the operator's shape, e.g. "12×12×64 → 64"
    add: Callable[[GraphBuilder], None]

    def graph(self) -> Graph:
        builder = GraphBuilder(f"kernel_{self.name.replace(' ', '_').replace('×', 'x')}", seed=7)
        self.add(builder)
        return builder.graph()


KERNEL_CASES = (
    KernelCase("conv 1×1", "12×12×64 → 64", lambda b: add_conv(b, 12, 12, 64, 64, 1, 1)),
    KernelCase("conv 3×3", "12×12×32 → 32, SAME", lambda b: add_conv(b, 12, 12, 32, 32, 3, 3)),
    KernelCase("depthwise 3×3", "24×24×64, SAME", lambda b: add_depthwise(b, 24, 24, 64, 3)),
    KernelCase("fully connected", "512 → 128", lambda b: add_fully_connected(b, 1, 512, 128)),
)

KERNELS_BY_NAME = {case.name: case for case in KERNEL_CASES}
