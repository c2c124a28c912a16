"""Native backend: generated C built with the host gcc, run on 1..4 threads under both
schedulers, must give exactly the reference executor's bytes; sanitizer runs of the runtime."""
from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

import arielml
from arielml.backends.native import build_harness, build_native
from arielml.backends.reference import prepare_all, run_reference
from arielml.compile import compile_model, plan_model
from arielml.errors import TargetError
from arielml.ops.registry import SEMANTICS
from tests.conftest import ZOO
from tests.tflite_builder import ModelBuilder, run_litert

CONFIGS = [(c, s) for c in (1, 2, 3, 4) for s in ("static", "dynamic")]


def check_all_configs(graph, inputs, cache, target="rv32-smp", semantics="litert"):
    expected = run_reference(graph, inputs, prepare_all(graph, SEMANTICS[semantics]))
    for cores, scheduler in CONFIGS:
        # rv32-smp's cheap tiles make the cost model split ops, so threads really share them
        lib = build_native(compile_model(graph, target=target, cores=cores, scheduler=scheduler,
                                         semantics=semantics), cache)
        result = lib.run(inputs)
        for got, want in zip(result.outputs, expected):
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want), (
                f"{graph.name} cores={cores} {scheduler}: {(got != want).sum()} of {got.size} differ")
        assert len(result.per_op) == len(lib.result.plan.kernel_steps) and result.seconds > 0


@pytest.mark.parametrize("name", ["tflite_micro/hello_world_int8", "mlcommons_tiny/ad01_int8"])
def test_fc_models_bit_exact(name, cache):
    model = arielml.load(ZOO / f"{name}.tflite")
    for seed in (0, 1):
        check_all_configs(model.graph, model.random_inputs(seed), cache)


def test_tflm_semantics_bit_exact(cache):
    model = arielml.load(ZOO / "mlcommons_tiny/ad01_int8.tflite")
    inputs = model.random_inputs(3)
    want = model.run(inputs, semantics="tflm")
    got = model.run(inputs, backend="native", semantics="tflm", cores=2, scheduler="dynamic")
    assert np.array_equal(got[0], want[0])
    assert not np.array_equal(want[0], model.run(inputs, semantics="litert")[0])  # the two do differ here


def test_model_run_native_api(cache):
    model = arielml.load(ZOO / "tflite_micro/hello_world_int8.tflite")
    x = model.random_inputs(5)
    assert np.array_equal(model.run(x, backend="native", cores=2), model.run(x))
    result = model.run_native(x, cores=3, scheduler="dynamic", cache_dir=cache)
    assert result.arena_bytes == 32 and [t.op for t in result.per_op] == ["FULLY_CONNECTED"] * 3
    assert set(result.summary()) >= {"arena_bytes", "per_op"}


# ---- single-operator models with random geometry, against LiteRT's reference kernels -------------

