"""ONNX model -> Graph IR: a second frontend into the same IR as frontend/tflite.py, so every pass,
kernel and backend runs an ONNX model unchanged.

Parsing uses the `onnx` package. Each ONNX node is converted by one function of
frontend/onnx_ops.py (a table keyed by op type) into the registered TFLite-style operators of
arielml/ops, with their options dataclasses, exactly as the TFLite frontend makes them.

Layout. ONNX is NCHW, arielml's kernels are NHWC. Every ONNX value is held as an IR tensor plus a
permutation `perm`: the IR tensor is `onnx_value.transpose(perm)`. A layout-sensitive operator (Conv,
pools) asks for its input in NHWC (perm (0, 2, 3, 1)) and produces NHWC; a layout-blind one
(elementwise, activations) keeps whatever layout its input has (a constant operand is permuted to
match); an ONNX Transpose costs nothing (it only changes the perm); an operator that needs ONNX's
own element order (Reshape, Flatten, MatMul, graph outputs) asks for the identity perm. A TRANSPOSE
node is inserted only where a tensor must change layout, and it is a RESHAPE (a view, no copy) when
the dimensions it moves all have size 1 (a 1-channel image input, a (N, C, 1, 1) map before Flatten).
Graph inputs and outputs keep ONNX's shapes: a caller passes the arrays it passes to onnxruntime.

Folding at load time: Constant nodes, constant initializers, Identity/Dropout, Shape of a static
shape and integer shape arithmetic on constants (onnx_fold.py), BatchNormalization into the
preceding Conv/Gemm (onnx_fold.py, computed in float32 as onnxruntime's fusion does)."""
from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import numpy as np

from arielml.errors import ArielError, ModelFormatError, UnsupportedOperatorError
from arielml.frontend.tflite import MAX_MODEL_BYTES
from arielml.ir import NO_TENSOR, Graph, Node, QuantParams, Tensor
from arielml.ir.fold import fold_constants
from arielml.ir.verify import check_tensor_limits
from arielml.ops.registry import ONNX_NOTE

NHWC = (0, 2, 3, 1)  # IR = onnx NCHW value .transpose(NHWC)

