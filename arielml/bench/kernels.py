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


def main(argv: list[str] | None = None) -> None:
    """`python -m arielml.bench.kernels [--targets T,..] [MODEL ...]`: the kernel cases (and any models
    given) on one core of each target, as a cycles/MAC table with a bit-exact column. The quick loop
    for kernel work; `arielml bench --backend emulator` runs the same cases among its studies."""
    import argparse
    from pathlib import Path

    from arielml.bench.emulated import CORE_TARGETS, RunSpec, run_emulator_bench
    parser = argparse.ArgumentParser(prog="python -m arielml.bench.kernels", description=main.__doc__)
    parser.add_argument("models", nargs="*", type=Path, help="whole models to add (one core)")
    parser.add_argument("--targets", default=",".join(CORE_TARGETS), help="comma-separated boards")
    parser.add_argument("--no-cases", action="store_true", help="only the models given")
    args = parser.parse_args(argv)
    targets = [t for t in args.targets.split(",") if t]
    specs = [] if args.no_cases else [RunSpec("kernels", None, case.name, t, 1) for case in KERNEL_CASES for t in targets]
    specs += [RunSpec("cores", path, path.stem, t, 1) for path in args.models for t in targets]
    bench = run_emulator_bench(specs)
    rows: dict[str, dict[str, str]] = {}
    for m in bench.measurements:
        row = rows.setdefault(m.spec.label, {})
        if m.error is not None:
            row[m.spec.target] = f"error: {m.error}"
        else:
            # a kernel case: the operator's own span (as in the bench's kernel table); a model: the inference
            cycles = m.op_cycles if m.spec.study == "kernels" else m.cycles
            row[m.spec.target] = f"{cycles / m.macs:.3f}{'' if m.bit_exact else ' NOT EXACT'}"
    print("cycles/MAC, one core (bit-exact against the reference executor unless marked)")
    print("| case | " + " | ".join(targets) + " |")
    print("|---|" + "--:|" * len(targets))
    for label, row in rows.items():
        print(f"| {label} | " + " | ".join(row.get(t, "-") for t in targets) + " |")


if __name__ == "__main__":
    main()
