"""C code generation: deterministic, self-contained, warning-free C99, clear errors."""
from __future__ import annotations

import re
import subprocess

import pytest

import arielml
from arielml.backends.native import build
from arielml.compile import compile_model
from arielml.errors import TargetError, UnsupportedOperatorError
from arielml.codegen.emit import used_constants
from arielml.frontend.tflite import parse_tflite
from arielml.ir.verify import verify
from tests.conftest import ZOO
from tests.tflite_builder import ModelBuilder

HELLO = ZOO / "tflite_micro/hello_world_int8.tflite"
KWS = ZOO / "mlcommons_tiny/kws_ref_model.tflite"


def test_output_is_deterministic(tmp_path):
    a = compile_model(HELLO, cores=2, scheduler="dynamic", out_dir=tmp_path / "a")
    b = compile_model(arielml.load(HELLO), cores=2, scheduler="dynamic", out_dir=tmp_path / "b")
    assert a.sources == b.sources
    for rel in a.files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert str(tmp_path) not in "".join(a.sources.values())


def test_library_layout_and_result(tmp_path):
    r = compile_model(ZOO / "mlcommons_tiny/ad01_int8.tflite", cores=3, target="rv32-smp", out_dir=tmp_path)
    for rel in ("model.h", "model.c", "model_weights.c", "README.md", "ariel/include/ariel_port.h",
                "ariel/include/ariel_runtime.h", "ariel/include/ariel_kernels.h", "ariel/src/ariel_runtime.c",
                "ariel/kernels/fully_connected.c"):
        assert rel in r.files and (tmp_path / rel).is_file()
    assert "ariel/kernels/conv.c" not in r.files  # only the kernels the model uses
    assert "model_posix.c" not in r.files  # rv32-smp: no posix port in the library
    header = (tmp_path / "model.h").read_text()
    assert f"#define MODEL_ARENA_BYTES {r.arena_bytes}u" in header and "#define MODEL_CORES 3u" in header
    # every FULLY_CONNECTED weight matrix is emitted once; the int8 kernels take their biases folded
    # into the params (input offset x weight sums), so the bias tensors themselves are not emitted
    graph = r.plan.graph
    weights = {n.inputs[1] for n in graph.nodes if n.op == "FULLY_CONNECTED"}
    assert set(used_constants(r.plan)) == weights
    assert r.weights_bytes == sum(graph.tensors[t].nbytes for t in weights)
    assert r.summary()["arena_bytes"] == r.arena_bytes


def test_int8_model_has_no_floating_point_at_run_time():
    r = compile_model(KWS_PREFIX(), cores=2)
    for rel, text in r.sources.items():
        if rel.endswith(".c") and "posix" not in rel:
            code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
            assert not re.search(r"\b(float|double)\b", code), rel


def KWS_PREFIX():
    """kws_ref_model up to its AVERAGE_POOL_2D (the convolutions, which have kernels)."""
    from dataclasses import replace
    g = arielml.load(KWS).graph
    k = next(i for i, n in enumerate(g.nodes) if n.op == "AVERAGE_POOL_2D")
    return replace(g, nodes=g.nodes[:k], outputs=g.nodes[k - 1].outputs)


def test_generated_c_compiles_with_all_warnings_as_errors(cache):
    # build() compiles with -std=c99 -Wall -Wextra -Werror; a warning fails it
    for scheduler in ("static", "dynamic"):
        r = compile_model(KWS_PREFIX(), cores=2, scheduler=scheduler)
        assert build({**r.sources}, cache).exists()
    r = compile_model(KWS_PREFIX(), cores=2)
    text = r.sources["model.c"]
    out = subprocess.run(["gcc", "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-Iariel/include", "-fsyntax-only",
                          "-x", "c", "-"], input=text.replace('#include "model.h"', r.sources["model.h"]),
                         capture_output=True, text=True, cwd=_write(r.sources, cache / "pedantic"))
    assert out.returncode == 0, out.stderr


def _write(sources, where):
    from arielml.codegen.emit import write
    write(sources, where)
    return where


def test_missing_kernel_is_a_clear_error():
    # int64 arithmetic runs on the reference backend but has no C kernel
    b = ModelBuilder()
    x = b.tensor((1, 8), "int64")
    y = b.tensor((1, 8), "int64")
    z = b.tensor((1, 8), "int64")
    b.op("ADD", [x, y], [z], "AddOptions")
    graph = verify(parse_tflite(b.build([x, y], [z])))
    with pytest.raises(UnsupportedOperatorError, match=r"no C kernel yet for ADD \(operator #0\)"):
        compile_model(graph, cores=2)


def test_bad_options_are_clear_errors():
    with pytest.raises(TargetError, match="scheduler"):
        compile_model(HELLO, scheduler="fastest")
    with pytest.raises(TargetError, match="unknown target"):
        compile_model(HELLO, target="pdp11")
