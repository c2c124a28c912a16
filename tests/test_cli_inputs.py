"""CLI input handling (robustness class "huge .npy headers"): .npy files are checked against the
model's input before any data is read (a header that lies costs nothing), files that are not .npy
arrays - text, /dev/zero, FIFOs, directories - are named as such without hanging, and --random takes
what numpy takes (a negative seed is a user error). Plus rich output: user text (paths, names) is
shown literally, never read as markup."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from arielml.cli import EXIT_USER_ERROR, main
from arielml.errors import InputError
from arielml.npyfile import read_npy_input
from tests.conftest import ROOT, ZOO

HELLO = ZOO / "tflite_micro" / "hello_world_int8.tflite"  # one int8 input of shape (1, 1)


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *phrases):
    assert code == EXIT_USER_ERROR, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for phrase in phrases:
        assert phrase.lower() in lines[0].lower(), lines[0]


def lying_npy(path, shape, dtype="|i1", data=b""):
    """A valid .npy header claiming `shape`, followed by `data` only."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        f.write(data)
    return path


# ---- huge and lying headers ----------------------------------------------------------------------

def test_huge_header_is_refused_before_reading(capsys, tmp_path):
    """The issue's case: a header claiming 93 GiB. Refused from the header, named, exit 2; the
    subprocess variant below proves nothing is allocated."""
    path = lying_npy(tmp_path / "huge.npy", (100_000, 1_000_000))
    code, _, err = cli(capsys, "run", HELLO, "-i", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, str(path), "shape (100000, 1000000)", "must have shape (1, 1)")


def test_huge_header_needs_no_memory(tmp_path):
    """Under a 1 GiB address-space limit, numpy.load would fail with MemoryError (exit 3 before the
    fix); the header check answers with exit 2."""
    path = lying_npy(tmp_path / "huge.npy", (1, 100_000_000_000))
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        from arielml.cli import main
        sys.exit(main(["run", {str(HELLO)!r}, "-i", {str(path)!r}, "-o", {str(tmp_path / 'out')!r}]))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == EXIT_USER_ERROR, done.stderr
    assert "must have shape (1, 1)" in done.stderr and "MemoryError" not in done.stderr


def test_header_with_the_right_shape_but_missing_data_is_truncated(capsys, tmp_path):
    path = lying_npy(tmp_path / "short.npy", (1, 1))  # header only, no data byte
    code, _, err = cli(capsys, "run", HELLO, "-i", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, str(path), "truncated", "int8 values of shape (1, 1)")


def test_wrong_dtype_is_named_with_the_expected_one(capsys, tmp_path):
    np.save(tmp_path / "f64.npy", np.zeros((1, 1), np.float64))
    code, _, err = cli(capsys, "run", HELLO, "-i", tmp_path / "f64.npy", "-o", tmp_path / "out")
    assert_one_line_error(code, err, str(tmp_path / "f64.npy"), "float64", "must be int8")


def test_pickled_objects_are_never_loaded(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([[object()]], dtype=object), allow_pickle=True)
    with pytest.raises(InputError, match="Python objects"):
        read_npy_input(tmp_path / "objects.npy", np.int8, (1, 1))


@pytest.mark.parametrize("header", [b"{'descr': '|i1', 'fortran_order': False, 'shape': (1, 1), }",
                                    b"{'descr': '|i1', 'shape': (1, 1)}",
                                    b"__import__('os').system('echo pwned')"])
def test_damaged_header(tmp_path, header):
    path = tmp_path / "damaged.npy"
    padded = header + b" " * (63 - len(header) % 64) + b"\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded + b"\x00")
    if header.startswith(b"{'descr': '|i1', 'fortran"):  # the well-formed control case reads
        assert read_npy_input(path, np.int8, (1, 1)).tolist() == [[0]]
        return
    with pytest.raises(InputError, match="header is damaged"):
        read_npy_input(path, np.int8, (1, 1))


def test_good_files_read_as_numpy_load_does(tmp_path):
    """Fortran order, version 2.0 headers and the batch dimension left out are all accepted."""
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(tmp_path / "c.npy", data)
    np.save(tmp_path / "f.npy", np.asfortranarray(data))
    with open(tmp_path / "v2.npy", "wb") as f:
        np.lib.format.write_array(f, data, version=(2, 0))
    for name in ("c.npy", "f.npy", "v2.npy"):
        got = read_npy_input(tmp_path / name, np.float32, (1, 3, 4))
        assert got.flags.c_contiguous and np.array_equal(got, data), name


# ---- files that are not .npy arrays --------------------------------------------------------------

def test_text_file_is_not_a_npy_file(capsys, tmp_path):
    path = tmp_path / "notes.npy"
    path.write_text("1 2 3\n")
    code, _, err = cli(capsys, "run", HELLO, "-i", path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, str(path), "not a .npy array file", "int8 values of shape (1, 1)")
    assert "pickle" not in err


