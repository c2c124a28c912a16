"""The `arielml` command: JSON shapes, outputs written, and error paths (one line on stderr, non-zero
exit, no traceback unless --debug)."""
import json
import subprocess
import sys

import numpy as np
import pytest

import arielml
from arielml.cli import EXIT_BUG, EXIT_USER_ERROR, main
from tests.conftest import ROOT, ZOO

AD01 = ZOO / "mlcommons_tiny" / "ad01_int8.tflite"
HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"
VWW = ZOO / "mlcommons_tiny" / "vww_96_int8.tflite"


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, expected_code=EXIT_USER_ERROR, contains=""):
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert "Traceback" not in err
    assert contains.lower() in lines[0].lower(), lines[0]


def test_inspect_json(capsys):
    code, out, err = cli(capsys, "inspect", AD01, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["macs"] == sum(op["macs"] for op in doc["ops"]) == 264_192
    assert doc["params_bytes"] > 0 and doc["peak_activation_bytes"] > 0 and doc["unsupported"] == []
    assert [op["index"] for op in doc["ops"]] == list(range(10))
    assert all(op["type"] == "FULLY_CONNECTED" and "params_bytes" in op for op in doc["ops"])
    assert doc["notes"]  # the dynamic batch dimension is mentioned


def test_inspect_vww_int8_macs(capsys):
    code, out, err = cli(capsys, "inspect", VWW, "--json")
    assert code == 0, err
    assert json.loads(out)["macs"] == 7_489_664


def test_inspect_table(capsys):
    code, out, _ = cli(capsys, "inspect", HELLO)
    assert code == 0 and "FULLY_CONNECTED" in out and "MACs 288" in out


def test_run_json_writes_outputs_equal_to_the_api(capsys, tmp_path):
    code, out, err = cli(capsys, "run", AD01, "--random", 7, "--output-dir", tmp_path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["backend"] == "reference" and doc["semantics"] == "litert"
    (entry,) = doc["outputs"]
    assert entry["path"] == str(tmp_path / "output_0.npy") and entry["shape"] == [1, 640] and entry["dtype"] == "int8"
    model = arielml.load(AD01)
    expected = model.run(model.random_inputs(7))[0]
    assert np.array_equal(np.load(entry["path"]), expected)


def test_run_with_input_file_and_tflm_semantics(capsys, tmp_path):
    model = arielml.load(AD01)
    x = model.random_inputs(3)[0]
    np.save(tmp_path / "x.npy", x)
    code, out, err = cli(capsys, "run", AD01, "--input", tmp_path / "x.npy", "--semantics", "tflm",
                         "-o", tmp_path / "o", "--json")
    assert code == 0, err
    assert np.array_equal(np.load(tmp_path / "o" / "output_0.npy"), model.run([x], semantics="tflm")[0])
    assert json.loads(out)["inputs"][0]["source"] == str(tmp_path / "x.npy")


def test_run_table_output(capsys, tmp_path):
    code, out, _ = cli(capsys, "run", HELLO, "-o", tmp_path)
    assert code == 0 and "output_0.npy" in out and (tmp_path / "output_0.npy").exists()


@pytest.mark.parametrize("args, message", [
    (["inspect", "/nonexistent/model.tflite"], "cannot read model file"),
    (["run", "/nonexistent/model.tflite"], "cannot read model file"),
    (["run", __file__], "not a TFLite model"),
    (["run", HELLO, "--backend", "fpga"], "unknown backend"),
    (["run", HELLO, "--semantics", "tf1"], "unknown semantics"),
    (["run", HELLO, "--cores", "2"], "compiled backends"),
    (["demo", "--zoo", "/nonexistent/zoo"], "zoo was not found"),
])
def test_user_errors_are_one_line(capsys, tmp_path, args, message):
    code, _, err = cli(capsys, *args, *(["-o", tmp_path] if args[0] == "run" else []))
    assert_one_line_error(code, err, contains=message)


def test_input_file_errors(capsys, tmp_path):
    np.save(tmp_path / "wrong_dtype.npy", np.zeros((1, 1), np.float64))
    np.save(tmp_path / "wrong_shape.npy", np.zeros((1, 3), np.int8))
    np.save(tmp_path / "good.npy", np.zeros((1, 1), np.int8))
    (tmp_path / "garbage.npy").write_bytes(b"\x93NUMPY garbage")
    np.savez(tmp_path / "several.npz", a=np.zeros(1), b=np.zeros(1))
    cases = [
        (["--input", tmp_path / "missing.npy"], "does not exist"),
        (["--input", tmp_path / "garbage.npy"], "cannot read"),
        (["--input", tmp_path / "several.npz"], ".npz"),
        (["--input", tmp_path / "wrong_dtype.npy"], "must be int8"),
        (["--input", tmp_path / "wrong_shape.npy"], "must have shape"),
        (["--input", tmp_path / "good.npy", "--input", tmp_path / "good.npy"], "takes 1 input"),
        (["--input", tmp_path / "good.npy", "--random", "1"], "not both"),
    ]
    for extra, message in cases:
        code, _, err = cli(capsys, "run", HELLO, "-o", tmp_path / "out", *extra)
        assert_one_line_error(code, err, contains=message)
    code, _, err = cli(capsys, "run", HELLO, "-o", tmp_path / "out", "--input", tmp_path / "good.npy")
    assert code == 0, err


def test_unsupported_operator_is_named(capsys, tmp_path):
    from tests.test_inspect import _fc_model
    path = tmp_path / "floor.tflite"
    path.write_bytes(_fc_model(extra_unsupported=True))
    code, _, err = cli(capsys, "run", path, "-o", tmp_path)
    assert_one_line_error(code, err, contains="FLOOR (operator #1)")
    code, out, err = cli(capsys, "inspect", path, "--json")  # inspect still works
    assert code == 0, err
    assert [u["type"] for u in json.loads(out)["unsupported"]] == ["FLOOR"]


def test_debug_shows_the_traceback(capsys):
    code, _, err = cli(capsys, "--debug", "run", "/nonexistent/model.tflite")
    assert code == EXIT_USER_ERROR
    assert "Traceback" in err and "ModelFormatError" in err


def test_bug_is_reported_as_a_bug(capsys, monkeypatch, tmp_path):
    from arielml.commands import run as run_module

    def broken(model, inputs, options):
        raise KeyError("oops")
    monkeypatch.setitem(run_module.RUNNERS, "reference", broken)
    code, _, err = cli(capsys, "run", HELLO, "-o", tmp_path)
    assert_one_line_error(code, err, expected_code=EXIT_BUG, contains="bug in arielml")
    assert "--debug" in err
    code, _, err = cli(capsys, "--debug", "run", HELLO, "-o", tmp_path)
    assert code == EXIT_BUG and "Traceback" in err and "KeyError" in err


def test_usage_error_exits_nonzero_without_traceback(capsys):
    code, out, err = cli(capsys, "run", HELLO, "--no-such-option")
    assert code == 2 and "Traceback" not in out + err and "no-such-option" in out + err


def test_console_script_in_a_subprocess(tmp_path):
    """The installed entry point: real exit codes and streams."""
    run = lambda *a: subprocess.run([sys.executable, "-m", "arielml.cli", *map(str, a)], cwd=ROOT,  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    ok = run("run", HELLO, "--json", "-o", tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["outputs"][0]["path"] == str(tmp_path / "output_0.npy")
    bad = run("inspect", tmp_path / "missing.tflite")
    assert bad.returncode == EXIT_USER_ERROR and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_demo_runs_the_zoo_models_bit_exact(capsys):
    code, out, err = cli(capsys, "demo")
    assert code == 0, out + err
    assert out.count("bit-exact") >= 6 and "vww_96_int8" in out
