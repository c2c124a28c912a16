"""Robustness: corrupted variants of zoo models must give an ArielError or a valid run - never another
exception, a hang, a crash or a multi-gigabyte allocation.

Each batch runs in a subprocess (this file, run as a script) so that a crash or a hang fails the test
instead of taking pytest down: the worker prints one JSON line per case, a per-case alarm catches
hangs, RLIMIT_AS turns any multi-GB allocation into a MemoryError (reported as a failure even when the
safety net turned it into an ArielError), and the parent enforces an overall time limit.

The base seed is fresh on every run (fuzzing); a failure prints it. Reproduce with
    ARIELML_ROBUSTNESS_SEED=<seed> .venv/bin/python -m pytest tests/test_robustness.py
or one case:  .venv/bin/python tests/test_robustness.py <seed> <first_case> 1

The other classes of hostile input have their own files (issue 12):
- crafted names (text that would inject code into the generated C): tests/test_codegen_security.py;
- FIFOs, devices, directories, oversized and sparse model files, long operator chains (compile time
  about linear), a 120 x 60 MiB activation chain in 2 GiB: tests/test_resources.py;
- huge or lying .npy headers, text files and devices given as inputs, bad seeds: tests/test_cli_inputs.py;
- concurrent callers (C threads, Python threads): tests/test_concurrent_runs.py, tests/test_native_builds.py;
- corrupted cache entries and killed builds: tests/test_cache_healing.py;
- crafted emulator time slices (quanta, seeds) against the clock's invariants: tests/test_emu_time.py.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ZOO = ROOT.parent / "shared" / "zoo"

# models to corrupt, with weights: small models often (fast), large ones now and then
MODELS = {
    "tflite_micro/hello_world_int8.tflite": 4,
    "tflite_micro/hello_world_float.tflite": 2,
    "tflite_micro/micro_speech_quantized.tflite": 4,
    "tflite_micro/simple_add_model.tflite": 2,
    "mlcommons_tiny/ad01_int8.tflite": 3,
    "mlcommons_tiny/kws_ref_model.tflite": 4,
    "mlcommons_tiny/kws_ref_model_float32.tflite": 2,
    "mlcommons_tiny/str_ww_ref_model.tflite": 3,
    "mlcommons_tiny/model_ToyCar_quant_fullint.tflite": 2,
    "mlcommons_tiny/pretrainedResnet_quant.tflite": 2,
    "simpletinyml_oneliner/lenet5_quantized.tflite": 3,
    "tinyengine/ptq_mnist_lenet-300-100.tflite": 2,
    "mlcommons_tiny/vww_96_int8.tflite": 1,
}
CASES_PER_BATCH = 1000
BATCHES = 2  # 2000 cases per run (>= 500 asked), ~5 s each; two batches so `pytest -n 2` runs them side by side
CASE_TIMEOUT_S = 10
BATCH_TIMEOUT_S = 150
MEMORY_LIMIT = 3 << 30  # a worker needs ~200 MB; tensors are capped at 64 MiB


# ---------------------------------------------------------------- corruptions (run in the worker)

def _data_ranges(data: bytes) -> list[tuple[int, int]]:
    """Byte ranges of constant-buffer payloads: flips outside them hit the model's structure."""
    import tflite
    model = tflite.Model.GetRootAs(bytearray(data), 0)
    ranges = []
    for i in range(model.BuffersLength()):
        tab = model.Buffers(i)._tab
        o = tab.Offset(4)
        if o:
            start = tab.Vector(o)
            ranges.append((start, start + tab.VectorLen(o)))
    return ranges


def _pack(model) -> bytes:
    import flatbuffers
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


_ODD_INTS = (0, 1, -1, 2, 3, 7, 255, 1000, 65535, 1 << 20, (1 << 31) - 1, -(1 << 31))
_ODD_FLOATS = (0.0, -1.0, float("nan"), float("inf"), 1e-30, 1e30, 1e-45)


