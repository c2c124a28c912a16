"""TFLM_DECODE (TFLite Micro's decoder of compressed constants; LiteRT has none, TFLite Micro's
interpreter is the oracle): random tensors compressed here in the three formats TFLite Micro decodes
(LUT with 1-7 bit indices, per tensor and per channel on the first or last axis; prune bit masks
with per-channel zero points; Huffman with two-level 16- and 32-bit tables), decoded at load time by
arielml, bit-exact with what TFLite Micro's interpreter decodes at run time; a compressed
fully-connected layer equal to the uncompressed one natively (1-2 threads) and on two emulated rp2040
cores. The encoders below follow the formats of TFLite Micro's decode_state_*.cc (written here, not
TFLite Micro's tooling, which needs packages the test environment does not have)."""
from __future__ import annotations

import heapq

import numpy as np
import pytest

from arielml.errors import ArielError
from tests.op_harness import model_for
from tests.signal_cases import custom_op
from tests.tflite_builder import ModelBuilder

LUT, HUFFMAN, PRUNE = 0, 1, 2


def header(kind: int, user: bytes) -> bytes:
    return bytes([kind, 1, 0, 0]) + user + bytes(12 - len(user))


def lut_encode(values: np.ndarray, width: int, channels: int, interleaved: bool) -> tuple[bytes, bytes]:
    flat = values.reshape(-1)
    channel = np.arange(flat.size) % channels if interleaved else np.arange(flat.size) // (flat.size // channels)
    tables = [np.unique(flat[channel == c]) for c in range(channels)]
    stride = max(len(t) for t in tables)
    assert stride <= 1 << width
    indices = np.array([np.searchsorted(tables[c], v) for c, v in zip(channel, flat)], dtype=np.int64)
    bits = ((indices[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.uint8).reshape(-1)
    packed = np.packbits(bits).tobytes()
    padded = b"".join(np.pad(t, (0, stride - len(t))).astype(values.dtype).tobytes() for t in tables)
    return packed, header(LUT, bytes([1, width, stride])) + padded


def prune_encode(values: np.ndarray, zero_points: np.ndarray, channels: int, interleaved: bool):
    flat = values.reshape(-1)
    channel = np.arange(flat.size) % channels if interleaved else np.arange(flat.size) // (flat.size // channels)
    zp = zero_points[channel] if zero_points.size > 1 else np.full(flat.size, zero_points[0])
    kept = flat != zp.astype(flat.dtype)
    return np.packbits(kept.astype(np.uint8)).tobytes(), header(PRUNE, bytes([1])) + flat[kept].tobytes()


def huffman_code(symbols: np.ndarray) -> dict[int, str]:
    counts = {int(s): int(c) for s, c in zip(*np.unique(symbols, return_counts=True))}
    if len(counts) == 1:
        return {next(iter(counts)): "0"}
    heap = [(c, k, {s: ""}) for k, (s, c) in enumerate(counts.items())]
    heapq.heapify(heap)
    k = len(heap)
    while len(heap) > 1:
        c1, _, a = heapq.heappop(heap)
        c2, _, b = heapq.heappop(heap)
        merged = {s: "0" + code for s, code in a.items()} | {s: "1" + code for s, code in b.items()}
        heapq.heappush(heap, (c1 + c2, k, merged))
        k += 1
    return heap[0][2]


def huffman_encode(values: np.ndarray, wide: bool, first_bits: int) -> tuple[bytes, bytes]:
    """Two-level tables: a first lookup of first_bits bits; longer codewords continue in a subtable per
    first-level prefix. Entries: found bit, a 4-bit count (symbols: the bits of this lookup the
    codeword used; links: bits to read next, minus one), the symbol or the link's offset."""
    bits_of = 16 if values.dtype == np.int16 else 8
    symbols = values.reshape(-1).astype(np.int64) & ((1 << bits_of) - 1)
    code = huffman_code(symbols)
    found, shift = (1 << 31, 27) if wide else (1 << 15, 11)
    table = [0] * (1 << first_bits)
    long_codes: dict[int, list] = {}
    for symbol, word in code.items():
        if len(word) <= first_bits:
            for rest in range(1 << (first_bits - len(word))):
                table[(int(word, 2) << (first_bits - len(word))) | rest] = found | (len(word) << shift) | symbol
        else:
            long_codes.setdefault(int(word[:first_bits], 2), []).append((symbol, word[first_bits:]))
    for prefix, entries in long_codes.items():
        more = max(len(w) for _, w in entries)
        assert more <= 16
        start = len(table)
        table += [0] * (1 << more)
        for symbol, word in entries:
            for rest in range(1 << (more - len(word))):
                table[start + ((int(word, 2) << (more - len(word))) | rest)] = found | (len(word) << shift) | symbol
        table[prefix] = ((more - 1) << shift) | (start - prefix)
    stream = "".join(code[int(s)] for s in symbols)
    stream += "0" * (-len(stream) % 32)
    packed = int(stream, 2).to_bytes(len(stream) // 8, "big") if stream else b""
    entries = np.array(table, dtype=np.uint32 if wide else np.uint16).tobytes()
    return packed, header(HUFFMAN, bytes([1, ((first_bits - 1) << 4) | int(wide)])) + entries


def decode_model(pairs) -> bytes:
    """One TFLM_DECODE with several outputs, each a graph output; an unrelated input passes through
    ABS (every model needs an input)."""
    b = ModelBuilder()
    x, y = b.tensor((4,), "float32"), b.tensor((4,), "float32")
    b.op("ABS", [x], [y])
    inputs, outputs = [], []
    for encoded, ancillary, shape, dtype, quant in pairs:
        inputs += [b.tensor((len(encoded),), "uint8", data=np.frombuffer(encoded, np.uint8)),
                   b.tensor((len(ancillary),), "uint8", data=np.frombuffer(ancillary, np.uint8))]
        outputs.append(b.tensor(shape, dtype, quant=quant))
    custom_op(b, "TFLM_DECODE", inputs, outputs, {})
    return b.build([x], [y] + outputs)


def run_micro(model_bytes: bytes, count: int) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime
    it = runtime.Interpreter.from_bytes(model_bytes, arena_size=1 << 20)
    it.set_input(np.ones(4, np.float32), 0)
    assert it.invoke() == 0
    return [it.get_output(k).copy() for k in range(1, 1 + count)]


def random_tensor(rng, dtype: str, shape, distinct: int) -> np.ndarray:
    if dtype == "float32":
        pool = rng.normal(0, 1, distinct).astype(np.float32)
    elif dtype == "bool":
        pool = np.array([False, True])
    else:
        info = np.iinfo(dtype)
        pool = rng.integers(max(info.min, -(1 << 40)), min(info.max, 1 << 40), distinct, endpoint=True).astype(dtype)
    return pool[rng.integers(0, len(pool), shape)]


def quantization(rng, dtype: str, shape, channels_axis):
    if dtype not in ("int8", "int16", "int32", "int64") or channels_axis is None:
        return None, 1, False
    n = shape[channels_axis]
    zps = [0] * n if dtype != "int8" else [int(z) for z in rng.integers(-5, 5, n)]
    # one channel: quantised dimension 0 (TFLite Micro refuses one channel on another axis)
    return ([0.1] * n, zps, channels_axis if n > 1 else 0), n, channels_axis == len(shape) - 1 and n > 1


def lut_pair(rng):
    dtype = str(rng.choice(["int8", "int16", "int32", "int64", "float32", "bool"]))
    shape = tuple(int(s) for s in rng.integers(1, 7, int(rng.integers(1, 4))))
    width = int(rng.integers(1, 8))
    axis = None if rng.random() < 0.4 else int(rng.choice([0, len(shape) - 1]))
    quant, channels, interleaved = quantization(rng, dtype, shape, axis)
    values = random_tensor(rng, dtype, shape, min(1 << width, 2 if dtype == "bool" else 128))
    encoded, ancillary = lut_encode(values, width, channels, interleaved)
    return (encoded, ancillary, shape, dtype, quant), values


def prune_pair(rng):
    dtype = str(rng.choice(["int8", "int16", "int32", "int64", "float32"]))
    shape = tuple(int(s) for s in rng.integers(1, 9, int(rng.integers(1, 4))))
    axis = None if rng.random() < 0.3 else int(rng.choice([0, len(shape) - 1]))
    quant, channels, interleaved = quantization(rng, dtype, shape, axis)
    values = random_tensor(rng, dtype, shape, 50)
    zero_points = np.array(quant[1] if quant else [0])
    sparse = rng.random(shape) < 0.5
    channel_zp = (zero_points[np.indices(shape)[axis]] if quant and len(zero_points) > 1 else
                  np.full(shape, zero_points[0]))
    values = np.where(sparse, channel_zp.astype(values.dtype), values)
    encoded, ancillary = prune_encode(values, zero_points, channels, interleaved)
    return (encoded, ancillary, shape, dtype, quant), values


def huffman_pair(rng):
    wide = bool(rng.random() < 0.5)
    dtype = "int16" if wide and rng.random() < 0.5 else "int8"
    shape = tuple(int(s) for s in rng.integers(1, 12, int(rng.integers(1, 3))))
    values = random_tensor(rng, dtype, shape, int(rng.integers(1, 30)))
    encoded, ancillary = huffman_encode(values, wide, int(rng.integers(1, 6)))
    return (encoded, ancillary, shape, dtype, None), values


PAIRS = {"lut": lut_pair, "prune": prune_pair, "huffman": huffman_pair}


@pytest.mark.parametrize("kind", list(PAIRS))
def test_decode_matches_tflite_micro(kind):
    for seed in range(24):
        rng = np.random.default_rng(31_000 + 100 * list(PAIRS).index(kind) + seed)
        made = [PAIRS[kind](rng) for _ in range(int(rng.integers(1, 4)))]
        model_bytes = decode_model([pair for pair, _ in made])
        model = model_for(model_bytes)
        assert not any(n.op == "TFLM_DECODE" for n in model.graph.nodes), "decoded at load time"
        want = run_micro(model_bytes, len(made))
        got = model.run([np.ones(4, np.float32)])[1:]
        for k, (g, w, (_, values)) in enumerate(zip(got, want, made)):
            assert g.dtype == w.dtype and g.shape == w.shape, f"seed {seed} output {k}"
            assert np.array_equal(g.view(np.uint8), w.view(np.uint8)), f"seed {seed} output {k}"
            assert np.array_equal(g, values), f"seed {seed} output {k}: not the tensor that was encoded"


def compressed_fc(rng, compress: bool, units: int = 12, depth: int = 40) -> bytes:
    """input -> FULLY_CONNECTED whose per-channel int8 weights are LUT-compressed (4-bit, 16 values
    per output channel) when compress, plain constants otherwise."""
    weights = rng.integers(-127, 128, (units, 16)).astype(np.int8)
    weights = np.take_along_axis(weights, rng.integers(0, 16, (units, depth)), axis=1)
    b = ModelBuilder()
    x = b.tensor((1, depth), "int8", quant=(0.05, 3))
    w_quant = ([0.01] * units, [0] * units, 0)
    bias = b.tensor((units,), "int32", quant=([0.0005] * units, [0] * units, 0),
                    data=rng.integers(-900, 900, units).astype(np.int32))
    y = b.tensor((1, units), "int8", quant=(0.3, -2))
    if compress:
        encoded, ancillary = lut_encode(weights, 4, units, interleaved=False)
        w = b.tensor((units, depth), "int8", quant=w_quant)
        custom_op(b, "TFLM_DECODE", [b.tensor((len(encoded),), "uint8", data=np.frombuffer(encoded, np.uint8)),
                                     b.tensor((len(ancillary),), "uint8", data=np.frombuffer(ancillary, np.uint8))],
                  [w], {})
    else:
        w = b.tensor((units, depth), "int8", quant=w_quant, data=weights)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], "FullyConnectedOptions")
    return b.build([x], [y])


def _fc_pair(seed: int):
    plain = model_for(compressed_fc(np.random.default_rng(seed), compress=False))
    compressed = model_for(compressed_fc(np.random.default_rng(seed), compress=True))
    x = [np.random.default_rng(seed + 1).integers(-128, 128, (1, 40)).astype(np.int8)]
    return plain, compressed, x


@pytest.mark.parametrize("cores", [1, 2])
def test_compressed_fully_connected_natively_equals_uncompressed(cores):
    plain, compressed, x = _fc_pair(32_000 + cores)
    want = plain.run(x)
    assert np.array_equal(compressed.run(x)[0], want[0])
    assert np.array_equal(compressed.run(x, backend="native", cores=cores)[0], want[0])


@pytest.mark.cross
def test_compressed_fully_connected_emulated_rp2040_two_cores():
    plain, compressed, x = _fc_pair(33_000)
    assert np.array_equal(compressed.run(x, backend="emulator", target="rp2040", cores=2)[0], plain.run(x)[0])


def test_decode_refusals_name_the_reason():
    rng = np.random.default_rng(34_000)
    (encoded, ancillary, shape, dtype, quant), _ = lut_pair(rng)
    broken = bytearray(ancillary)
    broken[0] = 9  # an unknown decode type
    with pytest.raises(ArielError, match="decode type 9"):
        model_for(decode_model([(encoded, bytes(broken), shape, dtype, quant)]))
    values = random_tensor(rng, "int8", (8, 8), 16)
    encoded, ancillary = lut_encode(values, 4, 1, False)
    with pytest.raises(ArielError, match="bits of indices for 64 values"):  # 32 bytes of indices cut to 4
        model_for(decode_model([(encoded[:4], ancillary, (8, 8), "int8", None)]))


def test_decode_opcode_with_only_builtin_code_is_read():
    """TFLite Micro's compression tool writes the TFLM_DECODE opcode with builtin_code = CUSTOM and the
    deprecated field 0 (the tflite package's BuiltinCode() would read it as ADD)."""
    from ai_edge_litert import schema_py_generated as schema
    import flatbuffers
    rng = np.random.default_rng(35_000)
    (pair, values) = lut_pair(rng)
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(decode_model([pair]), 0))
    for code in model.operatorCodes:
        if code.customCode:
            code.deprecatedBuiltinCode = 0
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    model_bytes = bytes(builder.Output())
    got = model_for(model_bytes).run([np.ones(4, np.float32)])[1]
    assert np.array_equal(got.view(np.uint8), run_micro(model_bytes, 1)[0].view(np.uint8))
