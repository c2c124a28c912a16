"""python -m arielml.bench.onnx_models: a float MLP and its quantize_static versions against onnxruntime."""
from __future__ import annotations

import io

import numpy as np

from arielml.bench import onnx_models
from tests.onnx_models import helper, make_model


def _mlp(path):
    rng = np.random.default_rng(0)
    inits = {"w1": rng.normal(0, 0.3, (16, 12)).astype(np.float32), "b1": rng.normal(0, 0.1, 12).astype(np.float32),
             "w2": rng.normal(0, 0.3, (12, 4)).astype(np.float32)}
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Add", ["h", "b1"], ["hb"]),
             helper.make_node("Relu", ["hb"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"])]
    path.write_bytes(make_model(nodes, {"x": ((1, 16), np.float32)}, ["y"], inits, opset=13))


def test_sweep_reports_every_variant_bit_exact_under_onnxruntime_semantics(tmp_path):
    _mlp(tmp_path / "mlp.onnx")
    (tmp_path / "bad.onnx").write_bytes(b"\x08\x07not a model")
    out = io.StringIO()
    failures = onnx_models.sweep(str(tmp_path), semantics="onnxruntime", out=out)
    rows = {line.split("|")[1].strip(): line for line in out.getvalue().splitlines()[2:]}
    assert failures == 0
    assert rows["mlp.onnx"].count("| exact") >= 3, out.getvalue()  # the three int8 variants
    assert "load error" in rows["bad.onnx"]


def test_main_exit_status(tmp_path):
    _mlp(tmp_path / "mlp.onnx")
    assert onnx_models.main([str(tmp_path), "--semantics", "onnxruntime"]) == 0
