"""Sessions from the command line: `arielml run MODEL --steps T` runs T inferences through one
session on every backend (inputs and outputs with a leading time axis), bit-exact with the Python
session; a stateful model run without --steps says so; bad sequence files get one-line errors."""
from __future__ import annotations

import json

import numpy as np
import pytest

import arielml
from tests.test_cli import assert_one_line_error, cli
from tests.test_ops_svdf import _case


@pytest.fixture(scope="module")
def svdf_file(tmp_path_factory):
    model_bytes, steps = _case(7000, "int8")
    path = tmp_path_factory.mktemp("svdf") / "svdf.tflite"
    path.write_bytes(model_bytes)
    series = tmp_path_factory.mktemp("svdf_in") / "x.npy"
    np.save(series, np.stack([s[0] for s in steps]))
    return path, series, steps


@pytest.mark.parametrize("backend,extra", [("reference", []), ("native", ["--cores", "2"]),
                                           ("emulator", ["--target", "rp2040", "--cores", "2"])])
def test_run_steps_matches_a_python_session(capsys, svdf_file, tmp_path, backend, extra):
    path, series, steps = svdf_file
    code, out, err = cli(capsys, "run", path, "--input", series, "--steps", len(steps), "--backend", backend, *extra,
                         "-o", tmp_path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    expected = np.stack([o[0] for o in arielml.load(path).session().run_sequence(steps)])
    got = np.load(tmp_path / "output_0.npy")
    assert got.shape == expected.shape and np.array_equal(got, expected)
    assert doc["steps"] == len(steps) and doc["stateful"] is True
    if backend == "emulator":
        assert [s["step"] for s in doc["per_step"]] == list(range(len(steps)))
        assert all(s["cycles"] > 0 for s in doc["per_step"])


def test_stateful_model_without_steps_says_it_ran_one_inference(capsys, svdf_file, tmp_path):
    path, _, _ = svdf_file
    code, out, err = cli(capsys, "run", path, "--random", "1", "-o", tmp_path, "--json")
    assert code == 0, err
    assert "--steps" in json.loads(out)["note"]


def test_sequence_file_with_the_wrong_length_is_a_clear_error(capsys, svdf_file, tmp_path):
    path, series, steps = svdf_file
    code, _, err = cli(capsys, "run", path, "--input", series, "--steps", len(steps) + 1, "-o", tmp_path)
    assert_one_line_error(code, err, contains="time axis first")
    code, _, err = cli(capsys, "run", path, "--steps", 0, "-o", tmp_path)
    assert_one_line_error(code, err, contains="--steps must be at least 1")


def test_run_steps_on_the_rust_firmware_matches_the_c_session(capsys, svdf_file, tmp_path):
    path, series, steps = svdf_file
    code, out, err = cli(capsys, "run", path, "--input", series, "--steps", len(steps), "--backend", "emulator",
                         "--target", "rp2040", "--cores", "2", "--firmware", "rust", "-o", tmp_path, "--json")
    assert code == 0, err
    expected = np.stack([o[0] for o in arielml.load(path).session().run_sequence(steps)])
    assert np.array_equal(np.load(tmp_path / "output_0.npy"), expected)
    model = arielml.load(path)
    assert np.array_equal(model.run(steps[0], backend="emulator", target="rp2040", firmware="rust")[0], expected[0])
