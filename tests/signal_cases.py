"""Model building and oracles for the tests of TFLite Micro's Signal operators (custom operators with
flexbuffer options; LiteRT does not have them, TFLite Micro's interpreter is the oracle)."""
from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from tests.tflite_builder import ModelBuilder

# schema type codes ModelBuilder does not name (the Signal library's unsigned tensors)
UNSIGNED = {"uint16": schema.TensorType.UINT16, "uint32": schema.TensorType.UINT32,
            "uint64": schema.TensorType.UINT64}


def tensor(b: ModelBuilder, shape, dtype: str, data=None, variable: bool = False) -> int:
    """ModelBuilder.tensor for every dtype the Signal operators use (uint32/uint64 included)."""
    if dtype not in UNSIGNED:
        return b.tensor(shape, dtype, data=data, variable=variable)
    same_size = {"uint16": "int16", "uint32": "int32", "uint64": "int64"}[dtype]
    raw = None if data is None else np.asarray(data, dtype=np.dtype(dtype)).view(np.dtype(same_size))
    index = b.tensor(shape, same_size, data=raw, variable=variable)
    b.tensors[index].type = UNSIGNED[dtype]
    return index


def custom_op(b: ModelBuilder, code: str, inputs, outputs, options: dict) -> None:
    """A custom operator with flexbuffer options (ModelBuilder.op builds builtin operators only)."""
    known = [k for k, c in enumerate(b.opcodes) if c.customCode == code]
    if known:
        index = known[0]
    else:
        opcode = schema.OperatorCodeT()
        opcode.builtinCode = opcode.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
        opcode.customCode = code
        opcode.version = 1
        b.opcodes.append(opcode)
        index = len(b.opcodes) - 1
    op = schema.OperatorT()
    op.opcodeIndex = index
    op.inputs, op.outputs = list(inputs), list(outputs)
    op.customOptions = list(flexbuffers.Dumps(options))
    op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS
    b.operators.append(op)


class Micro:
    """TFLite Micro's interpreter kept across invocations (its Signal operators' state persists)."""

    def __init__(self, model_bytes: bytes):
        from tflite_micro.python.tflite_micro import runtime
        self.it = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 20)

    def run(self, inputs: list[np.ndarray], num_outputs: int) -> list[np.ndarray]:
        for i, array in enumerate(inputs):
            self.it.set_input(array, i)
        self.it.invoke()
        return [self.it.get_output(i).copy() for i in range(num_outputs)]