def _random_conv(rng, depthwise: bool) -> tuple[bytes, np.ndarray]:
    b = ModelBuilder()
    h, w = int(rng.integers(3, 12)), int(rng.integers(3, 12))
    cin = int(rng.integers(1, 6))
    mult = int(rng.integers(1, 3)) if depthwise else 1
    cout = cin * mult if depthwise else int(rng.integers(1, 20))
    fh, fw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    stride, dil = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    padding = int(rng.integers(0, 2))
    if padding == 1 and (h < (fh - 1) * dil + 1 or w < (fw - 1) * dil + 1):
        padding = 0
    x = b.tensor((1, h, w, cin), "int8", quant=(float(rng.uniform(0.01, 0.1)), int(rng.integers(-20, 20))))
    scales = rng.uniform(0.001, 0.02, size=cout)
    wshape = (1, fh, fw, cout) if depthwise else (cout, fh, fw, cin)
    wt = b.tensor(wshape, "int8", quant=(scales, [0] * cout, 3 if depthwise else 0),
                  data=rng.integers(-127, 128, size=wshape))
    bias = b.tensor((cout,), "int32", data=rng.integers(-2000, 2000, size=cout))
    out_h = -(-h // stride) if padding == 0 else -(-(h - (fh - 1) * dil) // stride)
    out_w = -(-w // stride) if padding == 0 else -(-(w - (fw - 1) * dil) // stride)
    y = b.tensor((1, out_h, out_w, cout), "int8", quant=(float(rng.uniform(0.02, 0.2)), int(rng.integers(-10, 10))))
    act = int(rng.choice([0, 1, 3]))
    if depthwise:
        b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], "DepthwiseConv2DOptions", padding=padding, strideW=stride,
             strideH=stride, depthMultiplier=mult, dilationWFactor=dil, dilationHFactor=dil,
             fusedActivationFunction=act)
    else:
        b.op("CONV_2D", [x, wt, bias], [y], "Conv2DOptions", padding=padding, strideW=stride, strideH=stride,
             dilationWFactor=dil, dilationHFactor=dil, fusedActivationFunction=act)
    return b.build(inputs=[x], outputs=[y]), rng.integers(-128, 128, size=(1, h, w, cin), dtype=np.int8)


@pytest.mark.parametrize("depthwise", [False, True])
def test_random_conv_layers_match_litert(depthwise, cache, tmp_path):
    seed = 1234 + depthwise
    rng = np.random.default_rng(seed)
    for case in range(6):
        model_bytes, x = _random_conv(rng, depthwise)
        path = tmp_path / f"conv{case}.tflite"
        path.write_bytes(model_bytes)
        model = arielml.load(path)
        (want,) = run_litert(model_bytes, [x])
        cores, scheduler = CONFIGS[case % len(CONFIGS)]
        got = build_native(compile_model(model, target="rv32-smp", cores=max(cores, 2), scheduler=scheduler),
                           cache).run([x]).outputs[0]
        assert np.array_equal(got, want), f"seed {seed} case {case}: {(got != want).sum()} values differ"


# ---- sanitizers ---------------------------------------------------------------------------------

def _harness_run(graph, inputs, cache, sanitize, cores, scheduler):
    result = compile_model(graph, target="rv32-smp", cores=cores, scheduler=scheduler)
    exe = build_harness(result, cache, sanitize=sanitize)
    stdin = b"".join(np.ascontiguousarray(a).tobytes() for a in inputs)
    proc = subprocess.run([str(exe), str(cores), "3"], input=stdin, capture_output=True, timeout=120,
                          env={"TSAN_OPTIONS": "halt_on_error=1", "ASAN_OPTIONS": "detect_leaks=1",
                               "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"})
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert b"runtime error" not in proc.stderr and b"WARNING" not in proc.stderr, proc.stderr.decode()[-3000:]
    expected = run_reference(graph, inputs)
    assert proc.stdout == b"".join(e.tobytes() for e in expected)


# every MLPerf Tiny model (AD, KWS, VWW, IC, streaming wake word), whole graphs
@pytest.mark.parametrize("name", ["mlcommons_tiny/ad01_int8", "mlcommons_tiny/kws_ref_model",
                                  "mlcommons_tiny/str_ww_ref_model", "mlcommons_tiny/vww_96_int8",
                                  "mlcommons_tiny/pretrainedResnet_quant"])
def test_address_and_undefined_sanitizers(name, cache):
    model = arielml.load(ZOO / f"{name}.tflite")
    _harness_run(model.graph, model.random_inputs(0), cache, "address", 3, "dynamic")


@pytest.mark.parametrize("name,scheduler", [("mlcommons_tiny/ad01_int8", "dynamic"),
                                            ("mlcommons_tiny/str_ww_ref_model", "static")])
def test_thread_sanitizer(name, scheduler, cache):
    model = arielml.load(ZOO / f"{name}.tflite")
    _harness_run(model.graph, model.random_inputs(0), cache, "thread", 2, scheduler)


