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
                "ariel/kernels/fully_connected_s8.c"):
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


# ---- model.h for the firmware developer (issue 12 item 9) and the name prefix (item 8) ----

HEADER_PROBE = r"""
#include <stdio.h>
#include "model.h"

/* every macro must be usable where a firmware would use it: initialisers and constant expressions */
static const uint32_t input_shape[MODEL_INPUT0_RANK] = MODEL_INPUT0_SHAPE;
static const uint32_t output_shape[MODEL_OUTPUT0_RANK] = MODEL_OUTPUT0_SHAPE;
typedef char input_bytes_match[(sizeof(MODEL_INPUT0_TYPE) * MODEL_INPUT0_ELEMENTS == MODEL_INPUT0_BYTES) ? 1 : -1];
typedef char output_bytes_match[(sizeof(MODEL_OUTPUT0_TYPE) * MODEL_OUTPUT0_ELEMENTS == MODEL_OUTPUT0_BYTES) ? 1 : -1];

static void tensor(const char *kind, int dtype, const uint32_t *shape, unsigned rank, unsigned bytes, int quantized,
                   double scale, long zero_point)
{
    unsigned i;
    printf("%s %d %u %d %.9g %ld", kind, dtype, bytes, quantized, scale, zero_point);
    for (i = 0; i < rank; i++) {
        printf(" %u", (unsigned)shape[i]);
    }
    printf("\n");
}

int main(void)
{
    int core_guard;
#if MODEL_INPUT0_QUANTIZED == 1
    tensor("input", MODEL_INPUT0_DTYPE, input_shape, MODEL_INPUT0_RANK, MODEL_INPUT0_BYTES, 1, MODEL_INPUT0_SCALE,
           MODEL_INPUT0_ZERO_POINT);
#else
    tensor("input", MODEL_INPUT0_DTYPE, input_shape, MODEL_INPUT0_RANK, MODEL_INPUT0_BYTES, 0, 0.0, 0);
#endif
#if MODEL_OUTPUT0_QUANTIZED == 1
    tensor("output", MODEL_OUTPUT0_DTYPE, output_shape, MODEL_OUTPUT0_RANK, MODEL_OUTPUT0_BYTES, 1,
           MODEL_OUTPUT0_SCALE, MODEL_OUTPUT0_ZERO_POINT);
#else
    tensor("output", MODEL_OUTPUT0_DTYPE, output_shape, MODEL_OUTPUT0_RANK, MODEL_OUTPUT0_BYTES, 0, 0.0, 0);
#endif
    printf("version %s %s\n", MODEL_ARIELML_VERSION, MODEL_PLAN_HASH);
    model_init();
    core_guard = model_run_on_core(MODEL_CORES); /* out of range: refused, nothing touched */
    printf("guard %d %d %d\n", core_guard, MODEL_ERROR_CORE, model_run_on_core(MODEL_CORES + 7u));
    printf("run %d %d\n", model_run(MODEL_CORES), model_run(MODEL_CORES + 1u));
    return 0;
}
"""


def _probe(result, cache):
    exe = build(result.sources, cache, executable_main=HEADER_PROBE)
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {line.split()[0]: line.split()[1:] for line in out.stdout.splitlines()}


@pytest.mark.parametrize("model", [KWS, ZOO / "tflite_micro/hello_world_float.tflite"])
def test_header_macros_describe_the_inputs_and_outputs(model, cache):
    """The dtype, shape, byte count, scale and zero point macros, as a C compiler reads them, equal
    the model's; the version names this arielml; run_on_core refuses a core >= MODEL_CORES."""
    import numpy as np
    from arielml.codegen.header import DTYPE_CODES
    m = arielml.load(model)
    result = compile_model(m, cores=2)
    probe = _probe(result, cache)
    for kind, index in (("input", m.graph.inputs[0]), ("output", m.graph.outputs[0])):
        tensor = m.graph.tensors[index]
        dtype, nbytes, quantized, scale, zero_point, *shape = probe[kind]
        assert DTYPE_CODES[int(dtype) - 1] == tensor.dtype and int(nbytes) == tensor.nbytes
        assert tuple(map(int, shape)) == tuple(tensor.shape)
        if tensor.quant is None:
            assert quantized == "0"
        else:
            assert quantized == "1" and int(zero_point) == tensor.quant.single_zero_point
            assert np.float32(float(scale)) == np.float32(tensor.quant.single_scale)  # exact in float32
    assert probe["version"] == [arielml.__version__, probe["version"][1]] and len(probe["version"][1]) == 16
    assert probe["guard"] == ["-1", "-1", "-1"] and probe["run"] == ["0", "-1"]


