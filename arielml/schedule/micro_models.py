"""Micro-models for calibrating the cost model: small graphs whose operators cover one cost family
each at several shapes (long and short inner loops, few and many channels, padding and strides).

Built directly as IR (no .tflite file): each operator reads its own graph input and writes its own
graph output, so one firmware build measures several operators, each timed by the runtime's trace.
Shapes stay small enough for every board's SRAM (the inputs and outputs of one micro-model are all
live at once). Data are random but seeded: timings of these kernels do not depend on the values."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from arielml.ir import Graph, Node, QuantParams, Tensor
from arielml.ops.common import PADDING_SAME, PADDING_VALID
from arielml.ops.conv import Conv2DOptions, DepthwiseConv2DOptions
from arielml.ops.elementwise import AddSubOptions, MulOptions
from arielml.ops.fully_connected import FullyConnectedOptions
from arielml.ops.pool import Pool2DOptions
from arielml.ops.softmax import SoftmaxOptions

SAME, VALID = PADDING_SAME, PADDING_VALID


@dataclass
class GraphBuilder:
    """Collects tensors and nodes; `activation(shape)` adds a graph input."""

    name: str
    seed: int = 0
    tensors: list[Tensor] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def _add(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def activation(self, shape: tuple[int, ...], dtype: str = "int8", scale: float = 0.05, zero_point: int = -3) -> int:
        quant = None if dtype == "float32" else QuantParams((scale,), (zero_point,))
        index = self._add(Tensor(f"in{len(self.inputs)}", tuple(shape), dtype, quant))
        self.inputs.append(index)
        return index

    def constant(self, data: np.ndarray, dtype: str, quant: QuantParams | None = None) -> int:
        array = np.ascontiguousarray(data.astype(dtype))
        array.setflags(write=False)
        return self._add(Tensor(f"c{len(self.tensors)}", tuple(array.shape), dtype, quant, array))

    def weights(self, shape: tuple[int, ...], axis: int, dtype: str) -> tuple[int, tuple[float, ...]]:
        if dtype == "float32":
            return self.constant(self.rng.normal(0, 0.1, shape), "float32"), ()
        scales = tuple(float(s) for s in self.rng.uniform(0.004, 0.02, shape[axis]))
        data = self.rng.integers(-127, 128, shape)
        return self.constant(data, "int8", QuantParams(scales, (0,) * len(scales), axis)), scales

    def bias(self, in_scale: float, scales: tuple[float, ...], count: int, dtype: str) -> int:
        if dtype == "float32":
            return self.constant(self.rng.normal(0, 0.1, count), "float32")
        bias_scales = tuple(in_scale * s for s in scales)
        return self.constant(self.rng.integers(-2000, 2000, count), "int32",
                             QuantParams(bias_scales, (0,) * count, 0))

    def node(self, op: str, inputs: tuple[int, ...], out_shape: tuple[int, ...], options, dtype: str = "int8",
             out_scale: float = 0.1, out_zero_point: int = 5) -> int:
        quant = None if dtype == "float32" else QuantParams((out_scale,), (out_zero_point,))
        out = self._add(Tensor(f"out{len(self.nodes)}", tuple(out_shape), dtype, quant))
        self.nodes.append(Node(op, tuple(inputs), (out,), options, len(self.nodes)))
        self.outputs.append(out)
        return out

    def graph(self) -> Graph:
        return Graph(tuple(self.tensors), tuple(self.nodes), tuple(self.inputs), tuple(self.outputs), self.name)


def _out_size(size: int, filter_size: int, stride: int, padding: int) -> int:
    return -(-size // stride) if padding == SAME else (size - filter_size) // stride + 1


def add_conv(b: GraphBuilder, h: int, w: int, cin: int, cout: int, kh: int, kw: int, stride: int = 1,
             padding: int = SAME, dtype: str = "int8") -> None:
    x = b.activation((1, h, w, cin), dtype)
    weights, scales = b.weights((cout, kh, kw, cin), 0, dtype)
    bias = b.bias(0.05, scales, cout, dtype)
    shape = (1, _out_size(h, kh, stride, padding), _out_size(w, kw, stride, padding), cout)
    b.node("CONV_2D", (x, weights, bias), shape, Conv2DOptions(padding, stride, stride, 1), dtype,
           out_scale=0.05 * 0.012 * np.sqrt(kh * kw * cin) * 20)


def add_depthwise(b: GraphBuilder, h: int, w: int, c: int, k: int, stride: int = 1, padding: int = SAME,
                  multiplier: int = 1, dtype: str = "int8") -> None:
    x = b.activation((1, h, w, c), dtype)
    cout = c * multiplier
    weights, scales = b.weights((1, k, k, cout), 3, dtype)
    bias = b.bias(0.05, scales, cout, dtype)
    shape = (1, _out_size(h, k, stride, padding), _out_size(w, k, stride, padding), cout)
    b.node("DEPTHWISE_CONV_2D", (x, weights, bias), shape,
           DepthwiseConv2DOptions(padding, stride, stride, multiplier, 1), dtype, out_scale=0.05 * 0.012 * k * 20)


def add_fully_connected(b: GraphBuilder, rows: int, depth: int, units: int, dtype: str = "int8") -> None:
    x = b.activation((rows, depth), dtype)
    weights, scales = b.weights((units, depth), 0, dtype)
    bias = b.bias(0.05, scales, units, dtype)
    b.node("FULLY_CONNECTED", (x, weights, bias), (rows, units), FullyConnectedOptions(1), dtype,
           out_scale=0.05 * 0.012 * np.sqrt(depth) * 20)


def add_pool(b: GraphBuilder, op: str, h: int, w: int, c: int, k: int, stride: int, padding: int = VALID,
             dtype: str = "int8") -> None:
    x = b.activation((1, h, w, c), dtype)
    shape = (1, _out_size(h, k, stride, padding), _out_size(w, k, stride, padding), c)
    b.node(op, (x,), shape, Pool2DOptions(padding, stride, stride, k, k, 0), dtype, out_scale=0.05, out_zero_point=-3)


def add_binary(b: GraphBuilder, op: str, shape: tuple[int, ...], dtype: str = "int8") -> None:
    x = b.activation(shape, dtype)
    y = b.activation(shape, dtype, scale=0.04, zero_point=7)
    options = AddSubOptions(0) if op in ("ADD", "SUB") else MulOptions(0)
    b.node(op, (x, y), shape, options, dtype, out_scale=0.1 if op != "MUL" else 0.01)


def add_softmax(b: GraphBuilder, rows: int, cols: int, dtype: str = "int8") -> None:
    x = b.activation((rows, cols), dtype)
    b.node("SOFTMAX", (x,), (rows, cols), SoftmaxOptions(1.0), dtype, out_scale=1 / 256, out_zero_point=-128)


def micro_models() -> tuple[Graph, ...]:
    """The calibration set: (family, shapes) chosen to vary each cost feature independently."""
    conv = GraphBuilder("calib_conv", 1)
    for args in [(25, 10, 1, 16, 10, 4, 2), (12, 12, 3, 16, 3, 3, 2), (10, 10, 8, 16, 3, 3, 1),
                 (8, 8, 16, 32, 3, 3, 1), (6, 6, 32, 16, 3, 3, 1), (9, 9, 4, 8, 5, 5, 1, VALID),
                 (16, 16, 2, 8, 3, 3, 1), (20, 8, 1, 32, 4, 4, 2), (7, 7, 24, 24, 3, 3, 2), (14, 6, 6, 40, 3, 1, 1),
                 (10, 10, 16, 16, 3, 3, 1, VALID), (24, 24, 3, 8, 3, 3, 2, VALID),
                 # first layers (<= 3 input channels: family CONV_2D_FEW_IN), sized like kws's and VWW's
                 (49, 10, 1, 64, 10, 4, 2), (48, 48, 3, 8, 3, 3, 2), (32, 32, 3, 16, 3, 3, 2, VALID),
                 (40, 10, 1, 16, 8, 4, 1), (20, 20, 2, 24, 3, 3, 1)]:
        add_conv(conv, *args)
    pointwise = GraphBuilder("calib_conv_1x1", 2)
    # the last rows: MobileNet-sized layers (long rows, many work items per channel block), where the
    # ISA-specific kernels' per-block set-up spreads over more pixels than in the small ones
    for args in [(8, 8, 16, 16), (5, 5, 64, 64), (6, 6, 8, 32), (4, 4, 128, 16), (10, 10, 4, 24), (3, 3, 96, 48),
                 (12, 12, 32, 64, 2), (24, 24, 16, 32), (12, 12, 64, 64), (20, 6, 48, 48)]:
        add_conv(pointwise, *args[:4], 1, 1, *args[4:])
    depthwise = GraphBuilder("calib_depthwise", 3)
    for args in [(25, 5, 64, 3), (12, 12, 8, 3), (10, 10, 32, 3, 2), (6, 6, 128, 3), (9, 9, 16, 5),
                 (16, 16, 3, 3), (8, 8, 24, 3, 1, VALID), (40, 40, 8, 3), (30, 30, 16, 3, 2), (20, 20, 32, 3)]:
        add_depthwise(depthwise, *args)
    fully_connected = GraphBuilder("calib_fully_connected", 4)
    for args in [(1, 16, 16), (1, 1, 16), (1, 64, 12), (1, 640, 10), (1, 256, 128), (1, 32, 256), (4, 128, 32),
                 (1, 1024, 8)]:
        add_fully_connected(fully_connected, *args)
    pool = GraphBuilder("calib_pool", 5)
    for op in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for args in [(25, 5, 64, 25, 25), (12, 12, 16, 2, 2), (8, 8, 32, 3, 1), (6, 6, 128, 6, 6), (16, 16, 3, 2, 2)]:
            h, w, c, k, s = args
            add_pool(pool, op, h, w, c, min(k, h, w), s)
    elementwise = GraphBuilder("calib_elementwise", 6)
    for op in ("ADD", "MUL"):
        for shape in [(1, 8, 8, 16), (1, 4000), (1, 7), (1, 40, 70)]:
            add_binary(elementwise, op, shape)
    for rows, cols in [(1, 12), (1, 1000), (8, 64), (40, 10)]:
        add_softmax(elementwise, rows, cols)
    floats = GraphBuilder("calib_float", 7)
    add_conv(floats, 10, 10, 8, 16, 3, 3, 1, SAME, "float32")
    add_conv(floats, 8, 8, 1, 8, 5, 3, 1, SAME, "float32")
    add_conv(floats, 6, 6, 32, 32, 1, 1, 1, SAME, "float32")
    add_depthwise(floats, 10, 10, 32, 3, dtype="float32")
    add_depthwise(floats, 8, 8, 8, 3, 2, dtype="float32")
    add_fully_connected(floats, 1, 256, 32, "float32")
    add_fully_connected(floats, 1, 16, 16, "float32")
    add_binary(floats, "ADD", (1, 6, 6, 32), "float32")
    add_binary(floats, "ADD", (1, 300), "float32")
    return tuple(b.graph() for b in (conv, pointwise, depthwise, fully_connected, pool, elementwise, floats))