# ---- the posix port's persistent thread pool, per-op times, option errors ------------------------

def _live_threads() -> int:
    return len(os.listdir("/proc/self/task"))


@pytest.mark.parametrize("scheduler", ["static", "dynamic"])
def test_pool_is_reused_and_repeated_inferences_agree(scheduler, cache):
    model = arielml.load(ZOO / "mlcommons_tiny/ad01_int8.tflite")
    x = model.random_inputs(11)
    (want,) = run_reference(model.graph, x)
    lib = build_native(compile_model(model.graph, target="rv32-smp", cores=3, scheduler=scheduler), cache)
    created = lib.lib.ariel_posix_threads_created
    created.restype, created.argtypes = ctypes.c_uint, []
    lib.close()  # a known state even if this cached library ran earlier in this process
    threads, made = _live_threads(), created()
    first = lib.run(x)
    assert created() == made + 2 and _live_threads() == threads + 2  # cores 1 and 2; core 0 = caller
    runs = [lib.run(x) for _ in range(5)]
    assert created() == made + 2 and _live_threads() == threads + 2  # reused, not recreated
    for result in [first, *runs]:
        assert np.array_equal(result.outputs[0], want)
    # other inputs in between (the arena holds their values): then the first inputs give the same bytes
    other = model.random_inputs(12)
    assert np.array_equal(lib.run(other).outputs[0], run_reference(model.graph, other)[0])
    assert np.array_equal(lib.run(x).outputs[0], want)
    lib.close()
    assert _live_threads() == threads
    assert np.array_equal(lib.run(x).outputs[0], want) and created() == made + 4  # a new pool after close
    lib.close()


_UNLOAD_SCRIPT = """
import ctypes, os, sys, _ctypes
lib = ctypes.CDLL(sys.argv[1])
lib.model_run.argtypes = [ctypes.c_uint]
base = len(os.listdir('/proc/self/task'))
for _ in range(3):
    assert lib.model_run(3) == 0
assert len(os.listdir('/proc/self/task')) == base + 2
if sys.argv[2] == 'dlclose':
    _ctypes.dlclose(lib._handle)  # the destructor joins the pool before the code is unmapped
    assert len(os.listdir('/proc/self/task')) == base
print('ok')
"""


@pytest.mark.parametrize("how", ["dlclose", "exit"])
def test_library_unload_and_exit_with_a_live_pool(how, cache):
    model = arielml.load(ZOO / "tflite_micro/hello_world_int8.tflite")
    lib = build_native(compile_model(model.graph, target="rv32-smp", cores=3, scheduler="dynamic"), cache)
    proc = subprocess.run([sys.executable, "-c", _UNLOAD_SCRIPT, str(lib.path), how], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.parametrize("scheduler", ["static", "dynamic"])
def test_per_op_times_cover_the_inference(scheduler, cache):
    """Each op's time runs from the previous op's end to its own end on its last core: no op
    gets a stamp taken at the wrong place (the dynamic scheduler used to report ~0.1 us for every
    other op, its time landing on the op before)."""
    model = arielml.load(ZOO / "mlcommons_tiny/kws_ref_model.tflite")
    graph = model.graph
    lib = build_native(compile_model(graph, cores=2, scheduler=scheduler), cache)
    result = lib.run(model.random_inputs(0))
    conv_times = [t.seconds for t in result.per_op if t.op in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    assert len(conv_times) >= 8
    # a conv layer of this model is at least tens of thousands of MACs: never under a microsecond
    assert min(conv_times) > 1e-6, [round(t * 1e6, 2) for t in conv_times]
    lib.close()


@pytest.mark.parametrize("cores", [0, -1])
def test_bad_core_counts_are_target_errors(cores):
    model = arielml.load(ZOO / "tflite_micro/hello_world_int8.tflite")
    for fn in (plan_model, compile_model):
        with pytest.raises(TargetError, match="cores must be at least 1"):
            fn(model.graph, cores=cores)
