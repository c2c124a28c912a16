"""What text may reach the generated files.

A model file is untrusted input: a tensor named `c */ __attribute__((constructor)) ... /*` once closed
a C comment in model_weights.c and injected a function that the native backend compiled and ran on
the user's machine. So the code generator writes no text from a model file at all: every identifier
is built from the library prefix (checked here) and numbers, tensors are named by index (`arielml
inspect` maps indices to names), and the only outside text - the model's file name, which the user
chose - passes `comment_text`, which keeps a small set of characters that cannot end a comment, start
a preprocessor line, continue a line or form a trigraph, in C, Markdown or a shell."""
from __future__ import annotations

import re

from arielml.errors import TargetError

# Characters a comment, a Markdown code span or a quoted shell word can hold without meaning anything:
# no '*', '/', '\\', '?', quotes, backquotes, '$', '<', '>', '&', '|', ';', '#', newline or control byte.
_SAFE_CHAR = re.compile(r"[A-Za-z0-9 _.,:+=()\[\]-]")
COMMENT_TEXT_LIMIT = 60

C_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
# The runtime's symbols and macros start with these (ariel_init, ARIEL_CORES, ...): a prefix `ariel`
# would make `ariel_init` both the model's and the runtime's function.
RESERVED_PREFIX = "ariel"
NAME_LIMIT = 48  # it also names files: keep them short


def comment_text(text: str, limit: int = COMMENT_TEXT_LIMIT) -> str:
    """`text` with every character outside a small safe set replaced by '_', cut to `limit`
    characters: safe inside a C block comment, a C string, a Markdown code span and a shell word."""
    kept = "".join(c if _SAFE_CHAR.fullmatch(c) else "_" for c in str(text))
    return kept if len(kept) <= limit else kept[:limit - 3] + "..."


def check_library_name(name: str) -> str:
    """The prefix of every generated file and C symbol (`--name`, `compile_model(name=...)`): an
    ASCII C identifier that starts with a letter, at most NAME_LIMIT characters, and not the
    runtime's own prefix. Raises TargetError saying what to pick instead."""
    if not isinstance(name, str) or not C_IDENTIFIER.fullmatch(name):
        raise TargetError(f"--name {repr(name)[:NAME_LIMIT + 2]} is not a C identifier (ASCII letters, digits and '_', "
                          "starting with a letter); it prefixes every generated file and symbol, e.g. --name kws")
    if len(name) > NAME_LIMIT:
        raise TargetError(f"--name '{name[:NAME_LIMIT]}...' is longer than {NAME_LIMIT} characters; it prefixes every "
                          "generated file and symbol: pick a shorter name")
    lowered = name.lower()
    if lowered == RESERVED_PREFIX or lowered.startswith(RESERVED_PREFIX + "_"):
        raise TargetError(f"--name '{name}' is reserved: the runtime's own symbols and macros start with "
                          f"'{RESERVED_PREFIX}_' / '{RESERVED_PREFIX.upper()}_' (ariel_init, ARIEL_CORES, ...); "
                          "pick another prefix, e.g. --name model")
    return name
