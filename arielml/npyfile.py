"""Reading a user's .npy input file without trusting it.

`numpy.load` believes the header: a 40-byte file claiming a 93 GiB array allocates 93 GiB before it
notices the data is missing, a FIFO blocks forever, /dev/zero is read until memory runs out, and a
text file is reported as "pickled data". Here the file type is checked first (regular files only),
then the header alone is parsed (pickles refused) and compared with what the model's input needs -
dtype, shape, and a file long enough to hold the data - before a single data byte is read. Every
problem is an InputError that names the file and says what was expected."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from arielml.errors import InputError

_ZIP_MAGIC = b"PK\x03\x04"  # numpy.savez writes zip archives


def accepted_shapes(shape: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Shapes an input file may have: the model's, or (as Model.check_inputs allows) the same with
    the dimensions of size one left out."""
    squeezed = tuple(d for d in shape if d != 1)
    return (tuple(shape),) if squeezed == tuple(shape) else (tuple(shape), squeezed)


def read_npy_input(path: Path, dtype: np.dtype, shape: tuple[int, ...], what: str = "the input") -> np.ndarray:
    """The array in the .npy file `path`, which must hold `what` of the model: `dtype` and `shape`
    (or the shape without its ones). Raises InputError before reading any data if it cannot."""
    dtype = np.dtype(dtype)
    expected = f"{what} must be a .npy file (numpy.save) holding {dtype} values of shape {tuple(shape)}"
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"input file {path} does not exist") from None
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
        raise InputError(f"cannot read {path} as a .npy array: it is {kind}, not a file; {expected}")
    try:
        with open(path, "rb") as f:
            header_shape, fortran_order, file_dtype = _read_header(f, path, expected)
            _check_against_model(path, header_shape, file_dtype, dtype, shape, what)
            count = int(np.prod(header_shape, dtype=np.int64))
            data_start = f.tell()
            needed = count * file_dtype.itemsize
            if info.st_size - data_start < needed:
                raise InputError(f"cannot read {path} as a .npy array: the file is truncated (its header promises "
                                 f"{needed:,} bytes of data, the file holds {max(info.st_size - data_start, 0):,}); "
                                 f"{expected}")
            data = bytearray(needed)  # writable, so the array needs no second copy
            got = f.readinto(data)
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror or e}") from None
    if got < needed:  # the file shrank while we read it
        raise InputError(f"cannot read {path} as a .npy array: the file is truncated; {expected}")
    array = np.frombuffer(data, dtype=file_dtype, count=count)
    return np.ascontiguousarray(array.reshape(header_shape, order="F" if fortran_order else "C"))


def _read_header(f, path: Path, expected: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    start = f.read(npy_format.MAGIC_LEN)
    if start.startswith(_ZIP_MAGIC):
        raise InputError(f"{path} holds several arrays (.npz); give one .npy file per input")
    f.seek(0)
    try:
        version = npy_format.read_magic(f)
    except ValueError:
        raise InputError(f"cannot read {path} as a .npy array: it is not a .npy array file (those start with "
                         f"\\x93NUMPY); {expected}") from None
    readers = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}
    if version not in readers:
        raise InputError(f"cannot read {path} as a .npy array: .npy format version {version[0]}.{version[1]} is not "
                         f"supported (1.0 and 2.0 are); {expected}")
    try:
        header_shape, fortran_order, file_dtype = readers[version](f)
    except (ValueError, SyntaxError, TypeError, EOFError) as e:
        reason = " ".join(str(e).split())[:120]
        raise InputError(f"cannot read {path} as a .npy array: its header is damaged ({reason}); {expected}") from None
    if file_dtype.hasobject:
        raise InputError(f"cannot read {path} as a .npy array: it holds Python objects, which are never loaded "
                         f"(they could run code); {expected}")
    return tuple(int(d) for d in header_shape), bool(fortran_order), file_dtype


def _check_against_model(path: Path, header_shape: tuple[int, ...], file_dtype: np.dtype, dtype: np.dtype,
                         shape: tuple[int, ...], what: str) -> None:
    # the same phrases as Model.check_inputs ("must be", "must have shape"), with the file named
    if file_dtype != dtype:
        raise InputError(f"{path} holds {file_dtype} data; {what} must be {dtype} (convert it, e.g. "
                         "quantise float data with the input's scale and zero point)")
    if header_shape not in accepted_shapes(shape):
        raise InputError(f"{path} holds an array of shape {header_shape}; {what} must have shape "
                         f"{tuple(shape)}")

