"""The graph IR: a few frozen dataclasses. Change them with `dataclasses.replace`, never in place.

A Graph is a flat list of tensors and a list of nodes in execution order; nodes refer to tensors by
index. Constant tensors carry their data (a read-only numpy array). Operator options are the typed,
frozen options dataclass of each operator (see `arielml.ops`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# dtype names used in the IR, mapped to numpy
DTYPES: dict[str, np.dtype] = {
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "int16": np.dtype(np.int16),
    "int32": np.dtype(np.int32),
    "int64": np.dtype(np.int64),
    "float32": np.dtype(np.float32),
    "bool": np.dtype(np.bool_),
    # TFLite Micro's Signal library (audio front end) passes spectra and energies as unsigned ints
    "uint16": np.dtype(np.uint16),
    "uint32": np.dtype(np.uint32),
    "uint64": np.dtype(np.uint64),
    # a resource variable's handle (VAR_HANDLE's output; 4 bytes, TFLite Micro's resource id): it
    # exists only between the frontend and passes/resource_variables.py, which replaces every one
    # by the variable tensor it names
    "resource": np.dtype(np.int32),
}

NO_TENSOR = -1  # an optional operator input that the model leaves out (e.g. a missing bias)


@dataclass(frozen=True)
class QuantParams:
    """Affine quantisation real = scale * (q - zero_point); per-tensor when len(scale) == 1,
    otherwise per-channel along `axis`."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1

    @property
    def single_scale(self) -> float:
        assert len(self.scale) == 1, "per-channel quantisation has no single scale"
        return self.scale[0]

    @property
    def single_zero_point(self) -> int:
        return self.zero_point[0]


@dataclass(frozen=True)
class Tensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    data: np.ndarray | None = field(default=None, compare=False, repr=False)
    # model state (TFLite's variable tensors: SVDF's and LSTM's memory): kept from one invocation to
    # the next, outside the reusable arena; starts at (and is reset to) `reset_value`
    variable: bool = False
    # a variable's initial value when it is not the reset byte fill (a resource variable that the
    # model's CALL_ONCE init subgraph assigns: passes/resource_variables.py computes it)
    initial: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def reset_value(self) -> int:
        """The byte value a variable starts from and is reset to: TFLite (LiteRT and TFLite Micro
        alike) fills an int8 variable with its zero point and every other type with zero bytes."""
        if self.dtype == "int8" and self.quant is not None:
            return self.quant.single_zero_point & 0xFF if len(self.quant.zero_point) == 1 else 0
        return 0

    def initial_value(self) -> np.ndarray:
        """A variable's value before the first invocation and after a reset."""
        if self.initial is not None:
            return np.array(self.initial, dtype=self.np_dtype).reshape(self.shape)
        raw = np.full(self.nbytes, self.reset_value, dtype=np.uint8)
        return raw.view(self.np_dtype).reshape(self.shape).copy()

    @property
    def np_dtype(self) -> np.dtype:
        return DTYPES[self.dtype]

    @property
    def num_elements(self) -> int:
        return math.prod(int(d) for d in self.shape)  # Python ints: exact, and cheap on long graphs

    @property
    def nbytes(self) -> int:
        return self.num_elements * self.np_dtype.itemsize


@dataclass(frozen=True)
class Node:
    """One operator application. `index` is the operator's position in the source model, kept for
    error messages and reports even after passes reorder or drop nodes."""

    op: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: Any = None  # the operator's frozen options dataclass, or None
    index: int = 0


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    nodes: tuple[Node, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    name: str = "model"
    notes: tuple[str, ...] = ()  # things the frontend changed or assumed, said to the user
    # the model file's other subgraphs, indexed as in the file (index 0, the main graph, is this
    # one: that slot holds None); IF/WHILE/CALL_ONCE options name them by these indices
    subgraphs: tuple[Graph | None, ...] = field(default=(), compare=False, repr=False)

    def tensor(self, index: int) -> Tensor | None:
        return None if index == NO_TENSOR else self.tensors[index]

    def input_tensors(self, node: Node) -> list[Tensor | None]:
        return [self.tensor(i) for i in node.inputs]

    def output_tensors(self, node: Node) -> list[Tensor]:
        return [self.tensors[i] for i in node.outputs]

    @property
    def variables(self) -> tuple[int, ...]:
        """The state tensors, in tensor order."""
        return tuple(t for t, tensor in enumerate(self.tensors) if tensor.variable)

    def initial_state(self) -> dict[int, np.ndarray]:
        """Every variable tensor at its initial value (a fresh session)."""
        return {t: self.tensors[t].initial_value() for t in self.variables}

    def consumers(self) -> dict[int, list[int]]:
        """tensor index -> positions of the nodes that read it"""
        users: dict[int, list[int]] = {}
        for pos, node in enumerate(self.nodes):
            for t in node.inputs:
                if t != NO_TENSOR:
                    users.setdefault(t, []).append(pos)
        return users
