"""What an operator's C lowering returns: which kernel to call, with which params struct and
buffers. The code generator turns it into a `static const <params_type>` initializer and one row of
the op table; the struct itself is declared in the kernel file's interface block
(codegen/kernel_interface.py) or, for the older kernels, in `runtime/include/ariel_kernels_*.h`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np

from arielml.errors import UnsupportedOperatorError
from arielml.ir import Node

C_TYPES = {"int8_t": np.int8, "uint8_t": np.uint8, "int16_t": np.int16, "int32_t": np.int32, "float": np.float32,
           "uint16_t": np.uint16, "uint32_t": np.uint32, "int64_t": np.int64, "uint64_t": np.uint64}


@dataclass(frozen=True)
class CArray:
    """A const array emitted next to the params struct; the field holds a pointer to it."""

    ctype: str  # one of C_TYPES
    values: tuple[int | float, ...]

    @staticmethod
    def of(ctype: str, values) -> "CArray":
        array = np.asarray(values).ravel()
        # value check: the C type must hold every value exactly
        cast = array.astype(C_TYPES[ctype])
        assert np.array_equal(cast.astype(array.dtype), array), f"values do not fit {ctype}"
        return CArray(ctype, tuple(cast.tolist()))


FieldValue = Union[int, float, CArray]


@dataclass(frozen=True)
class KernelCall:
    kernel: str  # C function, e.g. "ariel_fully_connected_s8"
    params_type: str  # C struct type, e.g. "ariel_fully_connected_s8_params"
    fields: tuple[tuple[str, FieldValue], ...]  # struct fields by name (emitted as designated initializers)
    buffers: tuple[int, ...]  # tensor indices the kernel receives, inputs then outputs; -1 = NULL
    source: str  # kernel file in runtime/kernels/, e.g. "fully_connected.c"
    scratch_bytes: int = 0  # per-core scratch, appended after the buffers


def no_kernel(node: Node, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(f"no C kernel yet for {node.op} (operator #{node.index}): {why}; "
                                    "run it with backend='reference' or add the kernel (docs/runtime.md)")
