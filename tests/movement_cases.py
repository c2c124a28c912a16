"""Shared machinery of the tests of the data-movement and indexing operators (test_ops_rearrange,
test_ops_pack, test_ops_gather): one operator per `OpSpec`, run through LiteRT's reference kernels
(check_litert) and through the C kernels natively on 1..3 threads under both schedulers
(check_native, against the reference executor).

Output shapes come from LiteRT where it resizes its outputs (a placeholder shape first); operators
whose LiteRT kernel checks the file's shape instead (SLICE with constant begin/size) carry the
shape numpy gives (`out_shapes`), computed in the test from numpy slicing, never by arielml."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.api import Model
from arielml.backends.native import build_native
from arielml.compile import compile_model
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.op_harness import Outcome, check_case
from tests.test_kernels_data import CONFIGS, Spec
from tests.tflite_builder import ModelBuilder, run_litert


# operator versions LiteRT needs above the builder's 1 (it registers BROADCAST_TO from version 2)
VERSIONS = {"BROADCAST_TO": 2}


@dataclass
class OpSpec(Spec):
    out_shapes: list | None = None  # known output shapes (else LiteRT's, from a placeholder build)


def build_model(specs: list[Spec], shapes: list | None = None) -> bytes:
    """One model running every spec's operator on its own inputs; `shapes`: all output shapes in
    order (None: each spec's known shapes, else the placeholder (1,))."""
    b = ModelBuilder()
    graph_inputs, graph_outputs = [], []
    for spec in specs:
        ins = []
        for shape, dtype, quant, data in spec.inputs:
            ins.append(b.tensor(shape, dtype, quant=quant, data=data))
            if data is None:
                graph_inputs.append(ins[-1])
        known = getattr(spec, "out_shapes", None)
        outs = []
        for k, (dtype, quant) in enumerate(spec.outputs):
            shape = shapes[len(graph_outputs) + k] if shapes else known[k] if known else (1,)
            outs.append(b.tensor(shape, dtype, quant=quant))
        b.op(spec.op, ins, outs, spec.options_type, **spec.options)
        b.opcodes[b.operators[-1].opcodeIndex].version = VERSIONS.get(spec.op, 1)
        graph_outputs += outs
    return b.build(graph_inputs, graph_outputs)


def check_litert(seed: int, spec: Spec, outcome: Outcome, may_reject: bool = False) -> None:
    """arielml's reference against LiteRT's reference kernels (op_harness.check_case)."""
    def build(shapes):
        return build_model([spec], shapes)
    check_case(seed, build, spec.arrays, outcome, may_reject=may_reject)


def report(outcome: Outcome, name: str, minimum: int, tflm_may_differ: bool = False) -> None:
    """tflm_may_differ: TFLite Micro's result is known to be undefined on some cases (the caller
    says why); its disagreements are then printed, not failed."""
    print(f"{name}: compared {outcome.compared}, rejected {len(outcome.rejected)} {outcome.rejected[:2]}, "
          f"TFLM agrees {outcome.tflm_agree}, disagrees {outcome.tflm_disagree}, fails {len(outcome.tflm_failed)} "
          f"{outcome.tflm_failed[:1]}")
    assert outcome.compared >= minimum, outcome.rejected[:3]
    assert tflm_may_differ or not outcome.tflm_disagree, f"TFLite Micro disagrees with LiteRT: {outcome.tflm_disagree}"


def check_native(specs: list[Spec], seed: int, cache, configs=CONFIGS) -> None:
    """The C kernels (native build, target rv32-smp) give the reference executor's bytes."""
    inputs = [a for s in specs for a in s.arrays]
    shapes = [o.shape for o in run_litert(build_model(specs), inputs)]
    model = Model(verify(parse_tflite(build_model(specs, shapes))))
    expected = model.run(inputs)
    owners = [s for s in specs for _ in s.outputs]
    for cores, scheduler in configs:
        lib = build_native(compile_model(model, target="rv32-smp", cores=cores, scheduler=scheduler), cache)
        for got, want, spec in zip(lib.run(inputs).outputs, expected, owners):
            assert got.dtype == want.dtype and got.shape == want.shape, f"seed {seed} {spec.what}"
            assert np.array_equal(got, want, equal_nan=want.dtype == np.float32), (
                f"seed {seed} cores={cores} {scheduler} {spec.what}: {np.count_nonzero(got != want)} of "
                f"{got.size} values differ")