def test_plan_hash_follows_the_plan():
    one = compile_model(HELLO, cores=2).sources["model.h"]
    again = compile_model(HELLO, cores=2).sources["model.h"]
    other = compile_model(HELLO, cores=2, scheduler="dynamic").sources["model.h"]
    hash_of = lambda text: re.search(r'#define MODEL_PLAN_HASH "([0-9a-f]{16})"', text).group(1)  # noqa: E731
    assert hash_of(one) == hash_of(again) != hash_of(other)


def test_header_declares_only_what_the_target_defines():
    host = compile_model(HELLO, cores=2)
    board = compile_model(HELLO, cores=2, target="rp2040", weights_in_sram="off")  # (auto copies hot ones to SRAM)
    for call in ("model_run(", "model_invoke(", "model_shutdown("):
        assert call in host.sources["model.h"] and call in host.sources["model_posix.c"]
        assert call not in board.sources["model.h"]
    assert not any("posix" in rel for rel in board.sources)
    # outputs are read-only to the application; the weights and tables are const (flash) unless copied
    assert "const void *model_output(unsigned index)" in board.sources["model.h"]
    assert re.search(r"^const int8_t model_const\d+\[", board.sources["model_weights.c"], re.M)
    assert not re.search(r"^(?:static )?(?!const)\w+ model_const", board.sources["model_weights.c"], re.M)


@pytest.mark.parametrize("name", ["ariel", "ARIEL", "ariel_net", "Ariel_x", "_model", "9lives", "kws-net", "m\u00e9",
                                  "x" * 49, ""])
def test_library_names_that_would_not_compile_are_refused(name):
    with pytest.raises(TargetError, match="--name"):
        compile_model(HELLO, name=name)


def test_names_next_to_the_reserved_prefix_compile(cache):
    for name in ("arielnet", "Model2", "kws"):
        r = compile_model(HELLO, cores=2, name=name)
        assert f"{name}.h" in r.sources and build(r.sources, cache).exists()


def test_library_writer_never_writes_through_a_symlink_or_over_a_file(tmp_path):
    from arielml.codegen.output_dir import MANIFEST, write_library
    from arielml.errors import ArielError
    outside = tmp_path / "outside"
    outside.mkdir()
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "ariel").symlink_to(outside)
    with pytest.raises(ArielError, match="ariel/include/x.h"):
        write_library({"ariel/include/x.h": "/* x */\n", "model.c": "/* m */\n"}, linked)
    assert not any(outside.iterdir()) and not (linked / "model.c").exists()
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "ariel").write_text("a file of the user's\n")
    with pytest.raises(ArielError, match="ariel/include/x.h"):
        write_library({"ariel/include/x.h": "/* x */\n"}, blocked)
    assert (blocked / "ariel").read_text() == "a file of the user's\n" and not (blocked / MANIFEST).exists()
    # a manifest naming paths outside the directory is not obeyed
    plain = tmp_path / "plain"
    write_library({"model.c": "/* m */\n"}, plain)
    victim = tmp_path / "victim.c"
    victim.write_text("/* m */\n")
    manifest = plain / MANIFEST
    digest = manifest.read_text().split()[-2]
    manifest.write_text(manifest.read_text() + f"{digest} ../victim.c\n{digest} {victim}\n")
    write_library({"model.h": "/* h */\n"}, plain)
    assert victim.exists() and not (plain / "model.c").exists() and (plain / "model.h").exists()
