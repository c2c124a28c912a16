"""Kernel files that declare their own interface (arielml/codegen/kernel_interface.py): the markers
are parsed strictly, an ISA-specific variant declares exactly what its portable file does, and
every kernel file's block compiles together with ariel_kernels.h and with
every other block (a name clash between two kernels fails here, not in a user's build)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from arielml.codegen.kernel_interface import BEGIN, END, RUNTIME, interface_of, kernel_interfaces


def test_interface_block_is_the_text_between_the_markers():
    text = f'#include "ariel_kernels.h"\n{BEGIN}\ntypedef struct {{ int32_t n; }} p_t;\nvoid f(void);\n{END}\nvoid f(void) {{}}\n'
    assert interface_of(text, "x.c") == "typedef struct { int32_t n; } p_t;\nvoid f(void);"
    assert interface_of("void f(void) {}\n", "x.c") is None


@pytest.mark.parametrize("text", [f"{BEGIN}\nint a;\n", f"int a;\n{END}\n", f"{END}\n{BEGIN}\n",
                                  f"{BEGIN}\n{END}\n{BEGIN}\n{END}\n"])
def test_unpaired_markers_are_a_defect(text):
    with pytest.raises(RuntimeError, match="exactly one"):
        interface_of(text, "x.c")


def test_every_kernel_interface_compiles_with_the_others(tmp_path):
    portable = sorted(p.name for p in (RUNTIME / "kernels").glob("*.c"))
    for variant in (RUNTIME / "kernels").glob("*/*.c"):  # an ISA variant restates its portable file's block
        own = interface_of(variant.read_text(), str(variant))
        assert own == interface_of((RUNTIME / "kernels" / variant.name).read_text(), variant.name), variant
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to check the kernel interfaces")
    unit = tmp_path / "interfaces.c"
    unit.write_text("\n".join(['#include "ariel_kernels.h"', *kernel_interfaces(portable), ""]))
    result = subprocess.run([gcc, "-std=c99", "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                             f"-I{RUNTIME / 'include'}", str(unit)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_kernel_calls_beyond_the_runtime_buffer_table_are_refused():
    from arielml.codegen.kernel_call import KernelCall
    from arielml.errors import UnsupportedOperatorError
    from arielml.ir import Node
    from arielml.passes.lower import ARIEL_MAX_BUFFERS, check_buffer_count
    node = Node(op="X", inputs=(), outputs=(), index=4)
    fits = KernelCall("k", "p", (), tuple(range(ARIEL_MAX_BUFFERS - 1)), "x.c", scratch_bytes=16)
    check_buffer_count(node, fits)
    check_buffer_count(node, KernelCall("k", "p", (), tuple(range(40)), "x.c"))  # no scratch: no stack table
    with pytest.raises(UnsupportedOperatorError, match=f"operator #4.*{ARIEL_MAX_BUFFERS + 1} buffers with its scratch"):
        check_buffer_count(node, KernelCall("k", "p", (), tuple(range(ARIEL_MAX_BUFFERS)), "x.c", scratch_bytes=16))