# onnx.TensorProto data types arielml reads
ONNX_DTYPES = {1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool"}


def looks_like_onnx(head: bytes) -> bool:
    """An ONNX file is a protobuf ModelProto; exporters write ir_version (field 1, varint: 0x08) first."""
    return len(head) >= 2 and head[0] == 0x08 and head[4:8] != b"TFL3"


def load_onnx(path: str | Path) -> Graph:
    path = Path(path)
    try:
        info = os.stat(path)
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelFormatError(f"{path} is not a regular file; give a .onnx file")
    if info.st_size == 0:
        raise ModelFormatError(f"{path} is empty (0 bytes); give a .onnx file")
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelFormatError(f"{path} is {info.st_size:,} bytes; arielml reads model files up to "
                               f"{MAX_MODEL_BYTES:,} bytes: is this the right file?")
    with open(path, "rb") as f:
        data = f.read()
    return parse_onnx(data, name=path.stem, base_dir=path.parent)


def parse_onnx(data, name: str = "model", base_dir: Path | None = None) -> Graph:
    """Parse an ONNX ModelProto from bytes. Damaged files give a ModelFormatError."""
    import onnx
    try:
        model = onnx.load_model_from_string(bytes(data))
    except Exception as e:  # protobuf's DecodeError and friends
        raise ModelFormatError(f"{name}: not a valid ONNX model ({type(e).__name__} while parsing); "
                               "re-export it from the framework (torch.onnx.export, tf2onnx)") from None
    if not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError(f"{name}: the ONNX file has no graph (corrupt file, or not an ONNX model)")
    try:
        if base_dir is not None and any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
            onnx.external_data_helper.load_external_data_for_model(model, str(base_dir))
    except Exception as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelFormatError(f"{name}: the ONNX model's external data cannot be read ({message})") from None
    # onnx.checker is not run: it refuses models onnxruntime runs (graph outputs without a shape); the
    # conversion below checks what it reads and reports a damaged graph as a ModelFormatError
    try:
        return _convert(model, name)
    except ArielError:
        raise
    except Exception as e:
        raise ModelFormatError(f"{name}: the ONNX model could not be read ({type(e).__name__}: {e})") from e


def _convert(model, name: str) -> Graph:
    from arielml.frontend.onnx_fold import fold_batch_norms
    from arielml.frontend.onnx_ops import CONVERTERS
    opsets = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    builder = Builder(name, opsets.get("ai.onnx", 13))
    builder.notes.append(ONNX_NOTE)  # also what lets --semantics onnxruntime run this graph
    graph = model.graph
    for init in graph.initializer:
        builder.constants[init.name] = _to_array(init)
    for value in graph.input:
        if value.name not in builder.constants:
            builder.add_graph_input(value)
    nodes = fold_batch_norms(list(graph.node), builder)
    for node in nodes:
        for name in node.input:
            builder.consumers.setdefault(name, []).append(node)
        for name in node.output:
            builder.producers[name] = node
    builder.graph_outputs = {v.name for v in graph.output}
    for index, node in enumerate(nodes):
        if id(node) in builder.skip:  # fused into an earlier node's integer operator (onnx_quant.py)
            continue
        domain = node.domain or "ai.onnx"
        convert = CONVERTERS.get(node.op_type) if domain in ("ai.onnx", "com.microsoft") else None
        if convert is None:
            raise UnsupportedOperatorError(
                f"ONNX node '{node.name or '(unnamed)'}' (#{index}, op type {node.op_type}"
                f"{'' if domain == 'ai.onnx' else ', domain ' + domain}) is not supported by arielml's ONNX "
                f"frontend; supported op types: {', '.join(sorted(CONVERTERS))}")
        builder.index, builder.node_name, builder.op_type = index, node.name or "(unnamed)", node.op_type
        convert(builder, node, _attributes(node))
    outputs = tuple(builder.output(v.name) for v in graph.output)
    islands = sorted(builder.float_islands - {"DequantizeLinear", "QuantizeLinear", ""})
    if islands:
        builder.notes.append("quantised model: these ONNX op types run in float32 between DEQUANTIZE and QUANTIZE "
                             f"(no integer lowering yet): {', '.join(islands)}")
    from arielml.frontend.onnx_ort import not_reproduced_note
    if note := not_reproduced_note(builder):
        builder.notes.append(note)
    result = Graph(tensors=tuple(builder.tensors), nodes=tuple(builder.nodes), inputs=tuple(builder.inputs),
                   outputs=outputs, name=name, notes=tuple(dict.fromkeys(builder.notes)))
    return fold_constants(result)


def _attributes(node) -> dict:
    import onnx
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _to_array(tensor) -> np.ndarray:
    from onnx import numpy_helper
    if tensor.data_type not in ONNX_DTYPES:
        import onnx
        type_name = onnx.TensorProto.DataType.Name(tensor.data_type)
        raise UnsupportedOperatorError(f"ONNX tensor '{tensor.name}' has data type {type_name}, which arielml "
                                       "does not read")
    array = numpy_helper.to_array(tensor)
    array = np.array(array, dtype=ONNX_DTYPES[tensor.data_type])
    array.setflags(write=False)
    return array


@dataclasses.dataclass
class Value:
    """An ONNX value as an IR tensor: the tensor is onnx_value.transpose(perm)."""

    index: int
    perm: tuple[int, ...]


class Builder:
    """Collects IR tensors and nodes while the ONNX nodes are converted in order."""

    def __init__(self, name: str, opset: int):
        self.name, self.opset = name, opset
        self.tensors: list[Tensor] = []
        self.nodes: list[Node] = []
        self.inputs: list[int] = []
        self.notes: list[str] = []
        self.values: dict[str, Value] = {}
        self.constants: dict[str, np.ndarray] = {}  # ONNX layout
        self.quantized: dict[str, tuple[np.ndarray, QuantParams]] = {}  # DequantizeLinear of a constant
        # DequantizeLinear outputs not yet materialised: float name -> the integer value it reads
        self.dequantized: dict[str, str] = {}
        self.consumers: dict[str, list] = {}  # ONNX value name -> the ONNX nodes that read it
        self.producers: dict[str, object] = {}  # ONNX value name -> the ONNX node that makes it
        self.graph_outputs: set[str] = set()
        self.skip: set[int] = set()  # ids of ONNX nodes already converted as part of a pattern
        # uint8 ONNX values held as int8 with zero point - 128 (the same real values; the int8
        # kernels take them): onnx_quant.py
        self.shifted_tensors: set[int] = set()
        self.real_values = False  # True while a DQ -> op -> Q group is converted on integers
        self.float_islands: set[str] = set()
        self.integer_groups: set[str] = set()  # op types of DQ -> op -> Q groups run on integers
        self.not_reproduced: set[str] = set()  # what --semantics onnxruntime cannot match (onnx_ort.py)
        self.ort_islands: set[str] = set()  # float islands --semantics onnxruntime computes as onnxruntime
        # flattened values whose IR columns are a permutation of ONNX's (an NHWC map flattened as it
        # is): value name -> ONNX column of each IR column; only Gemm/MatMul weights read them
        self.column_order: dict[str, np.ndarray] = {}  # ONNX op types run in float between DEQUANTIZE and QUANTIZE
        self._layouts: dict[tuple[str, tuple[int, ...]], int] = {}
        self.index, self.node_name, self.op_type = 0, "", ""

    # ---- errors ----------------------------------------------------------------------------------
    def unsupported(self, why: str) -> UnsupportedOperatorError:
        return UnsupportedOperatorError(
            f"ONNX node '{self.node_name}' (#{self.index}, op type {self.op_type}): {why}")

    # ---- tensors ---------------------------------------------------------------------------------
    def add_tensor(self, name: str, shape, dtype: str, data: np.ndarray | None = None,
                   quant: QuantParams | None = None) -> int:
        shape = tuple(int(d) for d in shape)
        check_tensor_limits(name, shape, dtype)
        if data is not None:
            data = np.array(data, dtype=dtype).reshape(shape)
            data.setflags(write=False)
        self.tensors.append(Tensor(name=name, shape=shape, dtype=dtype, quant=quant, data=data))
        return len(self.tensors) - 1

    def add_constant(self, name: str, array: np.ndarray, dtype: str | None = None,
                     quant: QuantParams | None = None) -> int:
        array = np.asarray(array)
        return self.add_tensor(name, array.shape, dtype or str(array.dtype), array, quant)

    def add_graph_input(self, value) -> None:
        elem = value.type.tensor_type.elem_type
        if elem not in ONNX_DTYPES:
            raise UnsupportedOperatorError(f"graph input '{value.name}' has ONNX element type {elem}, "
                                           "which arielml does not read")
        shape = []
        for d in value.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value > 0:
                shape.append(d.dim_value)
            else:
                shape.append(1)
                self.notes.append("dynamic dimensions (named or unknown) are treated as 1 (batch of one)")
        index = self.add_tensor(value.name, shape, ONNX_DTYPES[elem])
        self.inputs.append(index)
        self.values[value.name] = Value(index, tuple(range(len(shape))))

    # ---- values ----------------------------------------------------------------------------------
    def constant(self, name: str) -> np.ndarray | None:
        return self.constants.get(name) if name else None

    def onnx_shape(self, name: str) -> tuple[int, ...]:
        if name in self.constants:
            return tuple(self.constants[name].shape)
        if name in self.dequantized and name not in self.values:
            return self.onnx_shape(self.dequantized[name])
        value = self.value(name)
        ir_shape = self.tensors[value.index].shape
        shape = [0] * len(ir_shape)
        for i, axis in enumerate(value.perm):
            shape[axis] = ir_shape[i]
        return tuple(shape)

    def dtype(self, name: str) -> str:
        if name in self.constants:
            return str(self.constants[name].dtype)
        if name in self.dequantized:
            return "float32"
        return self.tensors[self.value(name).index].dtype

    def value(self, name: str) -> Value:
        if name not in self.values and name in self.dequantized:
            # a float consumer of a DequantizeLinear outside any integer pattern: dequantise here
            source = self.value(self.dequantized[name])
            self.emit("DEQUANTIZE", (source.index,), name, source.perm, dtype="float32")
            self.float_islands.add(self.op_type)
        if name not in self.values:
            if name in self.constants:
                raise self.unsupported(f"input '{name}' is a constant where arielml needs a computed tensor")
            raise ModelFormatError(f"ONNX node '{self.node_name}' (#{self.index}) reads '{name}', which no "
                                   "earlier node produces (the graph is not in topological order, or corrupt)")
        return self.values[name]

    def mark_shifted(self, name: str) -> None:
        self.shifted_tensors.add(self.values[name].index)

    def is_shifted(self, name: str) -> bool:
        """True when ONNX value `name` is uint8 held as int8 with zero point - 128."""
        return name in self.values and self.values[name].index in self.shifted_tensors

    def set_value(self, name: str, index: int, perm: tuple[int, ...]) -> None:
        self.values[name] = Value(index, tuple(perm))

    def in_layout(self, name: str, perm: tuple[int, ...]) -> int:
        """The IR tensor of ONNX value `name` laid out as onnx_value.transpose(perm); a constant is
        transposed here, a computed tensor gets a TRANSPOSE (or a RESHAPE when only size-1 axes move)."""
        perm = tuple(perm)
        key = (name, perm)
        if key in self._layouts:
            return self._layouts[key]
        if name in self.constants:
            index = self.add_constant(name if perm == tuple(range(len(perm))) else f"{name}/{_perm_tag(perm)}",
                                      np.transpose(self.constants[name], perm))
            self._layouts[key] = index
            return index
        value = self.value(name)
        if value.perm == perm:
            return value.index
        source = self.tensors[value.index]
        relative = tuple(value.perm.index(axis) for axis in perm)  # IR_new = IR_cur.transpose(relative)
        new_shape = tuple(source.shape[a] for a in relative)
        out = self.add_tensor(f"{name}/{_perm_tag(perm)}", new_shape, source.dtype, quant=source.quant)
        if value.index in self.shifted_tensors:
            self.shifted_tensors.add(out)
        moved = [a for a in relative if source.shape[a] != 1]
        if moved == sorted(moved):  # only size-1 axes move: the same bytes under another shape
            shape_index = self.add_constant(f"{name}/{_perm_tag(perm)}/shape", np.array(new_shape, np.int32))
            self.add_node("RESHAPE", (value.index, shape_index), (out,), _reshape_options(new_shape))
        else:
            perm_index = self.add_constant(f"{name}/{_perm_tag(perm)}/perm", np.array(relative, np.int32))
            self.add_node("TRANSPOSE", (value.index, perm_index), (out,))
        self._layouts[key] = out
        return out

    def plain(self, name: str) -> int:
        rank = len(self.onnx_shape(name))
        return self.in_layout(name, tuple(range(rank)))

    def output(self, name: str) -> int:
        if self.is_shifted(name):  # held as int8 (zero point - 128): back to uint8, exactly
            index = self.plain(name)
            q = self.tensors[index].quant
            uint8 = QuantParams(q.scale, tuple(z + 128 for z in q.zero_point), q.axis)
            rank = len(self.tensors[index].shape)
            return self.emit("QUANTIZE", (index,), name, tuple(range(rank)), dtype="uint8", quant=uint8)
        if name in self.constants:
            raise UnsupportedOperatorError(f"graph output '{name}' is a constant; arielml needs computed outputs")
        return self.plain(name)

    # ---- nodes -----------------------------------------------------------------------------------
    def add_node(self, op: str, inputs, outputs, options=None) -> None:
        self.nodes.append(Node(op=op, inputs=tuple(inputs), outputs=tuple(outputs), options=options, index=self.index))

    def emit(self, op: str, inputs, out_name: str, perm, options=None, dtype: str | None = None,
             quant: QuantParams | None = None) -> int:
        """Add operator `op` with one output, shape inferred by the operator itself; ONNX value
        `out_name` becomes that output in layout `perm`."""
        from arielml.ops.registry import REGISTRY
        source = self.tensors[inputs[0]]
        dtype = dtype or source.dtype
        moves_integers = quant is None and dtype == source.dtype and dtype != "float32"
        if moves_integers:
            quant = source.quant  # data movement on integers keeps the quantisation (and a uint8 shift)
        out = self.add_tensor(out_name, (), dtype, quant=quant)
        if moves_integers and inputs[0] in self.shifted_tensors:
            self.shifted_tensors.add(out)
        node = Node(op=op, inputs=tuple(inputs), outputs=(out,), options=options, index=self.index)
        graph = Graph(tensors=tuple(self.tensors), nodes=(), inputs=(), outputs=())
        try:
            shape = REGISTRY[op].infer_shapes(node, graph)[0]
        except ArielError as e:
            raise self.unsupported(str(e)) from None
        self.tensors[out] = dataclasses.replace(self.tensors[out], shape=tuple(int(d) for d in shape))
        check_tensor_limits(out_name, self.tensors[out].shape, dtype)
        self.nodes.append(node)
        if out_name:
            self.set_value(out_name, out, perm)
        return out


def _perm_tag(perm: tuple[int, ...]) -> str:
    return "nhwc" if perm == NHWC else "perm" + "".join(str(a) for a in perm)


def _reshape_options(shape):
    from arielml.ops.shape import ReshapeOptions
    return ReshapeOptions(new_shape=tuple(int(d) for d in shape))


__all__ = ["load_onnx", "parse_onnx", "looks_like_onnx", "Builder", "Value", "NHWC", "NO_TENSOR"]
