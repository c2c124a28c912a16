"""C lowerings shared by the data-movement operators (TRANSPOSE, STRIDED_SLICE, RESIZE_NEAREST_NEIGHBOR
use one gather kernel; MEAN walks kept and reduced axes the same way). The kernels and their
params structs are in runtime/kernels/data.c and runtime/include/ariel_kernels_data.h.

A gather is described by one table of input element offsets per output axis: output element
(i_0, ..., i_k) reads input element sum_a table_a[i_a]. Before emitting, axes of size 1 are folded
into a constant base and neighbouring axes that walk memory as one are merged, so a transpose that
only moves size-1 axes becomes one contiguous copy."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from arielml.codegen.kernel_call import CArray, KernelCall, no_kernel
from arielml.ir import Graph, Node, Tensor

GATHER_MAX_RANK = 8  # ARIEL_GATHER_MAX_RANK
COPY_CHUNK = 256  # last-axis elements per gather work item when rows are contiguous runs
GATHER_CHUNK = 64  # ... and when each element is looked up
INT32_LIMIT = (1 << 31) - 1


def element_size(tensor: Tensor) -> int:
    return int(tensor.np_dtype.itemsize)


def strides_of(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Row-major element strides."""
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


def require_addressable(node: Node, *tensors: Tensor) -> None:
    """The kernels index with int32 byte offsets."""
    for t in tensors:
        if t.nbytes > INT32_LIMIT:
            raise no_kernel(node, f"tensor '{t.name}' has {t.nbytes} bytes, more than int32 offsets address")


@dataclass(frozen=True)
class _Axis:
    offsets: np.ndarray  # int64 input element offset of each index along this output axis

    @property
    def size(self) -> int:
        return len(self.offsets)

    def affine_step(self) -> int | None:
        """s when offsets are offsets[0] + i * s, else None."""
        if self.size < 2:
            return 0
        step = int(self.offsets[1] - self.offsets[0])
        return step if np.array_equal(np.diff(self.offsets), np.full(self.size - 1, step)) else None


def simplify_axes(tables: list[np.ndarray]) -> tuple[int, list[np.ndarray]]:
    """(base, tables): size-1 axes folded into the base, every table starting at 0, and neighbours
    (a, b) with a's step == b's step * b's size merged into one affine axis. An empty output is
    one empty axis."""
    if any(len(t) == 0 for t in tables):
        return 0, [np.zeros(0, dtype=np.int64)]
    base = sum(int(t[0]) for t in tables if len(t))
    axes = [_Axis(np.asarray(t, dtype=np.int64) - int(t[0])) for t in tables if len(t) != 1]
    merged: list[_Axis] = []
    for axis in axes:
        if merged:
            outer, outer_step, inner_step = merged[-1], merged[-1].affine_step(), axis.affine_step()
            if outer_step is not None and inner_step is not None and outer_step == inner_step * axis.size:
                merged[-1] = _Axis(np.arange(outer.size * axis.size, dtype=np.int64) * inner_step)
                continue
        merged.append(axis)
    if not merged:
        merged = [_Axis(np.zeros(1, dtype=np.int64))]
    return base, [a.offsets for a in merged]


def gather_items(tables: list[np.ndarray]) -> tuple[int, int, bool]:
    """(work items, chunk, contiguous last axis) of the gather kernel for these tables."""
    _, axes = simplify_axes(tables)
    last = axes[-1]
    contiguous = bool(np.array_equal(last, np.arange(len(last))))
    chunk = max(1, min(len(last), COPY_CHUNK if contiguous else GATHER_CHUNK))
    rows = int(np.prod([len(a) for a in axes[:-1]], dtype=np.int64))
    return rows * -(-len(last) // chunk), chunk, contiguous


def gather_call(node: Node, graph: Graph, source: int, tables: list[np.ndarray]) -> KernelCall:
    """The gather kernel reading tensor `source` into the node's first output; `tables` are the
    per-output-axis input element offsets (in the output's axis order)."""
    x, out = graph.tensors[source], graph.tensors[node.outputs[0]]
    require_addressable(node, x, out)
    base, axes = simplify_axes(tables)
    if len(axes) > GATHER_MAX_RANK:
        raise no_kernel(node, f"the copy needs {len(axes)} axes after merging (the kernel handles {GATHER_MAX_RANK})")
    _, chunk, contiguous = gather_items(tables)
    starts = np.cumsum([0] + [len(a) for a in axes[:-1]])
    fields = (("rank", len(axes)), ("element_size", element_size(out)), ("chunk", chunk), ("base", base),
              ("last_contiguous", int(contiguous)), ("dims", CArray.of("int32_t", [len(a) for a in axes])),
              ("table_start", CArray.of("int32_t", starts)),
              ("offsets", CArray.of("int32_t", np.concatenate(axes))))  # (an empty table is emitted as {0})
    return KernelCall("ariel_gather", "ariel_gather_params", fields, (source, node.outputs[0]), "data.c")


def axis_tables(shape: tuple[int, ...], picks: list[np.ndarray | None]) -> list[np.ndarray]:
    """Offset tables of a gather that picks, along each input axis, the given indices (None: all
    of them, in order), keeping the input's axis order."""
    strides = strides_of(shape)
    return [(np.arange(d) if pick is None else np.asarray(pick, dtype=np.int64)) * s
            for d, s, pick in zip(shape, strides, picks)]


def merge_walk(dims: list[int], strides: list[int]) -> tuple[list[int], list[int]]:
    """Axes (dims, element strides) walked row-major, with size-1 axes dropped and neighbours that
    walk memory as one merged; at least one axis."""
    kept = [(d, s) for d, s in zip(dims, strides) if d != 1]
    merged: list[tuple[int, int]] = []
    for d, s in kept:
        if merged and merged[-1][1] == s * d:
            merged[-1] = (merged[-1][0] * d, s)
        else:
            merged.append((d, s))
    merged = merged or [(1, 0)]
    return [d for d, _ in merged], [s for _, s in merged]
