"""ONNX models against onnxruntime: each float32 model and three int8 versions of it.

    python -m arielml.bench.onnx_models DIR [--semantics litert|onnxruntime] [--emulate TARGET] [--cores N]

For every .onnx under DIR: the float32 model, and the int8 models onnxruntime.quantization.quantize_static
makes of it (QDQ per-tensor, QDQ per-channel, QOperator; int8 activations and weights, calibrated on 8
uniform [0, 1) inputs, opset raised to 13 first), each run by arielml's reference backend on one
uniform [0, 1) input and by onnxruntime's CPU provider (default session options). With --emulate the
same input also runs on TARGET's emulator (--cores, default 2) and is compared with the reference.
Prints one markdown table row per model and variant ("exact" is bit-exact; float32 models differ in
summation order, so their largest difference is printed). One model never stops the sweep: an
ArielError becomes "load error: ..." or "run error: ...". Needs the onnx and onnxruntime packages.

Exit status: 1 when an int8 variant that loaded and ran is not bit-exact, else 0."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

from arielml.errors import ArielError

VARIANTS = (("qdq", False, "int8 QDQ"), ("qdq", True, "int8 QDQ per-channel"), ("qop", False, "int8 QOperator"))


def _session(path: str):
    import onnxruntime as ort
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def quantize(path: str, quant_format: str, per_channel: bool, out_dir: str, seed: int = 0) -> str:
    """The model quantize_static writes for `path` (the calls a PyTorch user makes)."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    rng = np.random.default_rng(seed)
    feeds = [{i.name: rng.uniform(0, 1, [d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
              for i in _session(path).get_inputs()} for _ in range(8)]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter(feeds)

        def get_next(self):
            return next(self.items, None)

    model = onnx.load(path)
    if model.opset_import[0].version < 13:  # per-axis DequantizeLinear needs opset 13
        model = onnx.version_converter.convert_version(model, 13)
    model = onnx.shape_inference.infer_shapes(model)
    stem = f"{Path(path).stem}_{quant_format}{'_pc' if per_channel else ''}"
    pre, out = os.path.join(out_dir, stem + "_pre.onnx"), os.path.join(out_dir, stem + ".onnx")
    onnx.save(model, pre)
    quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ if quant_format == "qdq" else QuantFormat.QOperator,
                    per_channel=per_channel, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    return out


def check(path: str, semantics: str = "litert", emulate: str | None = None, cores: int = 2) -> tuple[bool | None, str]:
    """(bit-exact with onnxruntime, or None when arielml refused it; the table cell)."""
    import arielml
    try:
        model = arielml.load(path)
    except ArielError as e:
        return None, f"load error: {str(e).splitlines()[0][:150]}"
    rng = np.random.default_rng(1)
    inputs = [rng.uniform(0, 1, t.shape).astype(np.float32) if t.dtype == "float32" else None
              for t in (model.graph.tensors[i] for i in model.graph.inputs)]
    try:
        ours = model.run(inputs, semantics=semantics)
    except ArielError as e:
        return None, f"run error: {str(e).splitlines()[0][:150]}"
    session = _session(path)
    theirs = session.run(None, {i.name: a for i, a in zip(session.get_inputs(), inputs)})
    pairs = [(a, np.asarray(b).reshape(a.shape)) for a, b in zip(ours, theirs)]
    exact = all(np.array_equal(a, b) for a, b in pairs)
    diff = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0 for a, b in pairs)
    cell = "exact" if exact else f"max diff {diff:.3g}"
    if emulate:
        try:
            emulated = model.run(inputs, backend="emulator", target=emulate, cores=cores, semantics=semantics)
            same = all(np.array_equal(a, b) for a, b in zip(emulated, ours))
            cell += f"; emulated {emulate} x{cores} {'==' if same else '!='} reference"
        except ArielError as e:
            cell += f"; emulator error: {str(e).splitlines()[0][:100]}"
    return exact, cell


def sweep(directory: str, semantics: str = "litert", emulate: str | None = None, cores: int = 2,
          out=sys.stdout) -> int:
    failures = 0
    print(f"| model | float32 | {' | '.join(label for _, _, label in VARIANTS)} |", file=out)
    print("|---|---|---|---|---|", file=out)
    with tempfile.TemporaryDirectory() as work:
        for path in sorted(Path(directory).rglob("*.onnx")):
            cells = [check(str(path), semantics, emulate, cores)[1]]
            for quant_format, per_channel, _ in VARIANTS:
                try:
                    quantized = quantize(str(path), quant_format, per_channel, work)
                except Exception as e:  # onnxruntime's tool, not arielml: report and go on
                    cells.append(f"quantize_static failed: {type(e).__name__}: {str(e)[:80]}")
                    continue
                exact, cell = check(quantized, semantics, emulate, cores)
                failures += exact is False
                cells.append(cell)
            print(f"| {path.relative_to(directory)} | {' | '.join(cells)} |", file=out, flush=True)
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m arielml.bench.onnx_models", description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--semantics", default="litert", choices=("litert", "onnxruntime"))
    parser.add_argument("--emulate", metavar="TARGET", help="also run on this board's emulator (e.g. rp2040)")
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        print("this benchmark needs the onnx and onnxruntime packages (pip install onnx onnxruntime)", file=sys.stderr)
        return 2
    return 1 if sweep(args.directory, args.semantics, args.emulate, args.cores) else 0


if __name__ == "__main__":
    sys.exit(main())
