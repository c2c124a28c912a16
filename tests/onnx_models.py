"""Helpers for the ONNX tests: single-operator models built with onnx.helper, run by onnxruntime
(CPU provider, default session options: what users run) and by arielml."""
from __future__ import annotations

import numpy as np

onnx = __import__("pytest").importorskip("onnx")
ort = __import__("pytest").importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.int8): TensorProto.INT8,
          np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int32): TensorProto.INT32,
          np.dtype(np.int64): TensorProto.INT64}


def make_model(nodes, inputs: dict[str, tuple[tuple[int, ...], np.dtype]], outputs: list[str],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 17,
               output_dtype=np.float32) -> bytes:
    """inputs: name -> (shape, dtype); outputs' shapes are left to shape inference."""
    graph = helper.make_graph(
        nodes, "test",
        [helper.make_tensor_value_info(n, _TYPES[np.dtype(d)], list(s)) for n, (s, d) in inputs.items()],
        [helper.make_tensor_value_info(n, _TYPES[np.dtype(output_dtype)], None) for n in outputs],
        [numpy_helper.from_array(np.asarray(a), n) for n, a in (initializers or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model.SerializeToString()


def run_onnxruntime(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return session.run(None, dict(zip(names, inputs)))
