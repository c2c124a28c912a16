"""Test helper: build single-operator (or small) TFLite models with the flatbuffer schema's object
API that LiteRT ships, and run them through the oracles (LiteRT reference kernels, TFLite Micro).

    b = ModelBuilder()
    x = b.tensor((1, 8, 8, 3), "int8", quant=(0.05, -3))
    w = b.tensor((4, 3, 3, 3), "int8", quant=([0.01] * 4, [0] * 4, 0), data=weights)
    y = b.tensor((1, 8, 8, 4), "int8", quant=(0.1, 2))
    b.op("CONV_2D", [x, w, -1], [y], "Conv2DOptions", padding=0, strideW=1, strideH=1)
    model = b.build(inputs=[x], outputs=[y])
    (out,) = run_litert(model, [input_array])
"""
from __future__ import annotations

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

_TYPES = {"float32": schema.TensorType.FLOAT32, "int32": schema.TensorType.INT32,
          "uint8": schema.TensorType.UINT8, "int64": schema.TensorType.INT64,
          "bool": schema.TensorType.BOOL, "int16": schema.TensorType.INT16,
          "int8": schema.TensorType.INT8, "uint16": schema.TensorType.UINT16,
          "uint32": schema.TensorType.UINT32, "uint64": schema.TensorType.UINT64}


class ModelBuilder:
    def __init__(self) -> None:
        self.tensors: list = []
        self.buffers: list = [schema.BufferT()]  # buffer 0 is the empty sentinel
        self.opcodes: list = []
        self.operators: list = []

    def tensor(self, shape, dtype: str, quant=None, data: np.ndarray | None = None, name: str | None = None,
               shape_signature=None, variable: bool = False) -> int:
        """quant: (scale, zero_point) per tensor, or (scales, zero_points, axis) per channel.
        variable: a state tensor (is_variable), kept by the interpreter across invocations."""
        t = schema.TensorT()
        t.isVariable = variable
        t.shape = list(shape)
        if shape_signature is not None:
            t.shapeSignature = list(shape_signature)
        t.type = _TYPES[dtype]
        t.name = name or f"t{len(self.tensors)}"
        if quant is not None:
            q = schema.QuantizationParametersT()
            scale, zero_point = quant[0], quant[1]
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point)]
            q.quantizedDimension = int(quant[2]) if len(quant) > 2 else 0
            t.quantization = q
        if data is not None:
            array = np.asarray(data, dtype=np.dtype(dtype)).reshape(shape)
            buf = schema.BufferT()
            buf.data = np.frombuffer(array.astype(array.dtype.newbyteorder("<")).tobytes(), dtype=np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        else:
            t.buffer = 0
        self.tensors.append(t)
        return len(self.tensors) - 1

    def _opcode(self, name: str) -> int:
        code = getattr(schema.BuiltinOperator, name)
        for i, oc in enumerate(self.opcodes):
            if oc.builtinCode == code:
                return i
        oc = schema.OperatorCodeT()
        oc.builtinCode = code
        oc.deprecatedBuiltinCode = min(code, 127)
        oc.version = 1
        self.opcodes.append(oc)
        return len(self.opcodes) - 1

    def op(self, name: str, inputs, outputs, options_type: str | None = None, **options) -> None:
        """options_type: schema options table name (e.g. "Conv2DOptions"); options: its fields in
        the object API's camelCase (e.g. strideW=2, fusedActivationFunction=1)."""
        op = schema.OperatorT()
        op.opcodeIndex = self._opcode(name)
        op.inputs = list(inputs)
        op.outputs = list(outputs)
        if options_type is not None:
            obj = getattr(schema, options_type + "T")()
            for key, value in options.items():
                if not hasattr(obj, key):
                    raise AttributeError(f"{options_type} has no field {key}")
                setattr(obj, key, value)
            op.builtinOptionsType = getattr(schema.BuiltinOptions, options_type)
            op.builtinOptions = obj
        self.operators.append(op)

    def build(self, inputs, outputs) -> bytes:
        sg = schema.SubGraphT()
        sg.tensors = self.tensors
        sg.operators = self.operators
        sg.inputs = list(inputs)
        sg.outputs = list(outputs)
        sg.name = "main"
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes = self.opcodes
        model.subgraphs = [sg]
        model.buffers = self.buffers
        model.description = "arielml test model"
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def run_litert(model: bytes, inputs: list[np.ndarray], reference: bool = True) -> list[np.ndarray]:
    """Run through LiteRT; reference=True selects the reference kernels (the bit-exact contract)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.AUTO
    it = Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    for detail, array in zip(it.get_input_details(), inputs):
        it.set_tensor(detail["index"], array)
    it.invoke()
    return [it.get_tensor(d["index"]).copy() for d in it.get_output_details()]


def run_tflm(model: bytes, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model)
    for i, array in enumerate(inputs):
        it.set_input(array, i)
    it.invoke()
    outputs = []
    while True:  # the TFLM wrapper has no output count; ask until an index is out of range
        try:
            outputs.append(it.get_output(len(outputs)).copy())
        except (IndexError, RuntimeError, ValueError):
            return outputs