def _structural(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """Rewrite one field through the schema's object API (the file stays a well-formed flatbuffer).
    A value the field's type cannot hold (flatbuffers refuses to pack it) is retried with another."""
    for _ in range(20):
        try:
            return _mutate(data, rng)
        except (TypeError, ValueError, OverflowError):
            continue
    return "truncate", data[: rng.randrange(len(data))]


def _mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    from ai_edge_litert import schema_py_generated as schema
    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sg = model.subgraphs[0]
    kind = rng.choice(["swap_buffer", "swap_buffer", "shape", "dtype", "op_io", "opcode_index", "opcode_code",
                       "options", "quant", "graph_io"])
    if kind == "swap_buffer":  # a tensor's data becomes another buffer's (or none, or a constant appears)
        t = rng.choice(sg.tensors)
        t.buffer = rng.randrange(len(model.buffers))
    elif kind == "shape":
        t = rng.choice(sg.tensors)
        shape = list(t.shape) if t.shape is not None else []
        action = rng.randrange(3)
        if action == 0 and shape:
            shape[rng.randrange(len(shape))] = rng.choice(_ODD_INTS + (shape[0] + 1,))
        elif action == 1:
            shape.insert(rng.randrange(len(shape) + 1), rng.choice((1, 2, 3)))
        elif shape:
            shape.pop(rng.randrange(len(shape)))
        t.shape = shape
        t.shapeSignature = None
    elif kind == "dtype":
        rng.choice(sg.tensors).type = rng.randrange(18)
    elif kind == "op_io":
        op = rng.choice(sg.operators)
        field = rng.choice(["inputs", "outputs"])
        values = list(getattr(op, field))
        action = rng.randrange(3)
        if action == 0 and values:
            values[rng.randrange(len(values))] = rng.randrange(-2, len(sg.tensors) + 2)
        elif action == 1:
            values.append(rng.randrange(-1, len(sg.tensors)))
        elif values:
            values.pop(rng.randrange(len(values)))
        setattr(op, field, values)
    elif kind == "opcode_index":
        rng.choice(sg.operators).opcodeIndex = rng.randrange(len(model.operatorCodes) + 1)
    elif kind == "opcode_code":  # turn an operator into another one (same options table)
        code = rng.choice(model.operatorCodes)
        new = rng.choice([0, 1, 3, 4, 9, 14, 17, 18, 22, 25, 28, 34, 39, 40, 41, 45, 49, 55, 97, 114, 117, 255])
        code.builtinCode, code.deprecatedBuiltinCode = new, min(new, 127)
    elif kind == "options":
        ops = [op for op in sg.operators if op.builtinOptions is not None]
        if ops:
            opts = rng.choice(ops).builtinOptions
            fields = [k for k, v in vars(opts).items() if isinstance(v, (int, float, bool))]
            if fields:
                key = rng.choice(fields)
                value = not getattr(opts, key) if isinstance(getattr(opts, key), bool) else rng.choice(_ODD_INTS)
                setattr(opts, key, value)
    elif kind == "quant":
        tensors = [t for t in sg.tensors if t.quantization is not None and t.quantization.scale is not None]
        if tensors:
            q = rng.choice(tensors).quantization
            what = rng.randrange(4)
            if what == 0:
                q.scale = [rng.choice(_ODD_FLOATS)] * len(q.scale)
            elif what == 1:
                q.zeroPoint = [rng.choice(_ODD_INTS)] * len(q.zeroPoint)
            elif what == 2:
                q.quantizedDimension = rng.randrange(6)
            else:
                q.scale = list(q.scale)[: rng.randrange(len(q.scale) + 1)] + [0.5] * rng.randrange(3)
    else:  # graph_io
        field = rng.choice(["inputs", "outputs"])
        values = list(getattr(sg, field))
        values[rng.randrange(len(values))] = rng.randrange(-1, len(sg.tensors) + 1)
        setattr(sg, field, values)
    return kind, _pack(model)


def corrupt(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["truncate", "flip", "flip_structure", "structural", "structural", "structural"])
    if kind == "truncate":
        return kind, data[: rng.randrange(len(data))]
    if kind in ("flip", "flip_structure"):
        buf = bytearray(data)
        if kind == "flip":
            positions = [rng.randrange(len(buf)) for _ in range(rng.randint(1, 16))]
        else:
            ranges = _data_ranges(data)
            positions = []
            while len(positions) < rng.randint(1, 4):
                p = rng.randrange(len(buf))
                if not any(lo <= p < hi for lo, hi in ranges):
                    positions.append(p)
        for p in positions:
            buf[p] = rng.randrange(256)
        return kind, bytes(buf)
    return _structural(data, rng)


# ---------------------------------------------------------------- the worker

class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` (the safety net) hides it."""


def _on_alarm(signum, frame):
    raise CaseTimeout()


def _classify(error: BaseException) -> tuple[str, str]:
    from arielml.errors import ArielError
    from arielml.ir.verify import OperatorFailure
    if isinstance(error, ArielError):
        cause = error.__cause__
        while cause is not None:
            if isinstance(cause, MemoryError):
                return "FAIL", f"multi-GB allocation attempted (MemoryError under RLIMIT_AS): {error}"
            cause = cause.__cause__
        if isinstance(error, OperatorFailure):
            return "safety_net", str(error)[:300]
        return "rejected", type(error).__name__
    return "FAIL", f"{type(error).__name__}: {error}"


def run_case(seed: int, case: int, workdir: Path) -> dict:
    import traceback

    import arielml
    from arielml.frontend.tflite import load_tflite
    from arielml.inspect import summarize
    rng = random.Random(f"{seed}:{case}")
    name = rng.choices(list(MODELS), weights=list(MODELS.values()))[0]
    data = (ZOO / name).read_bytes()
    kind, corrupted = corrupt(data, rng)
    path = workdir / f"case{case}.tflite"
    path.write_bytes(corrupted)
    result = {"case": case, "model": name, "kind": kind}
    start = time.perf_counter()
    signal.alarm(CASE_TIMEOUT_S)
    try:
        summarize(load_tflite(path))  # what `arielml inspect` does: must fail cleanly too
        model = arielml.load(path)
        outputs = model.run(model.random_inputs(case))
        assert len(outputs) == len(model.graph.outputs)
        result["outcome"], result["detail"] = "valid", ""
    except CaseTimeout:
        result["outcome"], result["detail"] = "FAIL", f"hang: no answer within {CASE_TIMEOUT_S} s"
    except Exception as e:  # noqa: BLE001 - classified: ArielError is fine, anything else fails
        result["outcome"], result["detail"] = _classify(e)
        if result["outcome"] == "FAIL":
            result["traceback"] = traceback.format_exc()[-3000:]
    finally:
        signal.alarm(0)
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result


def worker(seed: int, first: int, count: int) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    signal.signal(signal.SIGALRM, _on_alarm)
    sys.path.insert(0, str(ROOT))
    import numpy as np
    np.seterr(all="ignore")  # overflow warnings on corrupt scales are expected, not failures
    import warnings
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(first, first + count):
            print(json.dumps({"start": case}), flush=True)  # a crash is pinned on this case
            print(json.dumps(run_case(seed, case, Path(tmp))), flush=True)
            (Path(tmp) / f"case{case}.tflite").unlink(missing_ok=True)


# ---------------------------------------------------------------- the tests

BASE_SEED = int(os.environ.get("ARIELML_ROBUSTNESS_SEED", random.SystemRandom().randrange(1 << 31)))


def run_batch(seed: int, first: int, count: int) -> tuple[list[dict], str]:
    """Run cases in a worker subprocess; returns the case results and a failure description ("")."""
    command = [sys.executable, str(Path(__file__).resolve()), str(seed), str(first), str(count)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=BATCH_TIMEOUT_S, cwd=ROOT)
        stdout, problem = proc.stdout, "" if proc.returncode == 0 else (
            f"worker exited with status {proc.returncode}: {proc.stderr[-2000:]}")
    except subprocess.TimeoutExpired as e:
        stdout = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        problem = f"batch exceeded {BATCH_TIMEOUT_S} s"
    results, started = [], None
    for line in stdout.splitlines():
        record = json.loads(line)
        if "start" in record:
            started = record["start"]
        else:
            results.append(record)
    if problem and started is not None and (not results or results[-1]["case"] != started):
        problem += f" (while running case {started})"
    return results, problem


def _check_batch(batch: int) -> None:
    first = batch * CASES_PER_BATCH
    results, problem = run_batch(BASE_SEED, first, CASES_PER_BATCH)
    reproduce = f"ARIELML_ROBUSTNESS_SEED={BASE_SEED}"
    failures = [r for r in results if r["outcome"] == "FAIL"]
    report = "\n".join(f"case {r['case']} ({r['model']}, {r['kind']}): {r['detail']}\n{r.get('traceback', '')}"
                       for r in failures[:5])
    assert not problem, f"seed {BASE_SEED}: {problem}; reproduce with {reproduce}"
    assert not failures, f"seed {BASE_SEED}: {len(failures)} case(s) failed; reproduce with {reproduce}\n{report}"
    assert len(results) == CASES_PER_BATCH
    outcomes = {}
    for r in results:
        outcomes[r["outcome"]] = outcomes.get(r["outcome"], 0) + 1
    # the corruptions must reach past the file checks into verifier and operators, or the test is idle
    assert outcomes.get("rejected", 0) > CASES_PER_BATCH // 4, outcomes
    assert outcomes.get("valid", 0) > CASES_PER_BATCH // 20, outcomes
    print(f"seed {BASE_SEED} batch {batch}: {outcomes}")
    for r in results:
        if r["outcome"] == "safety_net":
            print(f"  safety net caught (case {r['case']}, {r['model']}, {r['kind']}): {r['detail']}")


@pytest.mark.parametrize("batch", range(BATCHES))
def test_corrupted_models(batch):
    _check_batch(batch)


def test_truncated_and_empty_files_are_rejected():
    import arielml
    from arielml.errors import ModelFormatError
    data = (ZOO / "tflite_micro" / "hello_world_int8.tflite").read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (0, 3, 8, 64, len(data) // 2, len(data) - 1):
            path = Path(tmp) / f"t{size}.tflite"
            path.write_bytes(data[:size])
            try:
                arielml.load(path)
            except ModelFormatError:
                continue
            raise AssertionError(f"a file truncated to {size} of {len(data)} bytes was accepted")


def test_absurd_tensor_sizes_are_refused_with_a_clear_message():
    from arielml.errors import ModelFormatError
    from arielml.frontend.tflite import parse_tflite
    from arielml.ir.verify import verify
    from tests.tflite_builder import ModelBuilder
    for shape, message in (((1 << 16, 1 << 16), "refuses tensors over 64 MiB"), ((1,) * 9, "at most 8")):
        b = ModelBuilder()
        x = b.tensor(shape, "float32")
        y = b.tensor(shape, "float32")
        b.op("RELU", [x], [y])
        with pytest.raises(ModelFormatError, match=message):
            parse_tflite(b.build([x], [y]))
    # arity is checked before operator code indexes inputs: FULLY_CONNECTED with one input
    b = ModelBuilder()
    x = b.tensor((1, 4), "int8", quant=(0.1, 0))
    y = b.tensor((1, 4), "int8", quant=(0.1, 0))
    b.op("FULLY_CONNECTED", [x], [y], "FullyConnectedOptions")
    with pytest.raises(ModelFormatError, match=r"FULLY_CONNECTED \(operator #0\) has 1 inputs"):
        verify(parse_tflite(b.build([x], [y])))


if __name__ == "__main__":
    worker(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
