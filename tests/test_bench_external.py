"""The external-model sweep (python -m arielml.bench.external) on tiny models built here: two that
arielml runs bit-exactly, one with an unsupported operator, one damaged file, and a deliberately
broken operator that must be reported as a mismatch at the right operator index."""
import dataclasses
import json

import numpy as np
import pytest

from arielml.bench import external
from arielml.ops.registry import REGISTRY
from tests.tflite_builder import ModelBuilder

SEED = 20240611


def _fully_connected_int8(rng) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, 24), "int8", quant=(0.04, -5))
    w = b.tensor((10, 24), "int8", quant=(0.015, 0), data=rng.integers(-127, 128, (10, 24)))
    bias = b.tensor((10,), "int32", quant=(0.04 * 0.015, 0), data=rng.integers(-2000, 2000, 10))
    y = b.tensor((1, 10), "int8", quant=(0.09, 3))
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions", fusedActivationFunction=1)
    return b.build([x], [y])


def _two_layer_uint8(rng) -> bytes:
    """Legacy asymmetric uint8: two chained FULLY_CONNECTED layers (weight zero points != 0)."""
    b = ModelBuilder()
    x = b.tensor((2, 16), "uint8", quant=(0.05, 120))
    w1 = b.tensor((12, 16), "uint8", quant=(0.02, 131), data=rng.integers(0, 256, (12, 16)))
    b1 = b.tensor((12,), "int32", quant=(0.05 * 0.02, 0), data=rng.integers(-900, 900, 12))
    h = b.tensor((2, 12), "uint8", quant=(0.11, 7))
    w2 = b.tensor((5, 12), "uint8", quant=(0.03, 118), data=rng.integers(0, 256, (5, 12)))
    b2 = b.tensor((5,), "int32", quant=(0.11 * 0.03, 0), data=rng.integers(-900, 900, 5))
    y = b.tensor((2, 5), "uint8", quant=(0.2, 130))
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], "FullyConnectedOptions", fusedActivationFunction=0)
    b.op("FULLY_CONNECTED", [h, w2, b2], [y], "FullyConnectedOptions", fusedActivationFunction=0)
    return b.build([x], [y])


def _custom_postprocess() -> bytes:
    """A custom operator, like the TFLite_Detection_PostProcess that ends SSD detectors."""
    b = ModelBuilder()
    x = b.tensor((1, 8), "float32")
    y = b.tensor((1, 8), "float32")
    b.op("CUSTOM", [x], [y])
    b.opcodes[-1].customCode = "Tiny_Detection_PostProcess"
    return b.build([x], [y])


@pytest.fixture
def model_dir(tmp_path):
    rng = np.random.default_rng(SEED)
    (tmp_path / "fc_int8.tflite").write_bytes(_fully_connected_int8(rng))
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "mlp_uint8.tflite").write_bytes(_two_layer_uint8(rng))
    return tmp_path


def test_json_reports_both_models_bit_exact(model_dir, capsys):
    code = external.main([str(model_dir), "--inputs", "4", "--json"])
    report = json.loads(capsys.readouterr().out)
    rows = {m["file"]: m for m in report["models"]}
    assert set(rows) == {"fc_int8.tflite", "nested/mlp_uint8.tflite"}, f"seed {SEED}"
    for name, row in rows.items():
        assert row["status"] == external.EXACT, f"{name}: {row['status_text']} (builder seed {SEED})"
        assert (row["runs"], row["exact_runs"]) == (4, 4)
        assert row["status_text"] == "bit-exact 4/4"
    assert rows["fc_int8.tflite"]["ops"] == {"FULLY_CONNECTED": 1}
    assert rows["fc_int8.tflite"]["macs"] == 24 * 10
    assert rows["nested/mlp_uint8.tflite"]["ops"] == {"FULLY_CONNECTED": 2}
    assert rows["nested/mlp_uint8.tflite"]["macs"] == 2 * (16 * 12 + 12 * 5)
    assert report["summary"] == {"bit-exact": 2}
    assert code == 0


def test_table_lists_models_and_statuses(model_dir, capsys):
    code = external.main([str(model_dir), "--inputs", "2"])
    out = capsys.readouterr().out
    assert "fc_int8.tflite" in out and "mlp_uint8.tflite" in out
    assert out.count("bit-exact 2/2") == 2
    assert "summary: bit-exact 2" in out
    assert code == 0


