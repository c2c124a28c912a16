"""TFLite flatbuffer -> Graph IR.

Parsing uses the `tflite` package's generated accessors. A corrupt or truncated file makes those
accessors fail in many ways (IndexError, struct errors, absurd sizes); every such failure becomes a
ModelFormatError that says the file is damaged. Lengths and tensor sizes are checked before anything
is allocated from them (see arielml.ir.verify.check_tensor_limits), so a damaged length field gives an
error, not a multi-gigabyte allocation or a loop over billions of entries. Operator options are read generically: the options
dataclass of each operator names the schema fields it needs.

The file itself is checked before a byte is read: only a regular file (a FIFO would block, a device
such as /dev/zero never ends) of at most MAX_MODEL_BYTES; it is memory-mapped, not read whole, so
parsing touches only the flatbuffer's tables and the weights, and everything kept is copied out.

A graph input that also carries constant data in the file is an input: its data is dropped (with a
note) and the caller's array is used, in the arena like any input. TFLite Micro does the same;
LiteRT lets `set_tensor` overwrite the constant in place, which writes into the model's bytes (it
crashes with SIGSEGV when the model was loaded from a read-only mapped file). Either way the caller's
value wins, so arielml gives that result without the crash."""
from __future__ import annotations

import dataclasses
import mmap
import os
import stat
from pathlib import Path

import numpy as np
import tflite
import flatbuffers
from flatbuffers import flexbuffers
from tflite.utils import BUILTIN_OPCODE2NAME

from arielml.errors import ArielError, ModelFormatError, UnsupportedOperatorError
from arielml.ir import NO_TENSOR, Graph, Node, QuantParams, Tensor
from arielml.ir.fold import fold_constants
from arielml.ir.shapes import fill_blank_output_shapes
from arielml.ir.state import attach_internal_state
from arielml.ops.decode import decode_constants
from arielml.ir.verify import check_tensor_limits
from arielml.ops.registry import REGISTRY
from arielml.passes.control_flow import inline_control_flow
from arielml.passes.resource_variables import resolve_resource_variables

# schema TensorType -> IR dtype name (others are reported as unsupported)
_TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8", 12: "uint64",
                 13: "resource", 15: "uint32", 16: "uint16"}  # resource: a variable handle, resolved by passes/resource_variables.py
_TENSOR_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_CUSTOM = 32


# Flatbuffers address at most 2 GiB (32-bit offsets); no microcontroller has a fraction of that
# flash, so anything larger is not a model for arielml, and reading it would only exhaust memory.
MAX_MODEL_BYTES = 2 << 30

_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def load_tflite(path: str | Path) -> Graph:
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading must not wait for a writer; fstat on the open file
        # (not stat on the path) so the checked file is the one read
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror or e}") from None
    try:
        info = os.fstat(fd)
        _check_model_file(path, info)
        try:
            mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # a file system without mmap: read it, the size is checked
            return parse_tflite(_read_at_most(fd, path, info.st_size), name=path.stem)
        try:
            return parse_tflite(mapped, name=path.stem)
        finally:
            try:
                mapped.close()
            except BufferError:  # a view of the mapping is still alive (an exception's frames): GC unmaps it
                pass
    finally:
        os.close(fd)