def test_dev_zero_is_refused_without_reading(capsys, tmp_path):
    code, _, err = cli(capsys, "run", HELLO, "-i", "/dev/zero", "-o", tmp_path / "out")
    assert_one_line_error(code, err, "/dev/zero", "is a device")
    assert "pickle" not in err


def test_fifo_is_refused_without_hanging(tmp_path):
    """Opening a FIFO with no writer blocks forever; the type is checked first. Run in a subprocess
    with a timeout so that a regression fails instead of hanging the suite."""
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "arielml.cli", "run", str(HELLO), "-i", str(fifo),
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == EXIT_USER_ERROR, done.stderr
    assert "FIFO" in done.stderr and str(fifo) in done.stderr


def test_directory_is_refused(capsys, tmp_path):
    code, _, err = cli(capsys, "run", HELLO, "-i", tmp_path, "-o", tmp_path / "out")
    assert_one_line_error(code, err, "is a directory")


# ---- --random --------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["run", "profile"])
def test_negative_seed_is_a_user_error(capsys, tmp_path, command):
    extra = ["--target", "rp2040"] if command == "profile" else []
    code, _, err = cli(capsys, command, HELLO, "--random", -1, "-o" if command == "run" else "--json",
                       *([tmp_path / "out"] if command == "run" else []), *extra)
    assert_one_line_error(code, err, "--random", ">= 0", "-1")


def test_large_seed_is_accepted(capsys, tmp_path):
    code, _, err = cli(capsys, "run", HELLO, "--random", 2**70, "-o", tmp_path / "out")
    assert code == 0, err
    assert (tmp_path / "out" / "output_0.npy").exists()



# ---- user text in rich output ----------------------------------------------------------------------

MARKUP = "[red]x[/red] [/]"  # "[/]" alone made rich raise (exit 3); "[red]..." vanished from tables


def _markup_named_model(path):
    """hello-world-sized FULLY_CONNECTED model whose tensor and custom-operator names are rich markup."""
    from tests.tflite_builder import ModelBuilder
    b = ModelBuilder()
    x = b.tensor((1, 4), "float32", name=f"in {MARKUP}")
    w = b.tensor((2, 4), "float32", data=np.ones((2, 4), np.float32), name=f"w {MARKUP}")
    y = b.tensor((1, 2), "float32", name=f"out {MARKUP}")
    b.op("FULLY_CONNECTED", [x, w, -1], [y], "FullyConnectedOptions")
    z = b.tensor((1, 2), "float32", name=f"custom out {MARKUP}")
    b.op("CUSTOM", [y], [z])
    b.opcodes[-1].customCode = "[red]op[/red]"
    path.write_bytes(b.build([x], [z]))
    return path


def test_inspect_shows_markup_names_literally(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    folder = tmp_path / "[red]dir[/red] [/]"  # "/" separates: directories "[red]dir[", "red] [" and "]"
    folder.mkdir(parents=True)
    model = _markup_named_model(folder / "[red]m.tflite")
    code, out, err = cli(capsys, "inspect", model)
    assert code == 0, err
    assert "[red]m: 2 operators" in out  # the model's name in the title
    assert "CUSTOM:[red]op[/red]" in out  # the custom code in the operator column
    assert f"'in {MARKUP}'" in out and f"'custom out {MARKUP}'" in out  # the graph's input and output


def test_run_table_shows_markup_paths_literally(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line: no folding
    folder = tmp_path / "[/] [red]models[/red]"
    folder.mkdir(parents=True)
    model = folder / "[red]hello.tflite"
    model.write_bytes(HELLO.read_bytes())
    out_dir = tmp_path / "out [/] [red]y[/red]"
    code, out, err = cli(capsys, "run", model, "--random", 1, "-o", out_dir)
    assert code == 0, err
    assert (out_dir / "output_0.npy").exists()
    assert str(out_dir / "output_0.npy") in out and "[red]hello.tflite on reference" in out


@pytest.mark.cross
def test_profile_gantt_path_with_markup(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")
    from tests.emu_helpers import needs_cross  # noqa: F401  (skips without the cross toolchains)
    import shutil
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    folder = tmp_path / "[/] [red]p[/red] $x$"
    folder.mkdir(parents=True)
    model = folder / "[red]hello $\\frac$.tflite"  # `$` would start matplotlib mathtext
    model.write_bytes(HELLO.read_bytes())
    gantt = folder / "[red]g [/]" / "[b].png"
    code, out, err = cli(capsys, "profile", model, "--target", "rp2040", "--gantt", gantt)
    assert code == 0, err
    assert gantt.read_bytes().startswith(b"\x89PNG")
    assert f"Gantt chart: {gantt}" in out and "[red]hello $\\frac$.tflite on rp2040" in out
