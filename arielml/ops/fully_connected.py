"""FULLY_CONNECTED: y = x · Wᵀ + b over the last input dimension."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.ir import Graph, Node
from arielml.ops.common import Requant, conv_requant, float_clamp
from arielml.ops.registry import OpDef, Semantics, fused_activation, register, unsupported


@dataclass(frozen=True)
class FullyConnectedOptions:
    fused_activation_function: int = 0
    weights_format: int = 0
    keep_num_dims: bool = False
    asymmetric_quantize_inputs: bool = False


@dataclass(frozen=True)
class FullyConnectedParams:
    out_shape: tuple[int, ...]
    out_dtype: str
    input_zero_point: int = 0
    weight_zero_point: int = 0
    requant: Requant | None = None  # quantised models
    clamp: tuple[float, float] | None = None  # float models


def _units_and_depth(node: Node, graph: Graph) -> tuple[int, int]:
    weights = graph.tensors[node.inputs[1]]
    return weights.shape[0], weights.shape[-1]


def infer_shapes(node: Node, graph: Graph) -> list[tuple[int, ...]]:
    x = graph.tensors[node.inputs[0]]
    units, depth = _units_and_depth(node, graph)
    if node.options.keep_num_dims:
        return [x.shape[:-1] + (units,)]
    return [(x.num_elements // depth, units)]


def check(node: Node, graph: Graph) -> None:
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    if node.options.weights_format != 0:
        raise unsupported(node, "shuffled weight formats are not supported")
    if len(w.shape) != 2 or x.num_elements % w.shape[-1]:
        raise unsupported(node, f"input {x.shape} does not match weights {w.shape}")
    if x.dtype not in ("int8", "uint8", "int16", "float32"):
        raise unsupported(node, f"{x.dtype} input is not supported")
    fused_activation(node, node.options.fused_activation_function)


def prepare(node: Node, graph: Graph, semantics: Semantics) -> FullyConnectedParams:
    x, w = graph.tensors[node.inputs[0]], graph.tensors[node.inputs[1]]
    out = graph.tensors[node.outputs[0]]
    activation = fused_activation(node, node.options.fused_activation_function)
    shape = tuple(infer_shapes(node, graph)[0])
    if out.dtype == "float32":
        return FullyConnectedParams(shape, out.dtype, clamp=float_clamp(activation))
    return FullyConnectedParams(shape, out.dtype, input_zero_point=x.quant.single_zero_point,
                                weight_zero_point=w.quant.zero_point[0],
                                requant=conv_requant(x, w, out, activation, semantics))


def evaluate(p: FullyConnectedParams, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    depth = w.shape[-1]
    rows = x.reshape(-1, depth)
    if p.requant is None:
        y = rows.astype(np.float32) @ w.astype(np.float32).T
        if bias is not None:
            y = y + bias.astype(np.float32)
        y = np.clip(y, *p.clamp).astype(np.float32)
        return [y.reshape(p.out_shape)]
    acc = (rows.astype(np.int64) - p.input_zero_point) @ (w.astype(np.int64) - p.weight_zero_point).T
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    y = p.requant.apply(acc)
    return [y.astype(p.out_dtype).reshape(p.out_shape)]


def macs(node: Node, graph: Graph) -> int:
    units, depth = _units_and_depth(node, graph)
    rows = graph.tensors[node.inputs[0]].num_elements // depth
    return rows * units * depth


FULLY_CONNECTED = register(OpDef(
    name="FULLY_CONNECTED", infer_shapes=infer_shapes, prepare=prepare, evaluate=evaluate,
    options_type=FullyConnectedOptions, tflite_options="FullyConnectedOptions", macs=macs, check=check))