def _read_at_most(fd: int, path: Path, size: int) -> bytes:
    chunks, total = [], 0
    try:
        while total <= size:
            chunk = os.read(fd, min(1 << 20, size + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as e:
        raise ModelFormatError(f"cannot read model file {path}: {e.strerror or e}") from None
    return b"".join(chunks)


def _check_model_file(path: Path, info: os.stat_result) -> None:
    for is_kind, kind in _FILE_KINDS:
        if is_kind(info.st_mode):
            raise ModelFormatError(f"{path} is {kind}, not a model file; give a .tflite file")
    if not stat.S_ISREG(info.st_mode):
        raise ModelFormatError(f"{path} is not a regular file; give a .tflite file")
    if info.st_size == 0:
        raise ModelFormatError(f"{path} is empty (0 bytes); give a .tflite file")
    if info.st_size > MAX_MODEL_BYTES:
        raise ModelFormatError(
            f"{path} is {info.st_size:,} bytes; arielml reads model files up to {MAX_MODEL_BYTES:,} bytes "
            "(2 GiB, the flatbuffer limit; a microcontroller model is far smaller): is this the right file?")


def parse_tflite(data, name: str = "model") -> Graph:
    """Parse a TFLite flatbuffer from any bytes-like object (bytes, bytearray, memoryview, mmap).
    Nothing in the returned Graph refers to `data`: constant tensors are copies."""
    if len(data) < 8 or bytes(data[4:8]) != b"TFL3":
        raise ModelFormatError(
            f"{name}: not a TFLite model (no 'TFL3' identifier); give a .tflite flatbuffer file")
    if len(data) > MAX_MODEL_BYTES:
        raise ModelFormatError(f"{name}: the model is {len(data):,} bytes; arielml reads models up to "
                               f"{MAX_MODEL_BYTES:,} bytes (2 GiB, the flatbuffer limit)")
    try:
        return _parse(data, name)
    except ArielError:
        raise
    except Exception as e:  # damaged flatbuffer: the accessors fail in many different ways
        raise ModelFormatError(
            f"{name}: the model file is corrupt or truncated ({type(e).__name__} while parsing); "
            "re-export it from the converter") from e


def _parse(buf, name: str) -> Graph:
    model = tflite.Model.GetRootAs(buf, 0)
    count = _checked_len(model.SubgraphsLength(), buf)
    if count < 1:
        raise ModelFormatError(f"{name}: the model has no subgraph")
    notes: list[str] = []
    buffers = _BufferReader(model, buf)
    opcodes = [_opcode_name(model.OperatorCodes(i)) for i in range(_checked_len(model.OperatorCodesLength(), buf))]
    # every subgraph is read (IF, WHILE and CALL_ONCE name them by index); the main one is 0
    graphs = [_read_subgraph(model.Subgraphs(k), k, buf, buffers, opcodes, name, notes) for k in range(count)]
    graph = dataclasses.replace(graphs[0], notes=tuple(dict.fromkeys(notes)))
    if count > 1:
        # one tuple, shared by the main graph and every subgraph (so that nested control flow finds
        # its subgraphs too), slot 0 None: tied once here, while the graphs are being made
        subgraphs = (None,) + tuple(graphs[1:])
        for sub in subgraphs[1:]:
            object.__setattr__(sub, "subgraphs", subgraphs)
        graph = dataclasses.replace(graph, subgraphs=subgraphs)
    graph = resolve_resource_variables(inline_control_flow(graph))  # each returns a graph without them as is
    # TFLite Micro's compressed constants (TFLM_DECODE) are decoded here, before folding sees them
    return fold_constants(fill_blank_output_shapes(attach_internal_state(decode_constants(graph))))


def _read_subgraph(subgraph, number: int, buf, buffers: "_BufferReader", opcodes: list[str], name: str,
                   notes: list[str]) -> Graph:
    where = name if number == 0 else f"{name} (subgraph {number})"
    tensors = tuple(
        _read_tensor(subgraph.Tensors(i), i, buffers, notes) for i in range(_checked_len(subgraph.TensorsLength(), buf)))
    nodes = []
    for index in range(_checked_len(subgraph.OperatorsLength(), buf)):
        op = subgraph.Operators(index)
        code = op.OpcodeIndex()
        if code >= len(opcodes):
            raise ModelFormatError(f"{where}: operator #{index} names opcode {code}, the model has {len(opcodes)}")
        inputs = tuple(int(t) for t in _int_vector(op.InputsAsNumpy()))
        outputs = tuple(int(t) for t in _int_vector(op.OutputsAsNumpy()))
        for t in inputs + outputs:
            if t != NO_TENSOR and not 0 <= t < len(tensors):
                raise ModelFormatError(f"{where}: operator #{index} refers to tensor {t}, the model has {len(tensors)}")
        op_name = opcodes[code]
        options = _with_intermediates(_read_options(op, op_name, index), op, tensors, where, index)
        nodes.append(Node(op=op_name, inputs=inputs, outputs=outputs, options=options, index=index))

    graph_inputs = tuple(int(t) for t in _int_vector(subgraph.InputsAsNumpy()))
    graph_outputs = tuple(int(t) for t in _int_vector(subgraph.OutputsAsNumpy()))
    for t in graph_inputs + graph_outputs:
        if not 0 <= t < len(tensors):
            raise ModelFormatError(f"{where}: graph input/output tensor {t} does not exist")
    tensors = _inputs_without_data(tensors, graph_inputs, notes)
    tensors = _outputs_of_stateful_operators(tensors, nodes)
    sub_name = name if number == 0 else f"{name}_subgraph{number}"
    return Graph(tensors=tensors, nodes=tuple(nodes), inputs=graph_inputs, outputs=graph_outputs, name=sub_name)


def _inputs_without_data(tensors: tuple[Tensor, ...], graph_inputs: tuple[int, ...],
                         notes: list[str]) -> tuple[Tensor, ...]:
    """A graph input with constant data in the file is an input (see the module docstring)."""
    constant_inputs = [t for t in dict.fromkeys(graph_inputs) if tensors[t].is_constant]
    if not constant_inputs:
        return tensors
    result = list(tensors)
    for t in constant_inputs:
        result[t] = dataclasses.replace(tensors[t], data=None)
        notes.append(f"graph input '{tensors[t].name}' carries constant data in the file; it is used as an "
                     "input (the caller's values replace the data, as in TFLite Micro)")
    return tuple(result)


def _outputs_of_stateful_operators(tensors: tuple[Tensor, ...], nodes: list[Node]) -> tuple[Tensor, ...]:
    """An operator output the file marks variable, where the operator keeps its state itself
    (OpDef.internal_state): TFLite Micro's CIRCULAR_BUFFER keeps its window in its own output, marked
    variable so that TFLite Micro's planner never reuses those bytes. arielml keeps that window as the
    operator's hidden state, so the output is read as a plain activation."""
    owned = [t for node in nodes if REGISTRY.get(node.op) is not None and REGISTRY[node.op].internal_state
             is not None for t in node.outputs if t != NO_TENSOR and tensors[t].variable]
    if not owned:
        return tensors
    result = list(tensors)
    for t in owned:
        result[t] = dataclasses.replace(tensors[t], variable=False)
    return tuple(result)


def _checked_len(length: int, buf) -> int:
    # every vector element takes at least 4 bytes; a larger count means a damaged length field
    if length < 0 or length * 4 > len(buf):
        raise ModelFormatError("a vector length in the model exceeds the file size (corrupt file)")
    return length


def _int_vector(v) -> np.ndarray:
    return np.zeros(0, dtype=np.int32) if isinstance(v, int) else np.asarray(v)


def _builtin_code_field(opcode) -> int:
    """The int32 builtin_code field as stored. The tflite package's BuiltinCode() returns the
    deprecated field instead whenever builtin_code < 127, so a file that fills only builtin_code (TFLite
    Micro's compression tool writes its TFLM_DECODE opcode so: CUSTOM = 32, deprecated 0) would read as
    ADD (0); TFLite and TFLite Micro take the larger of the two fields."""
    table = opcode._tab
    offset = table.Offset(10)  # builtin_code: the schema's fourth field (vtable slot 10)
    return int(table.Get(flatbuffers.number_types.Int32Flags, offset + table.Pos)) if offset else 0


def _opcode_name(opcode) -> str:
    # The schema has two opcode fields: an int8 `deprecated_builtin_code` (codes < 127) and an
    # int32 `builtin_code`; converters fill both, old files only the first. The larger one wins.
    code = max(int(opcode.DeprecatedBuiltinCode()), _builtin_code_field(opcode))
    if code == _CUSTOM:
        custom = opcode.CustomCode()
        name = custom.decode(errors="replace") if custom else "?"
        # custom operators arielml implements declare their custom code in their OpDef
        known = {op.custom_code: op.name for op in REGISTRY.values() if op.custom_code is not None}
        return known.get(name, f"CUSTOM:{name}")
    return BUILTIN_OPCODE2NAME.get(code, f"UNKNOWN_OPCODE_{code}")


class _BufferReader:
    def __init__(self, model, buf):
        self.model = model
        self.buf = buf
        self.count = _checked_len(model.BuffersLength(), buf)

    def read(self, index: int) -> np.ndarray | None:
        if index == 0 or index >= self.count:
            return None
        b = self.model.Buffers(index)
        if b is None:
            return None
        if b.Offset() > 1:  # large models keep buffers after the flatbuffer, addressed by offset
            start, size = int(b.Offset()), int(b.Size())
            if start + size > len(self.buf):
                raise ModelFormatError("a weight buffer lies beyond the end of the file (truncated file)")
            return np.frombuffer(bytes(self.buf[start:start + size]), dtype=np.uint8)
        raw = b.DataAsNumpy()
        if isinstance(raw, int) or len(raw) == 0:
            return None
        return np.asarray(raw, dtype=np.uint8)


def _read_tensor(t, index: int, buffers: _BufferReader, notes: list[str]) -> Tensor:
    name = (t.Name() or b"").decode(errors="replace") or f"tensor_{index}"
    type_code = int(t.Type())
    if type_code not in _TENSOR_TYPES:
        raise UnsupportedOperatorError(
            f"tensor '{name}' has type {_TENSOR_TYPE_NAMES.get(type_code, type_code)}, which arielml does not support")
    dtype = _TENSOR_TYPES[type_code]
    raw_shape = _int_vector(t.ShapeAsNumpy())
    if len(raw_shape) > 64:  # checked properly below; a damaged length must not build a huge list first
        raise ModelFormatError(f"tensor '{name}' has {len(raw_shape)} dimensions (corrupt file)")
    shape = [int(d) for d in raw_shape]
    signature = [int(d) for d in _int_vector(t.ShapeSignatureAsNumpy())]
    # -1 means "dynamic" (in practice the batch): read as 1. Any other negative size means nothing in
    # the schema; reading it as 1 too would run a model that is not the one the file describes.
    for what, dims in (("shape", shape), ("shape signature", signature)):
        if any(d < -1 for d in dims):
            raise ModelFormatError(
                f"tensor '{name}' has a negative dimension in its {what} {tuple(dims)}; only -1 (dynamic) is "
                "allowed (corrupt file; re-export it from the converter)")
    if signature and len(signature) == len(shape):
        for axis, d in enumerate(signature):
            if d == -1:
                if shape[axis] in (-1, 0, 1):
                    shape[axis] = 1
                notes.append("dynamic dimensions (-1) are treated as 1 (batch of one)")
    if any(d == -1 for d in shape):
        shape = [1 if d == -1 else d for d in shape]
        notes.append("dynamic dimensions (-1) are treated as 1 (batch of one)")
    check_tensor_limits(name, tuple(shape), dtype)
    quant = _read_quant(t.Quantization())
    if quant is not None and quant.per_channel and len(shape) == 1 and quant.axis != 0:
        quant = dataclasses.replace(quant, axis=0)  # a 1-D tensor has one axis, whatever the file says
    raw = buffers.read(int(t.Buffer()))
    data = None
    variable = bool(t.IsVariable())
    if variable and raw is not None:
        # LiteRT and TFLite Micro both ignore a variable's buffer and start it from its reset value
        notes.append(f"variable tensor '{name}' carries data in the file; it starts from zero (its zero point "
                     "for int8), as in LiteRT and TFLite Micro")
        raw = None
    if raw is not None:
        np_dtype = np.dtype(dtype).newbyteorder("<")
        count = int(np.prod(shape, dtype=np.int64))
        if raw.size != count * np_dtype.itemsize:
            raise ModelFormatError(
                f"constant tensor '{name}' has {raw.size} bytes of data, its shape {tuple(shape)} needs "
                f"{count * np_dtype.itemsize} (corrupt file)")
        data = raw.view(np_dtype).astype(np.dtype(dtype)).reshape(shape)
        data.setflags(write=False)
    return Tensor(name=name, shape=tuple(shape), dtype=dtype, quant=quant, data=data, variable=variable)


def _read_quant(q) -> QuantParams | None:
    if q is None:
        return None
    scale = q.ScaleAsNumpy()
    zero_point = q.ZeroPointAsNumpy()
    if isinstance(scale, int) or len(scale) == 0:
        return None
    zp = [0] * len(scale) if isinstance(zero_point, int) or len(zero_point) == 0 else [int(z) for z in zero_point]
    if len(zp) == 1 and len(scale) > 1:
        zp = zp * len(scale)
    if len(zp) != len(scale):
        raise ModelFormatError("quantisation parameters have different numbers of scales and zero points")
    return QuantParams(scale=tuple(float(s) for s in scale), zero_point=tuple(zp), axis=int(q.QuantizedDimension()))


def _camel(field: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in field.split("_"))


def _with_intermediates(options, op, tensors, where: str, index: int):
    """An options type with an `intermediates` field (UNIDIRECTIONAL_SEQUENCE_LSTM) gets the
    quantisation of the operator's intermediate tensors, ((scale, zero point) or None, ...): the
    converter records there scales that LiteRT's integer kernels read."""
    if options is None or "intermediates" not in {f.name for f in dataclasses.fields(options)}:
        return options
    found = []
    for t in _int_vector(op.IntermediatesAsNumpy()):
        if not 0 <= int(t) < len(tensors):
            raise ModelFormatError(f"{where}: operator #{index} names intermediate tensor {int(t)}, the model has "
                                   f"{len(tensors)}")
        quant = tensors[int(t)].quant
        found.append(None if quant is None or quant.per_channel else (quant.single_scale, quant.single_zero_point))
    return dataclasses.replace(options, intermediates=tuple(found))


def _read_options(op, op_name: str, index: int):
    opdef = REGISTRY.get(op_name)
    if opdef is None or opdef.options_type is None:
        return None
    if opdef.tflite_options == "flexbuffers":
        return _read_custom_options(op, opdef, op_name, index)
    values = {}
    table = op.BuiltinOptions()
    options = None
    if table is not None and opdef.tflite_options is not None:
        expected = getattr(tflite.BuiltinOptions, opdef.tflite_options, None)
        if expected is not None and int(op.BuiltinOptionsType()) != expected:
            raise ModelFormatError(f"{op_name} (operator #{index}) carries options of the wrong type "
                                   f"({int(op.BuiltinOptionsType())}, expected {expected}) (corrupt file)")
        options = getattr(tflite, opdef.tflite_options)()
        options.Init(table.Bytes, table.Pos)
    for f in dataclasses.fields(opdef.options_type):
        if options is None or f.metadata.get("compiler_only"):
            continue  # absent options table: dataclass defaults are the schema defaults; compiler fields: ours
        if str(f.type).startswith("tuple"):  # vector fields are read whole
            vector = getattr(options, _camel(f.name) + "AsNumpy")()
            values[f.name] = tuple(int(v) for v in _int_vector(vector))
            continue
        value = getattr(options, _camel(f.name))()
        if isinstance(value, (bool, np.bool_)):
            value = bool(value)
        elif isinstance(value, (int, np.integer)) and f.type not in ("bool",):
            value = int(value)
        values[f.name] = value
    return opdef.options_type(**values)


def _read_custom_options(op, opdef, op_name: str, index: int):
    """A custom operator's options: a flexbuffer map in custom_options, read by the options
    dataclass's field names (absent keys keep the defaults; floats are read as float32, as TFLite's
    AsFloat does)."""
    raw = op.CustomOptionsAsNumpy()
    if isinstance(raw, int) or len(raw) == 0:
        return opdef.options_type()
    try:
        values = flexbuffers.Loads(bytes(raw))
    except Exception as e:  # damaged bytes fail in many ways inside the flexbuffer reader
        raise ModelFormatError(f"{op_name} (operator #{index}): its custom options are not a valid flexbuffer "
                               "(corrupt file)") from e
    if not isinstance(values, dict):
        raise ModelFormatError(f"{op_name} (operator #{index}): its custom options are not a flexbuffer map "
                               "(corrupt file)")
    read = {"bool": bool, "int": int, "float": lambda v: float(np.float32(v))}
    kwargs = {}
    for f in dataclasses.fields(opdef.options_type):
        value = values.get(f.name)
        if value is None:
            continue
        try:
            kwargs[f.name] = read[str(f.type)](value)
        except (TypeError, ValueError) as e:
            raise ModelFormatError(f"{op_name} (operator #{index}): custom option '{f.name}' is {value!r}, not a "
                                   f"{f.type} (corrupt file)") from e
    return opdef.options_type(**kwargs)
