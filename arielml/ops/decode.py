"""TFLM_DECODE: TFLite Micro's decoder of compressed constant tensors (custom code "TFLM_DECODE", made
by TFLite Micro's compression tool; LiteRT has no such operator, TFLite Micro's kernels are the
reference). Inputs come in pairs (encoded bytes, ancillary bytes: a 16-byte header - decode type,
version, per-type fields - then the type's tables), one output per pair: the decoded tensor, with the
original tensor's shape, type and quantisation.

Both inputs of every pair are constants, so arielml decodes them at load time (decode_constants,
called by the frontend): the outputs become plain constants and the operator disappears, as a
folded constant does (arielml/ir/fold.py). The device does no decoding; the cost is flash: the
decoded tensor is stored instead of the compressed one (docs/semantics.md has the numbers).

Decode types (TFLite Micro's decode_state_*.cc, read to learn the formats):
- LUT (0): w-bit indices (1..7), packed most significant bit first, each selecting a value from its
  channel's table (header byte 5: w; byte 6: table entries per channel). The channels are the
  output's quantisation channels: along axis 0 (runs of elements), or along the last axis
  (interleaved); one table when it is not quantised per channel. Output types: bool, int8, int16,
  int32, int64, float32.
- PRUNE (2): one bit per element (most significant first): 1 takes the next value of the table, 0 the
  zero point (int8: per channel when the zero points differ; other types need zero points of 0). A
  float32 tensor's values are copied as bits.
- HUFFMAN (1): a stream of 32-bit big-endian words walked through multi-level decode tables (16-bit
  table entries for int8, 32-bit for int8 or int16): each lookup reads a number of bits, an entry
  either holds the symbol (and how many of the bits read the codeword used; the rest are read again)
  or says how many more bits to read and where the next table starts.
A table index or value beyond the ancillary data, or a stream too short for the tensor (TFLite Micro
reads past its buffer then) is a corrupt file here."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from arielml.errors import ArielError, ModelFormatError
from arielml.ir import NO_TENSOR, Graph, Node, QuantParams
from arielml.ops.registry import OpDef, Semantics, register, unsupported

LUT, HUFFMAN, PRUNE = 0, 1, 2
HEADER_BYTES = 16
LUT_TYPES = ("bool", "int8", "int16", "int32", "int64", "float32")


@dataclass(frozen=True)
class DecodedTensor:
    kind: int
    dtype: str
    shape: tuple[int, ...]
    channels: int  # the output's quantisation channels (1: one table / zero point)
    interleaved: bool  # channels along the last axis (element i is in channel i % channels)
    zero_points: tuple[int, ...]
    what: str  # for error messages


@dataclass(frozen=True)
class DecodeParams:
    outputs: tuple[DecodedTensor, ...]


def _channels(node: Node, quant: QuantParams | None, shape: tuple, where: str) -> tuple[int, bool]:
    """TFLite Micro's channel rule: the output's scale count; channels on the last axis when there are
    several and the quantised dimension is the last, else the quantised dimension must be 0."""
    if quant is None:
        return 1, False
    channels = len(quant.scale)
    if channels > 1 and quant.axis == len(shape) - 1:
        return channels, True
    if quant.axis != 0:
        raise unsupported(node, f"{where}: quantised along axis {quant.axis}; TFLite Micro decodes only axis 0 "
                          "or the last axis")
    return channels, False


def _check(node: Node, graph: Graph) -> None:
    _prepare(node, graph, Semantics())


def _prepare(node: Node, graph: Graph, semantics: Semantics) -> DecodeParams:
    if len(node.inputs) != 2 * len(node.outputs) or not node.outputs:
        raise unsupported(node, f"{len(node.inputs)} inputs for {len(node.outputs)} outputs: TFLite Micro's decoder "
                          "takes an (encoded, ancillary) pair per output")
    outputs = []
    for k, t in enumerate(node.outputs):
        encoded, ancillary = (graph.tensors[node.inputs[2 * k + j]] for j in (0, 1))
        out = graph.tensors[t]
        what = f"output {k} ('{out.name}')"
        if not (encoded.is_constant and ancillary.is_constant and encoded.dtype in ("uint8", "int8")
                and ancillary.dtype in ("uint8", "int8")):
            raise unsupported(node, f"{what}: its encoded and ancillary inputs must be constant byte tensors (TFLite "
                              "Micro requires constants)")
        header = np.asarray(ancillary.data).reshape(-1).view(np.uint8)
        if header.size < HEADER_BYTES or header[1] != 1:
            raise ModelFormatError(f"TFLM_DECODE (operator #{node.index}) {what}: the ancillary data has no version-1 "
                                   "16-byte header (corrupt file)")
        kind = int(header[0])
        if kind not in (LUT, HUFFMAN, PRUNE):
            raise unsupported(node, f"{what}: decode type {kind} (TFLite Micro knows LUT 0, Huffman 1, prune 2; "
                              "custom types 127+ need the vendor's decoder)")
        allowed = {LUT: LUT_TYPES, PRUNE: LUT_TYPES, HUFFMAN: ("int8", "int16")}[kind]
        if out.dtype not in allowed:
            raise unsupported(node, f"{what}: {out.dtype}; TFLite Micro decodes {', '.join(allowed)} with decode type "
                              f"{kind}")
        channels, interleaved = _channels(node, out.quant, out.shape, what)
        zero_points = tuple(out.quant.zero_point) if out.quant is not None else (0,)
        if kind == PRUNE and out.dtype != "int8" and any(zero_points):
            raise unsupported(node, f"{what}: pruned {out.dtype} with non-zero zero points (TFLite Micro requires 0)")
        outputs.append(DecodedTensor(kind, out.dtype, tuple(out.shape), channels, interleaved, zero_points, what))
    return DecodeParams(tuple(outputs))


def _bits(data: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.asarray(data).reshape(-1).view(np.uint8))  # most significant bit first


def _corrupt(d: DecodedTensor, why: str) -> ModelFormatError:
    return ModelFormatError(f"TFLM_DECODE {d.what}: {why} (corrupt file)")


def _channel_of(d: DecodedTensor, count: int) -> np.ndarray:
    element = np.arange(count)
    return element % d.channels if d.interleaved else element // max(count // d.channels, 1)


def _values(d: DecodedTensor, ancillary: np.ndarray, itemsize: int) -> np.ndarray:
    raw = np.asarray(ancillary).reshape(-1).view(np.uint8)[HEADER_BYTES:]
    raw = raw[:raw.size - raw.size % itemsize]
    return raw.copy().view(np.dtype(d.dtype if d.dtype != "bool" else "uint8"))


def _decode_lut(d: DecodedTensor, encoded: np.ndarray, ancillary: np.ndarray) -> np.ndarray:
    header = np.asarray(ancillary).reshape(-1).view(np.uint8)
    width, stride = int(header[5]) & 0x07, int(header[6])
    count = int(np.prod(d.shape, dtype=np.int64))
    if width == 0:
        raise _corrupt(d, "a LUT index width of 0 bits")
    bits = _bits(encoded)
    if bits.size < count * width:
        raise _corrupt(d, f"{bits.size} bits of indices for {count} values of {width} bits")
    fields = bits[:count * width].reshape(count, width).astype(np.int64)
    indices = fields @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))
    table = _values(d, ancillary, np.dtype(d.dtype).itemsize)
    where = _channel_of(d, count) * stride + indices
    if count and int(where.max()) >= table.size:
        raise _corrupt(d, f"a LUT index reaches value {int(where.max())}, the tables hold {table.size}")
    return table[where]


def _decode_prune(d: DecodedTensor, encoded: np.ndarray, ancillary: np.ndarray) -> np.ndarray:
    count = int(np.prod(d.shape, dtype=np.int64))
    bits = _bits(encoded)
    if bits.size < count:
        raise _corrupt(d, f"{bits.size} mask bits for {count} values")
    kept = bits[:count].astype(bool)
    # TFLite Micro copies the values as same-sized integers (float32 as int32 bits, bool as int8)
    table = _values(d, ancillary, np.dtype(d.dtype).itemsize)
    if int(kept.sum()) > table.size:
        raise _corrupt(d, f"{int(kept.sum())} kept values, the table holds {table.size}")
    zero_points = np.asarray(d.zero_points, dtype=np.int64)
    per_channel = d.dtype == "int8" and d.channels > 1 and bool(zero_points.any())
    fill = zero_points[_channel_of(d, count)] if per_channel else np.full(count, zero_points[0])
    out = fill.astype(table.dtype) if d.dtype != "float32" else np.zeros(count, np.float32)
    out[kept] = table[:int(kept.sum())]
    return out


def _decode_huffman(d: DecodedTensor, encoded: np.ndarray, ancillary: np.ndarray) -> np.ndarray:
    header = np.asarray(ancillary).reshape(-1).view(np.uint8)
    wide = bool(header[5] & 0x01)
    first_bits = ((int(header[5]) & 0xF0) >> 4) + 1
    if not wide and d.dtype != "int8":
        raise _corrupt(d, "16-bit Huffman tables decode int8 only")
    entry = np.dtype("<u4" if wide else "<u2")
    raw = header[HEADER_BYTES:]
    table = raw[:raw.size - raw.size % entry.itemsize].copy().view(entry).astype(np.int64)
    found, count_shift = (1 << 31, 27) if wide else (1 << 15, 11)
    count_mask, value_mask = (0xF << count_shift), ((1 << count_shift) - 1)
    words = np.asarray(encoded).reshape(-1).view(np.uint8)
    words = words[:words.size // 4 * 4]  # TFLite Micro reads whole 32-bit words
    size = words.size * 8
    # the 32 bits from every bit position: TFLite Micro may read ahead of the last codeword (those
    # bits are read again, never used): zeros here
    padded = np.concatenate([words, np.zeros(8, np.uint8)]).astype(np.int64)
    five = sum(padded[j:j + padded.size - 4] << (8 * (4 - j)) for j in range(5))
    ahead = (five[np.arange(size + 1) >> 3] >> (8 - (np.arange(size + 1) & 7))) & 0xFFFFFFFF
    ahead = ahead.tolist()
    n = int(np.prod(d.shape, dtype=np.int64))
    out = np.zeros(n, dtype=np.int64)
    position = 0
    for i in range(n):
        used = first_bits
        offset = ahead[min(position, size)] >> (32 - used)
        position += used
        while True:
            if offset >= table.size:
                raise _corrupt(d, f"a Huffman table offset {offset} beyond its {table.size} entries")
            value = int(table[offset])
            if value & found:
                break
            used = ((value & count_mask) >> count_shift) + 1
            offset += (value & value_mask) + (ahead[min(position, size)] >> (32 - used) if position < size else 0)
            position += used
        out[i] = value & 0xFFFF  # TFLite Micro stores the entry into the element type (truncation)
        residual = (value & count_mask) >> count_shift
        if used > residual:  # bits read beyond the codeword are read again for the next value
            position -= used - residual
        if position > size:
            raise _corrupt(d, f"the Huffman stream ends inside value {i} of {n}")
    return out.astype(np.uint16).view(np.int16).astype(d.dtype) if d.dtype == "int16" else \
        out.astype(np.uint8).view(np.int8)


DECODERS = {LUT: _decode_lut, PRUNE: _decode_prune, HUFFMAN: _decode_huffman}


def _evaluate(p: DecodeParams, inputs: list) -> list:
    results = []
    for k, d in enumerate(p.outputs):
        flat = DECODERS[d.kind](d, inputs[2 * k], inputs[2 * k + 1])
        if d.dtype == "bool":
            flat = flat.astype(np.uint8) != 0  # TFLite Micro copies bytes: any non-zero byte is true
        results.append(np.asarray(flat).astype(np.dtype(d.dtype)).reshape(d.shape))
    return results


TFLM_DECODE = register(OpDef(
    name="TFLM_DECODE", custom_code="TFLM_DECODE", check=_check,
    infer_shapes=lambda node, graph: [tuple(graph.tensors[t].shape) for t in node.outputs],
    prepare=_prepare, evaluate=_evaluate, num_inputs=(2, None), num_outputs=(1, None)))


def decode_constants(graph: Graph) -> Graph:
    """Every TFLM_DECODE of the graph decoded into constants (its outputs get their data; the node
    goes). A node the checks refuse stays, so that the verifier reports it with its reason."""
    decoded = [n for n in graph.nodes if n.op == "TFLM_DECODE"]
    if not decoded:
        return graph
    tensors, kept, count = list(graph.tensors), [], 0
    for node in decoded:
        for t in node.inputs:
            # encoded and ancillary bytes are raw bytes: TFLite Micro's compression tool leaves the
            # original tensor's (now meaningless) quantisation on the encoded tensor
            if t != NO_TENSOR and tensors[t].quant is not None:
                tensors[t] = dataclasses.replace(tensors[t], quant=None)
    graph = dataclasses.replace(graph, tensors=tuple(tensors))
    for node in graph.nodes:
        if node.op != "TFLM_DECODE" or any(t == NO_TENSOR for t in node.inputs):
            kept.append(node)
            continue
        try:
            params = _prepare(node, graph, Semantics())
        except ArielError:
            kept.append(node)
            continue
        values = _evaluate(params, [tensors[t].data for t in node.inputs])
        for t, value in zip(node.outputs, values):
            value.setflags(write=False)
            tensors[t] = dataclasses.replace(tensors[t], data=value)
        count += 1
    note = (f"{count} TFLM_DECODE operator(s) decoded at load time: their compressed constants are stored "
            "decoded (no decoding on the device, more flash than the compressed form)")
    notes = graph.notes + (note,) if count else graph.notes
    return dataclasses.replace(graph, tensors=tuple(tensors), nodes=tuple(kept), notes=notes)