def test_unsupported_and_damaged_models_do_not_stop_the_sweep(model_dir):
    (model_dir / "custom.tflite").write_bytes(_custom_postprocess())
    good = (model_dir / "fc_int8.tflite").read_bytes()
    (model_dir / "truncated.tflite").write_bytes(good[: len(good) // 3])
    results = {r.file: r for r in external.sweep(model_dir, runs=2)}
    assert results["fc_int8.tflite"].status == external.EXACT
    custom = results["custom.tflite"]
    assert custom.status == external.UNSUPPORTED, custom.status_text
    assert "CUSTOM:Tiny_Detection_PostProcess" in custom.message and "#0" in custom.message
    assert custom.ops == {"CUSTOM:Tiny_Detection_PostProcess": 1}
    assert results["truncated.tflite"].status == external.ERROR, results["truncated.tflite"].status_text
    assert external.missing_operators(list(results.values()))["CUSTOM:Tiny_Detection_PostProcess"] == (1, 1)


def test_a_wrong_operator_is_reported_with_its_index(model_dir, monkeypatch):
    """Break FULLY_CONNECTED on purpose (flip the lowest bit of its output): the sweep must call it a
    mismatch and name operator #0 of the two-layer model as the first divergence."""
    real = REGISTRY["FULLY_CONNECTED"]

    def off_by_one(params, args):
        return [out ^ np.ones_like(out) for out in real.evaluate(params, args)]

    monkeypatch.setitem(REGISTRY, "FULLY_CONNECTED", dataclasses.replace(real, evaluate=off_by_one))
    results = {r.file: r for r in external.sweep(model_dir, runs=2, isolate=False)}
    row = results["nested/mlp_uint8.tflite"]
    assert row.status == external.MISMATCH, row.status_text
    assert row.exact_runs == 0 and row.max_abs_diff >= 1
    assert row.divergence is not None and (row.divergence.index, row.divergence.op) == (0, "FULLY_CONNECTED")
    assert "first divergence: op #0 FULLY_CONNECTED" in row.status_text
    assert external.main([str(model_dir), "--inputs", "1", "--json"]) == 1  # mismatches fail the run


def _fully_connected_then_logistic(rng) -> bytes:
    b = ModelBuilder()
    x = b.tensor((1, 20), "int8", quant=(0.05, 4))
    w = b.tensor((6, 20), "int8", quant=(0.02, 0), data=rng.integers(-127, 128, (6, 20)))
    h = b.tensor((1, 6), "int8", quant=(0.08, -2))
    y = b.tensor((1, 6), "int8", quant=(1 / 256, -128))
    b.op("FULLY_CONNECTED", [x, w, -1], [h], "FullyConnectedOptions")
    b.op("LOGISTIC", [h], [y])
    return b.build([x], [y])


@pytest.mark.parametrize("break_fc", [False, True])
def test_supported_prefix_of_an_unloadable_model_is_checked(tmp_path, monkeypatch, break_fc):
    """LOGISTIC is taken out of the registry, so the model does not load; the sweep still compares
    operator #0 with LiteRT's intermediate tensor and catches a wrong FULLY_CONNECTED there."""
    (tmp_path / "fc_logistic.tflite").write_bytes(_fully_connected_then_logistic(np.random.default_rng(SEED)))
    monkeypatch.delitem(REGISTRY, "LOGISTIC", raising=False)
    if break_fc:
        real = REGISTRY["FULLY_CONNECTED"]
        monkeypatch.setitem(REGISTRY, "FULLY_CONNECTED", dataclasses.replace(
            real, evaluate=lambda params, args: [o ^ np.ones_like(o) for o in real.evaluate(params, args)]))
    (row,) = external.sweep(tmp_path, runs=3, isolate=False)
    assert "LOGISTIC" in row.message and "#1" in row.message, row.status_text
    assert row.prefix_total == 2
    if break_fc:
        assert row.status == external.PREFIX_MISMATCH, row.status_text
        assert (row.divergence.index, row.divergence.op, row.first_failing_seed) == (0, "FULLY_CONNECTED", 0)
    else:
        assert row.status == external.UNSUPPORTED, row.status_text
        assert (row.prefix_checked, row.runs, row.divergence) == (1, 3, None)
        assert "ops #0-#0 of 2 bit-exact on 3 input(s)" in row.status_text


def test_models_also_run_on_the_compiled_backends(tmp_path):
    import shutil

    from arielml.bench.external import EXACT, check_model
    from tests.conftest import ZOO
    shutil.copy(ZOO / "tflite_micro" / "hello_world_int8.tflite", tmp_path / "hello.tflite")
    result = check_model(tmp_path / "hello.tflite", 2, tmp_path, backends=("native", "emulator:rp2040"))
    assert result.status == EXACT and result.backends == {"native": "bit-exact", "emulator:rp2040": "bit-exact"}
    assert "native: bit-exact" in result.status_text
