"""`arielml compile`, `arielml targets` and `arielml run --backend native` from the command line:
JSON shapes, deterministic output bytes, and one-line errors."""
import json

import numpy as np
import pytest

import arielml
import arielml.compile
from arielml.cli import EXIT_USER_ERROR, main
from arielml.errors import FitError, UnsupportedOperatorError
from arielml.targets import BOARDS
from tests.conftest import ZOO
from tests.tflite_builder import ModelBuilder

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
AD01 = ZOO / "mlcommons_tiny" / "ad01_int8.tflite"


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, contains):
    assert code == EXIT_USER_ERROR, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert contains.lower() in lines[0].lower(), lines[0]


def _tree(directory):
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_compile_json_lists_written_files_and_is_deterministic(capsys, tmp_path):
    docs, trees = [], []
    for run in ("a", "b"):
        code, out, err = cli(capsys, "compile", AD01, "--target", "host", "--cores", 2, "--scheduler", "dynamic",
                             "-o", tmp_path / run, "--json")
        assert code == 0, err
        docs.append(json.loads(out))
        trees.append(_tree(tmp_path / run))
    doc = docs[0]
    assert doc["arena_bytes"] == arielml.compile.plan_model(AD01, cores=2, scheduler="dynamic").arena_bytes > 0
    # every int8 weight and int32 bias byte of the 10 layers is in the library, nothing else
    assert doc["weights_bytes"] >= 264_192
    assert doc["cores"] == 2 and doc["scheduler"] == "dynamic" and doc["target"] == "host"
    assert sorted(doc["files"]) == sorted(trees[0]) and {"model.h", "model.c", "README.md"} <= set(doc["files"])
    assert trees[0] == trees[1] and docs[0]["files"] == docs[1]["files"]  # same bytes, same order


def test_compile_for_a_board_and_name_prefix(capsys, tmp_path):
    code, out, err = cli(capsys, "compile", HELLO, "--target", "rp2040", "--cores", 2, "--name", "sine",
                         "-o", tmp_path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"sine.h", "sine.c"} <= set(doc["files"]) and not any("posix" in f for f in doc["files"])
    assert "sine_run_on_core" in (tmp_path / "sine.h").read_text()
    assert [op["op"] for op in doc["ops"]] == ["FULLY_CONNECTED"] * 3


def test_compile_table_output(capsys, tmp_path):
    code, out, err = cli(capsys, "compile", HELLO, "-o", tmp_path)
    assert code == 0, err
    assert "wrote" in out and "FULLY_CONNECTED" in out and (tmp_path / "model.c").exists()


def test_compile_errors_are_one_line(capsys, tmp_path, monkeypatch):
    code, _, err = cli(capsys, "compile", HELLO, "--target", "pdp11", "-o", tmp_path)
    assert_one_line_error(code, err, "unknown target 'pdp11'")
    code, _, err = cli(capsys, "compile", HELLO, "--target", "rp2040", "--cores", 3, "-o", tmp_path)
    assert_one_line_error(code, err, "rp2040 has 2 core(s)")
    code, _, err = cli(capsys, "compile", HELLO, "--cores", 0, "-o", tmp_path)
    assert_one_line_error(code, err, "asked for 0")
    code, _, err = cli(capsys, "compile", HELLO, "--scheduler", "fifo", "-o", tmp_path)
    assert_one_line_error(code, err, "unknown scheduler")
    code, _, err = cli(capsys, "compile", HELLO, "--name", "9lives", "-o", tmp_path)
    assert_one_line_error(code, err, "not a C identifier")
    code, _, err = cli(capsys, "compile", tmp_path / "missing.tflite", "-o", tmp_path)
    assert code == EXIT_USER_ERROR and len(err.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())  # nothing written by any failed compile

    def no_kernel(*args, **kwargs):
        raise UnsupportedOperatorError("no C kernel yet for SOFTMAX (operator #3)")

    monkeypatch.setattr(arielml.compile, "compile_model", no_kernel)
    code, _, err = cli(capsys, "compile", HELLO, "-o", tmp_path)
    assert_one_line_error(code, err, "no C kernel yet for SOFTMAX")


