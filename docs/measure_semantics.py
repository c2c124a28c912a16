"""Reproduce the numbers in docs/semantics.md:

    .venv/bin/python docs/measure_semantics.py [SEEDS]

For every zoo model and SEEDS random inputs (Model.random_inputs(seed), default 20) it counts output
values that differ between: arielml (litert semantics) and LiteRT's reference kernels (the contract);
arielml (tflm semantics) and TFLite Micro; LiteRT's default (optimised) kernels and its reference
kernels; TFLite Micro and LiteRT's reference kernels; LiteRT's optimised builtin kernels without the
XNNPACK delegate and its reference kernels. `diff/total (max |Δ|)` per pair; "-" when a
runtime refuses the model."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import arielml  # noqa: E402
from tests.test_zoo import MODELS, TFLM, ZOO  # noqa: E402


def litert(data: bytes, reference: bool, delegates: bool = True):
    """reference: BUILTIN_REF; else the default (AUTO: optimised kernels + XNNPACK delegate), or with
    delegates=False the optimised builtin kernels alone (BUILTIN_WITHOUT_DEFAULT_DELEGATES)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = (OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO if delegates
                else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it = Interpreter(model_content=data, experimental_op_resolver_type=resolver)
    it.allocate_tensors()

    def run(inputs):
        for detail, array in zip(it.get_input_details(), inputs):
            it.set_tensor(detail["index"], array.reshape(detail["shape"]))
        it.invoke()
        return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]
    return run


class Tally:
    def __init__(self) -> None:
        self.differ = self.total = 0
        self.worst = 0.0
        self.refused = False

    def add(self, ours, theirs) -> None:
        for a, b in zip(ours, theirs):
            b = b.reshape(a.shape)
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            self.differ += int(np.count_nonzero(d))
            self.total += a.size
            self.worst = max(self.worst, float(d.max()) if d.size else 0.0)

    def __str__(self) -> str:
        if self.refused:
            return "-"
        return f"{self.differ}/{self.total} ({self.worst:.3g})"


def main(seeds: int = 20) -> None:
    print("| model | arielml vs LiteRT ref | arielml(tflm) vs TFLM | LiteRT default vs ref | TFLM vs LiteRT ref "
          "| LiteRT optimised, no XNNPACK, vs ref |")
    print("|---|---|---|---|---|---|")
    for name in MODELS:
        data = (ZOO / name).read_bytes()
        try:
            model = arielml.load(ZOO / name)
        except arielml.ArielError as e:
            print(f"| {name} | not loaded: {e} | | | |")
            continue
        ref, default, optimised = litert(data, True), litert(data, False), litert(data, False, delegates=False)
        tallies = [Tally() for _ in range(5)]
        try:
            micro = TFLM(data, len(model.graph.outputs))
        except RuntimeError:
            micro = None
        for seed in range(seeds):
            inputs = model.random_inputs(seed)
            expected = ref(inputs)
            tallies[0].add(model.run(inputs), expected)
            tallies[2].add(default(inputs), expected)
            tallies[4].add(optimised(inputs), expected)
            try:
                tm = micro(inputs) if micro is not None else None
            except RuntimeError:
                tm = None
            if tm is None:
                tallies[1].refused = tallies[3].refused = True
            else:
                tallies[1].add(model.run(inputs, semantics="tflm"), tm)
                tallies[3].add(tm, expected)
        print(f"| {name} | " + " | ".join(map(str, tallies)) + " |", flush=True)


def rounding_on_ad01(seeds: int = 20) -> None:
    """ad01_int8 (fully connected only): arielml with each rounding against both TFLites."""
    name = "mlcommons_tiny/ad01_int8.tflite"
    data = (ZOO / name).read_bytes()
    model = arielml.load(ZOO / name)
    ref = litert(data, True)
    micro = TFLM(data, 1)
    rows = {(s, o): Tally() for s in ("litert", "tflm") for o in ("LiteRT ref", "TFLM")}
    for seed in range(seeds):
        inputs = model.random_inputs(seed)
        oracles = {"LiteRT ref": ref(inputs), "TFLM": micro(inputs)}
        for semantics in ("litert", "tflm"):
            ours = model.run(inputs, semantics=semantics)
            for oracle, theirs in oracles.items():
                rows[(semantics, oracle)].add(ours, theirs)
    print("\n| ad01_int8: arielml rounding | vs LiteRT reference | vs TFLite Micro |")
    print("|---|---|---|")
    for semantics, label in (("litert", "single (litert)"), ("tflm", "double (tflm)")):
        print(f"| {label} | {rows[(semantics, 'LiteRT ref')]} | {rows[(semantics, 'TFLM')]} |")


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    main(n)
    rounding_on_ad01(n)
