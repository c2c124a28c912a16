"""A kernel file declares its own interface.

A kernel in `runtime/kernels/<file>.c` may carry its params struct(s) and entry point prototype(s)
between two marker lines:

    /* ariel:interface */
    typedef struct { ... } ariel_abs_params;
    void ariel_abs(const void *params, void *const *buffers, int32_t begin, int32_t end);
    /* ariel:end-interface */

The code generator copies that block into the generated model.c (which fills the struct), so adding
an operator stays three places: the op module, its kernel file, its test. The block comes after the
kernel file's `#include "ariel_kernels.h"` and may use everything that header declares. The kernels
written before this mechanism keep their declarations in the family headers under runtime/include/.
An ISA-specific variant (kernels/<dir>/<file>.c) restates its portable file's block word for word
(it is compiled without the portable file; tests/test_kernel_interface.py checks the two agree).
Int and float kernels that share a params struct live in one file, so that the struct is declared once."""
from __future__ import annotations

from pathlib import Path

RUNTIME = Path(__file__).resolve().parent.parent / "runtime"
BEGIN = "/* ariel:interface */"
END = "/* ariel:end-interface */"


def interface_of(text: str, where: str) -> str | None:
    """The declarations between the markers of one kernel file's text; None without markers."""
    lines = text.splitlines()
    begins = [i for i, line in enumerate(lines) if line.strip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if not begins and not ends:
        return None
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        # a defect of arielml's own runtime files, not of the user's input: reported as a bug
        raise RuntimeError(f"{where}: a kernel file needs exactly one '{BEGIN}' line followed by one '{END}' line")
    return "\n".join(lines[begins[0] + 1:ends[0]]).strip("\n")


def kernel_interfaces(sources) -> list[str]:
    """The C text declaring the interfaces of the given kernel files (names under runtime/kernels/),
    in their order, each headed by a comment naming its file."""
    out = []
    for source in sources:
        block = interface_of((RUNTIME / "kernels" / source).read_text(), f"kernels/{source}")
        if block is not None:
            out += [f"/* interface of kernels/{source} */", block, ""]
    return out