def test_targets_table_and_json(capsys):
    code, out, err = cli(capsys, "targets")
    assert code == 0, err
    for name in BOARDS:
        assert name in out
    assert "cortex-m0plus" in out and "125 MHz" in out and "264 KiB" in out
    code, out, err = cli(capsys, "targets", "--json")
    assert code == 0, err
    boards = {b["name"]: b for b in json.loads(out)["targets"]}
    assert list(boards) == list(BOARDS)
    rp2040, h747, smp = boards["rp2040"], boards["stm32h747"], boards["rv32-smp"]
    assert [c["type"] for c in rp2040["cores"]] == ["cortex-m0plus"] * 2 and rp2040["emulated"] is True
    assert rp2040["flash_bytes"] == 2 << 20 and rp2040["ram_bytes"] == 264 << 10 and rp2040["isa"] == ["armv6m"]
    assert [(c["type"], c["clock_hz"]) for c in h747["cores"]] == [("cortex-m7", 480_000_000),
                                                                   ("cortex-m4f", 240_000_000)]
    assert smp["max_cores"] == 8 and boards["esp32s3"]["emulated"] is False


def test_run_native_json_reports_per_op_and_arena(capsys, tmp_path):
    code, out, err = cli(capsys, "run", HELLO, "--backend", "native", "--cores", 2, "--scheduler", "dynamic",
                         "--random", 5, "-o", tmp_path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["backend"] == "native" and doc["cores"] == 2 and doc["scheduler"] == "dynamic"
    assert doc["arena_bytes"] == arielml.compile.plan_model(HELLO, cores=2, scheduler="dynamic").arena_bytes
    assert [(op["name"], op["index"]) for op in doc["per_op"]] == [("FULLY_CONNECTED", i) for i in range(3)]
    assert all(op["seconds"] >= 0 for op in doc["per_op"])
    model = arielml.load(HELLO)
    expected = model.run(model.random_inputs(5))[0]
    assert np.array_equal(np.load(tmp_path / "output_0.npy"), expected)


def test_run_native_refuses_too_many_cores(capsys, tmp_path):
    code, _, err = cli(capsys, "run", HELLO, "--backend", "native", "--target", "rp2040", "--cores", 4,
                       "-o", tmp_path)
    assert_one_line_error(code, err, "rp2040 has 2 core(s)")


def test_compile_estimates_time_for_a_board_that_cannot_be_emulated(capsys, tmp_path):
    """esp32s3 gets code generation and cost-model estimates only: the estimate is there, positive,
    and two cores are estimated faster than one."""
    estimates = {}
    for cores in (1, 2):
        assert main(["compile", str(AD01), "--target", "esp32s3", "--cores", str(cores),
                     "-o", str(tmp_path / f"c{cores}"), "--json"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["estimated_ms"] > 0
        assert abs(summary["estimated_ms"] - sum(op["estimated_ms"] for op in summary["ops"])) < 1e-9
        estimates[cores] = summary["estimated_ms"]
    assert estimates[2] < estimates[1]


def test_reserved_and_bad_names_are_one_line_errors(capsys, tmp_path):
    """`--name ariel` made `ariel_init` both the model's and the runtime's function: refused."""
    for name, why in (("ariel", "reserved"), ("ARIEL_net", "reserved"), ("_x", "not a C identifier")):
        code, _, err = cli(capsys, "compile", HELLO, "--name", name, "-o", tmp_path / "out")
        assert_one_line_error(code, err, why)
    assert not (tmp_path / "out").exists()


def test_compile_into_a_used_directory_replaces_the_old_library_only(capsys, tmp_path):
    """A second compile into DIR removes the first library's files that the new one lacks (another
    board's port, linker scripts), keeps the user's own files, and refuses - changing nothing - when
    a file it would overwrite or remove was not written by arielml or was edited since."""
    out = tmp_path / "lib"
    code, _, err = cli(capsys, "compile", HELLO, "--target", "stm32h747", "--cores", 2, "--with-startup", "-o", out)
    assert code == 0, err
    first = _tree(out)
    assert "ariel/ports/stm32h747/port.c" in first and any(f.endswith(".ld") for f in first)
    (out / "main.c").write_text("int main(void) { return 0; }\n")  # the user's own files
    (out / "ariel" / "ports" / "notes.txt").write_text("mine\n")
    code, out_text, err = cli(capsys, "compile", HELLO, "--target", "rp2040", "--cores", 2, "-o", out, "--json")
    assert code == 0, err
    second = _tree(out)
    listed = set(json.loads(out_text)["files"])
    assert set(second) == listed | {"main.c", "ariel/ports/notes.txt"}
    assert not any("stm32h747" in f or f.endswith(".ld") or "baremetal" in f for f in second)
    assert second["main.c"] == b"int main(void) { return 0; }\n"
    assert not (out / "ariel" / "ports" / "stm32h747").exists()  # emptied directories go too

    # an edited generated file, or a user's file where the library wants to write, is never lost
    (out / "model.c").write_text("/* my fix */\n")
    before = _tree(out)
    code, _, err = cli(capsys, "compile", HELLO, "--target", "host", "-o", out)
    assert_one_line_error(code, err, "model.c")
    assert _tree(out) == before
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "README.md").write_text("my project\n")
    code, _, err = cli(capsys, "compile", HELLO, "-o", fresh)
    assert_one_line_error(code, err, "README.md")
    assert _tree(fresh) == {"README.md": b"my project\n"}


def test_compile_into_a_directory_with_unrelated_files_keeps_them(capsys, tmp_path):
    (tmp_path / "app.c").write_text("/* app */\n")
    code, _, err = cli(capsys, "compile", HELLO, "-o", tmp_path)
    assert code == 0, err
    assert (tmp_path / "app.c").read_text() == "/* app */\n" and (tmp_path / "model.c").is_file()
    code, _, err = cli(capsys, "compile", HELLO, "--cores", 2, "-o", tmp_path)  # same directory, new plan
    assert code == 0, err
    assert (tmp_path / "app.c").read_text() == "/* app */\n" and "2 core(s)" in (tmp_path / "model.c").read_text()


def test_fit_advice_depends_on_the_board(tmp_path):
    """A 1.2 MB weight matrix: too big for the single-core nRF52840 (no "second core type" advice), and
    for stm32h747's two images (advice: the M7 alone, --cores 1, which does fit)."""
    b = ModelBuilder()
    x = b.tensor((1, 1000), "int8", quant=(0.1, 0))
    w = b.tensor((1200, 1000), "int8", quant=(0.01, 0), data=np.ones((1200, 1000)))
    y = b.tensor((1, 1200), "int8", quant=(0.5, 0))
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    path = tmp_path / "wide.tflite"
    path.write_bytes(b.build([x], [y]))
    with pytest.raises(FitError) as single:
        arielml.compile.compile_model(path, target="nrf52840")
    assert "second" not in str(single.value) and "--cores" not in str(single.value)
    assert "more memory" in str(single.value)
    with pytest.raises(FitError) as mixed:
        arielml.compile.compile_model(path, target="stm32h747", cores=2)
    assert "--cores 1" in str(mixed.value) and "cortex-m7" in str(mixed.value)
    assert arielml.compile.compile_model(path, target="stm32h747", cores=1).weights_bytes == 1_200_000


def test_compile_table_output_shows_a_bracketed_directory_literally(capsys, tmp_path):
    out = tmp_path / "[/]" / "[red]lib"
    code, text, err = cli(capsys, "compile", HELLO, "-o", out)
    assert code == 0, err
    assert "[red]lib" in text.replace("\n", "") and (out / "model.c").is_file()
