"""ConvInteger and MatMulInteger (ONNX QOperator ops with int32 outputs): y = sum (a - a_zp) (w - w_zp).

No int8 kernel writes int32 accumulators, so they run as a float32 island whose every value is an
integer below 2^24 in magnitude: a - a_zp exactly (a reinterpretation with scale 1 and zero point
a_zp, then DEQUANTIZE), the float32 CONV_2D / FULLY_CONNECTED with weights w - w_zp, and a CAST to
int32. Each partial sum of an output is bounded by max|a - a_zp| * sum|w - w_zp| over its window;
when that bound is below 2^24 every partial sum is exact in float32 whatever the summation order, so
the int32 result equals onnxruntime's on every backend. A larger window is refused by name."""
from __future__ import annotations

import numpy as np

from arielml.frontend.onnx import Builder, _reshape_options
from arielml.ir import QuantParams

EXACT_LIMIT = 1 << 24  # float32 holds every integer of magnitude <= 2^24


def _zero_point(b: Builder, name: str, what: str) -> np.ndarray | None:
    if not name:
        return None
    value = b.constant(name)
    if value is None:
        raise b.unsupported(f"the {what} zero point must be a constant")
    return value


def _integer_product(float_op: str, weight_axis: int):
    def convert(b: Builder, node, attrs) -> None:
        import onnx
        from arielml.frontend.onnx_ops import CONVERTERS
        inputs = list(node.input) + [""] * (4 - len(node.input))
        a, w_name, a_zero, w_zero = inputs[:4]
        weights = b.constant(w_name)
        if weights is None or weights.dtype not in (np.int8, np.uint8):
            raise b.unsupported("the weights (second input) must be a constant int8 or uint8 tensor")
        if a in b.constants:
            raise b.unsupported(f"input '{a}' is a constant where arielml needs a computed tensor")
        a_dtype = "uint8" if b.is_shifted(a) else b.dtype(a)
        if a_dtype not in ("int8", "uint8"):
            raise b.unsupported(f"the first input is {a_dtype} (int8, uint8)")
        azp = _zero_point(b, a_zero, "input")
        if azp is not None and azp.size != 1:
            raise b.unsupported("per-row zero points of the first input are not supported")
        azp = 0 if azp is None else int(azp.reshape(-1)[0])
        wzp = _zero_point(b, w_zero, "weight")
        centred = weights.astype(np.int64)
        if wzp is not None:
            if wzp.size == 1:
                centred = centred - int(wzp.reshape(-1)[0])
            else:
                shape = [1] * weights.ndim
                shape[weight_axis] = -1
                centred = centred - wzp.astype(np.int64).reshape(shape)
        info = np.iinfo(a_dtype)
        a_max = max(abs(info.min - azp), abs(info.max - azp))
        reduced = tuple(d for d in range(weights.ndim) if d != weight_axis)
        bound = a_max * (np.abs(centred).sum(axis=reduced).max() if centred.size else 0)
        if bound >= EXACT_LIMIT:
            raise b.unsupported(f"the int32 sums may reach {bound}: arielml computes {node.op_type} exactly in "
                                f"float32 only below 2^24 (a smaller window or smaller weights)")
        # a - a_zp exactly: the stored integers read with scale 1 and zero point a_zp (uint8 held as
        # int8 is q - 128, so its zero point moves by -128 too)
        value = b.value(a)
        source = b.tensors[value.index]
        stored_zp = azp - 128 if b.is_shifted(a) else azp
        shape = tuple(source.shape)
        shape_index = b.add_constant(f"{node.output[0]}/a/shape", np.array(shape, np.int32))
        viewed = b.emit("RESHAPE", (value.index, shape_index), f"{node.output[0]}/a_view", value.perm, _reshape_options(shape),
                        dtype=source.dtype, quant=QuantParams((1.0,), (stored_zp,), 0))
        a_float = f"{node.output[0]}/a_centred"
        b.emit("DEQUANTIZE", (viewed,), a_float, value.perm, dtype="float32")
        w_float = f"{w_name}/centred_float32"
        b.constants[w_float] = centred.astype(np.float32)
        product = f"{node.output[0]}/float32"
        kept = {k: v for k, v in attrs.items() if k != "opset"}
        float_node = onnx.helper.make_node(float_op, [a_float, w_float], [product], name=node.name, **kept)
        CONVERTERS[float_op](b, float_node, kept)
        result = b.value(product)
        b.emit("CAST", (result.index,), node.output[0], result.perm, dtype="int32")
        note = (f"{node.op_type} runs as float32 CONV_2D / FULLY_CONNECTED on exact integers (every sum below "
                "2^24) and a CAST to int32: bit-exact with onnxruntime under both semantics")
        if note not in b.notes:
            b.notes.append(note)
    return convert


def install(converters: dict) -> None:
    # weight zero points run along the output: Conv's axis 0 (M, C, kH, kW), MatMul's axis 1 (K, N)
    converters["ConvInteger"] = _integer_product("Conv", 0)
    converters["MatMulInteger"] = _integer_product("MatMul", 1)
